"""Airflow DAG: the quarterly evidence run fanned out one task per criterion and AWS account.

For organizations whose runs outgrow one machine. For each AWS account in the params file:

    prepare_<account>  →  <criterion>_<account> (PapermillOperator, one per criterion)  →  seal_<account>

``prepare`` checks everything that can be refused and starts the staging folder (the AWS scope restricted
to that account; GitHub evidence is collected in every account's package); each criterion notebook is
executed by the Papermill provider into that folder; ``seal`` exports the reports, writes results,
exceptions, OSCAL, the index and the manifest, seals and publishes the package (one package per account
and run). ``seal`` runs even when a notebook task failed: that criterion is ERROR in the package (fail
closed), and the task then fails so the scheduler shows it.

Configuration (environment of the Airflow workers): ``AUDITBOOK_HOME`` (repository checkout, default: two
folders up from this file), ``AUDITBOOK_PARAMS`` (params file), ``AUDITBOOK_OUT`` (output folder, default
``$AUDITBOOK_HOME/outputs``). Trigger with ``{"period": "2026-Q3"}`` to run another quarter than the one
that ended last. Needs ``apache-airflow`` and ``apache-airflow-providers-papermill`` on the workers, with
auditbook installed (``pip install -e $AUDITBOOK_HOME``).
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import yaml
from airflow import DAG
from airflow.decorators import task
from airflow.providers.papermill.operators.papermill import PapermillOperator

HOME = Path(os.environ.get("AUDITBOOK_HOME", Path(__file__).resolve().parents[2]))
PARAMS = Path(os.environ.get("AUDITBOOK_PARAMS", HOME / "params" / "example.yaml"))
OUT = Path(os.environ.get("AUDITBOOK_OUT", HOME / "outputs"))
NOTEBOOKS = HOME / "notebooks"
SCHEDULE = "15 6 3 1,4,7,10 *"  # the same as .github/workflows/quarterly.yml and deploy/crontab


def accounts(params_file: Path = PARAMS) -> list[str]:
    """AWS account ids in scope (read when the DAG is parsed); without AWS scope, one package for all."""
    try:
        params = yaml.safe_load(params_file.read_text()) or {}
    except OSError:
        return []
    return [str(a["id"]) for a in ((params.get("scope") or {}).get("aws") or {}).get("accounts", [])]


def criteria() -> list[str]:
    return sorted(p.stem for p in NOTEBOOKS.glob("*.ipynb"))


def last_quarter(moment: datetime) -> str:
    q = (moment.month - 1) // 3
    return f"{moment.year - (q == 0)}-Q{q or 4}"


with DAG(
    dag_id="auditbook_quarterly",
    schedule=SCHEDULE,
    start_date=datetime(2026, 1, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,
    params={"period": ""},
    tags=["soc2", "auditbook"],
    doc_md=__doc__,
) as dag:
    for account in accounts() or ["all"]:
        prefix = f"{account}"

        @task(task_id=f"prepare_{prefix}")
        def prepare(account: str = account, **context: object) -> dict[str, str]:
            from auditbook.runner import prepare as start_run

            period = context["params"].get("period") or last_quarter(context["data_interval_end"])
            staging, _ = start_run(PARAMS, period, out_dir=OUT, notebook_dir=NOTEBOOKS,
                                   account=None if account == "all" else account)
            run_id = staging.name.split("-")[1]
            return {"staging": str(staging), "period": period, "run_id": run_id}

        started = prepare()
        pull = f"ti.xcom_pull(task_ids='prepare_{prefix}')"
        notebooks = [
            PapermillOperator(
                task_id=f"{code.replace('.', '_')}_{prefix}",
                input_nb=str(NOTEBOOKS / f"{code}.ipynb"),
                output_nb="{{ " + pull + "['staging'] }}/reports/" + f"{code}.ipynb",
                kernel_name="python3",
                parameters={
                    "criterion": code,
                    "period": "{{ " + pull + "['period'] }}",
                    "params_file": "{{ " + pull + "['staging'] }}/params.resolved.yaml",
                    "run_dir": "{{ " + pull + "['staging'] }}",
                    "run_id": "{{ " + pull + "['run_id'] }}",
                },
            )
            for code in criteria()
        ]

        @task(task_id=f"seal_{prefix}", trigger_rule="all_done")
        def seal(run: dict[str, str]) -> str:
            from auditbook.cli import summary_lines
            from auditbook.results import Status
            from auditbook.runner import collect_outcome, finish

            staging = Path(run["staging"])
            outcomes = [collect_outcome(code, staging) for code in criteria()]
            outcome = finish(staging, outcomes, OUT)
            lines = summary_lines(outcome, 1 if outcome.status is Status.ERROR else 0)
            print("\n".join(lines))
            if outcome.status is Status.ERROR:
                raise RuntimeError(f"evidence incomplete (ERROR): {outcome.run_dir}")
            return str(outcome.run_dir)

        started >> notebooks >> seal(started)
