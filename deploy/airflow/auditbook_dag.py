"""Airflow DAG: the quarterly evidence run fanned out one task per criterion and AWS account, one package.

For organizations whose runs outgrow one machine:

    prepare  →  collect_<criterion>_<account>  →  <criterion>  →  seal
                (one per criterion × account)     (one per criterion)

``prepare`` checks everything that can be refused and starts the run's staging folder. Each
``collect_<criterion>_<account>`` task executes the criterion notebook with ``collect_account`` set (Papermill
provider): it collects that account's AWS evidence into the run's evidence cache and tests nothing, so the
slow part, reading AWS account by account, runs in parallel. Each ``<criterion>`` task then executes the
notebook for real: it combines the accounts' evidence (collected once), collects GitHub, tests and writes its
report into the package. ``seal`` exports the reports, writes results, exceptions, OSCAL, the index and the
manifest, seals and publishes one package for the run, as ``auditbook run`` does. ``seal`` runs even when a
task failed: that criterion is ERROR in the package (fail closed), and the task then fails so the scheduler
shows it.

The staging folder must be on storage every worker sees (the tasks share it, as the runner's processes do).
Configuration (environment of the Airflow workers), read as the ``auditbook`` command reads it
(``auditbook.cli.default_params`` / ``default_out``): ``AUDITBOOK_PARAMS`` (params file, required: ``prepare``
refuses without it), ``AUDITBOOK_OUT`` (output folder, default ``./outputs`` of the worker). Trigger with
``{"period": "2026-Q3"}`` to run another quarter than the one that ended last. Needs ``apache-airflow`` and
``apache-airflow-providers-papermill`` on the workers, with auditbook installed (``pip install auditbook``):
the notebooks ship inside the package. Install Airflow the way it asks, with its constraints file for the
version and Python (``make test-airflow AIRFLOW_CONSTRAINTS=<that URL>`` does the same for the DAG's tests)::

    pip install "apache-airflow==3.1.8" apache-airflow-providers-papermill auditbook --constraint
        https://raw.githubusercontent.com/apache/airflow/constraints-3.1.8/constraints-3.11.txt
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from airflow.providers.papermill.operators.papermill import PapermillOperator

try:  # Airflow 3
    from airflow.sdk import DAG, task
except ImportError:  # Airflow 2.x
    from airflow import DAG
    from airflow.decorators import task

from auditbook.cli import default_out, default_params
from auditbook.resources import notebook_dir

PARAMS = default_params()  # AUDITBOOK_PARAMS, as `auditbook run` reads it
OUT = Path(default_out())  # AUDITBOOK_OUT, else outputs
NOTEBOOKS = notebook_dir()
SCHEDULE = "15 6 3 1,4,7,10 *"  # the same as .github/workflows/quarterly.yml and deploy/crontab
RUN = "ti.xcom_pull(task_ids='prepare')"


def accounts(params_file: str | None = PARAMS) -> list[str]:
    """AWS account ids in scope (read when the DAG is parsed; a file that cannot be read gives none here, and
    ``prepare`` then refuses the run naming the problem)."""
    from auditbook.params import ParamsError, read_yaml

    if not params_file:
        return []
    try:
        params = read_yaml(Path(params_file), "params file", ParamsError) or {}
    except ParamsError:
        return []
    return [str(a["id"]) for a in ((params.get("scope") or {}).get("aws") or {}).get("accounts", [])]


def criteria() -> list[str]:
    return sorted(p.stem for p in NOTEBOOKS.glob("*.ipynb"))


def last_quarter(moment: datetime) -> str:
    q = (moment.month - 1) // 3
    return f"{moment.year - (q == 0)}-Q{q or 4}"


def templated(value: str) -> str:
    """A value of the run ``prepare`` started, rendered by Airflow when the task runs."""
    return "{{ " + RUN + f"['{value}'] }}}}"


def notebook_task(code: str, account: str = "") -> PapermillOperator:
    from auditbook import layout
    from auditbook.runner import collect_notebook, notebook_parameters

    staging = Path(templated("staging"))
    output = collect_notebook(staging, code, account) if account else staging / layout.report(code, "ipynb")
    return PapermillOperator(
        task_id=f"collect_{code.replace('.', '_')}_{account}" if account else code.replace(".", "_"),
        trigger_rule="all_success" if account else "all_done",  # a failed collection is tested: ERROR
        input_nb=str(NOTEBOOKS / f"{code}.ipynb"),
        output_nb=str(output),
        kernel_name="python3",
        parameters=notebook_parameters(code, templated("period"), templated("run_id"), staging, account),
    )


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

    @task(task_id="prepare")
    def prepare(**context: object) -> dict[str, str]:
        from auditbook.runner import prepare as start_run

        period = context["params"].get("period") or last_quarter(context["data_interval_end"])
        if not PARAMS:
            raise RuntimeError("set AUDITBOOK_PARAMS (the params file) in the workers' environment")
        run = start_run(PARAMS, period, out_dir=OUT, notebook_dir=NOTEBOOKS)
        return {"staging": str(run.staging), "period": run.facts.period.label, "run_id": run.facts.run_id}

    @task(task_id="seal", trigger_rule="all_done")
    def seal(run: dict[str, str]) -> str:
        from auditbook.cli import summary_lines
        from auditbook.package import StartedRun, criterion_outcome
        from auditbook.results import Status
        from auditbook.runner import finish

        started = StartedRun.load(Path(run["staging"]))  # this task is not the process that prepared the run
        outcomes = [criterion_outcome(code, started.staging, started.facts) for code in started.criteria]
        outcome = finish(started, outcomes, OUT)
        print("\n".join(summary_lines(outcome, 1 if outcome.status is Status.ERROR else 0)))
        if outcome.status is Status.ERROR:
            raise RuntimeError(f"evidence incomplete (ERROR): {outcome.run_dir}")
        return str(outcome.run_dir)

    started = prepare()
    sealed = seal(started)
    for code in criteria():
        tested = notebook_task(code)
        collects = [notebook_task(code, account) for account in accounts()]
        if collects:
            started >> collects
            collects >> tested
        else:
            started >> tested
        tested >> sealed
