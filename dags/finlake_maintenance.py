"""finlake_maintenance: weekly Delta OPTIMIZE + VACUUM (retention keeps replay/time travel)."""

from __future__ import annotations

import datetime as dt
import os
from typing import Any

from _common import START_DATE, default_args, run_job
from airflow.sdk import CronTriggerTimetable, dag, get_current_context, task

RETENTION_DAYS = int(os.environ.get("FINLAKE_VACUUM_RETENTION_DAYS", "30"))

DOC_MD = f"""
### Weekly lake maintenance

Sunday 05:00 UTC, one task per layer (Bronze, Silver, Gold, ops), run one after another so
they never compete with each other for the cluster: `jobs.maintenance_job --layers <layer>`
compacts small files (`OPTIMIZE`, data unchanged) and `VACUUM`s files older than the retention
(**{RETENTION_DAYS} days**, `FINLAKE_VACUUM_RETENTION_DAYS`, never below 7). Time travel and
`finlake replay --bronze-version N` keep working for every version younger than the retention;
replays of older versions need a restore from backup. Runs while the daily DAG is idle
(03:00 run finished); Delta's optimistic concurrency makes an overlap safe, only slower.
"""


@dag(
    dag_id="finlake_maintenance",
    description="Delta OPTIMIZE + VACUUM of bronze, silver, gold and ops tables",
    schedule=CronTriggerTimetable("0 5 * * 0", timezone="UTC"),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=default_args(execution_timeout=dt.timedelta(hours=2), retries=1),
    tags=["finlake", "maintenance", "delta"],
    doc_md=DOC_MD,
)
def finlake_maintenance() -> None:
    """OPTIMIZE + VACUUM per layer."""

    def _layer_task(layer: str) -> Any:
        @task(task_id=f"maintain_{layer}")
        def maintain() -> Any:
            args = ["--layers", layer, "--retention-days", str(RETENTION_DAYS)]
            return run_job("jobs.maintenance_job", args, get_current_context())

        return maintain()

    previous = None
    for layer in ("bronze", "silver", "gold", "ops"):
        current = _layer_task(layer)
        if previous is not None:
            previous >> current
        previous = current


finlake_maintenance()
