"""Airflow DAG: a daily snapshot of the configuration and of the sources that forget, beside the quarterly DAG.

A quarterly run reads configuration weeks after the period, and CloudWatch alarm history only 30 days back.
``auditbook_snapshot`` reads them every morning into ``<AUDITBOOK_OUT>/snapshots/<taken-at>/`` (a small sealed
package, as ``auditbook snapshot`` writes it); the quarterly DAG's run finds the snapshots of its period there and
tests configuration on each day they cover. ``AUDITBOOK_OUT`` must therefore be the same folder for both DAGs.

The task is ``auditbook snapshot`` itself: it reads its configuration from the environment of the Airflow
workers as the command does, ``AUDITBOOK_PARAMS`` (params file, required) and ``AUDITBOOK_OUT`` (output folder,
default ``./outputs`` of the worker). The task fails when the command exits non-zero: a refusal (its one line in
the task log), or a population that could not be read (the snapshot of the rest is still written and sealed), so
the scheduler shows the missing day.
"""

from __future__ import annotations

from datetime import UTC, datetime

try:  # Airflow 3
    from airflow.sdk import DAG, task
except ImportError:  # Airflow 2.x
    from airflow import DAG
    from airflow.decorators import task

SCHEDULE = "30 5 * * *"  # the same as .github/workflows/snapshot.yml and deploy/crontab


with DAG(
    dag_id="auditbook_snapshot",
    schedule=SCHEDULE,
    start_date=datetime(2026, 1, 1, tzinfo=UTC),
    catchup=False,  # a snapshot is a reading of now: a missed morning cannot be read later
    max_active_runs=1,
    tags=["soc2", "auditbook"],
    doc_md=__doc__,
) as dag:

    @task(task_id="snapshot")
    def snapshot() -> None:
        from auditbook.cli import main

        code = main(["snapshot"])  # --params and --out from AUDITBOOK_PARAMS and AUDITBOOK_OUT
        if code:
            raise RuntimeError(f"auditbook snapshot exited {code} (its lines above say why)")

    snapshot()
