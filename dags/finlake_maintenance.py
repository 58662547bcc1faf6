"""finlake_maintenance: weekly Delta OPTIMIZE + VACUUM (retention keeps replay/time travel)."""

from __future__ import annotations

import datetime as dt
import os
from typing import Any

from _common import RUNNER, START_DATE, default_args, job_task
from airflow.sdk import CronTriggerTimetable, dag

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
Runner of this deployment: **`{RUNNER}`** (as the daily DAG).
"""


@dag(
    dag_id="finlake_maintenance",
    description="Delta OPTIMIZE + VACUUM of bronze, silver, gold and ops tables",
    schedule=CronTriggerTimetable("0 5 * * 0", timezone="UTC"),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=default_args(execution_timeout=dt.timedelta(hours=2), retries=1),
    tags=["finlake", "maintenance", "delta", RUNNER],
    doc_md=DOC_MD,
)
def finlake_maintenance() -> None:
    """OPTIMIZE + VACUUM per layer."""

    previous: Any = None
    for layer in ("bronze", "silver", "gold", "ops"):
        current = job_task(
            f"maintain_{layer}",
            "jobs.maintenance_job",
            ["--layers", layer, "--retention-days", str(RETENTION_DAYS)],
            execution_timeout=dt.timedelta(hours=2),
            doc_md=f"OPTIMIZE + VACUUM of the {layer} tables.",
        )
        if previous is not None:
            previous >> current
        previous = current


finlake_maintenance()
