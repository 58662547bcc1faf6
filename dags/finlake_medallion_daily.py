"""finlake_medallion_daily: landing -> bronze -> silver (DQ gate) -> gold -> forecast -> serving."""

from __future__ import annotations

import datetime as dt
from typing import Any

from _common import (
    EXIT_UNAVAILABLE,
    START_DATE,
    default_args,
    run_job,
    skip_forecast,
)
from airflow.sdk import CronDataIntervalTimetable, Param, dag, get_current_context, task
from airflow.sdk.exceptions import AirflowSkipException

DOC_MD = """
### finlake medallion pipeline, one data day per run

Logical date `ds` = the business day that just ended (data-interval timetable at 03:00 UTC,
so late-evening arrivals are in). Every task runs a `jobs/` entry point in the jobs
environment (`$FINLAKE_PYTHON -m jobs.<job>`); no transform logic lives here.

| task | job | notes |
|---|---|---|
| `landing` | `jobs.landing_status --date ds` | fails fast if the landing zone is unreachable |
| `bronze` | `jobs.bronze_job --until ds` | exactly-once append of objects received up to `ds` |
| `silver` | `jobs.silver_job` | **DQ gate**: exit 2 fails task and run, no retry |
| `gold` | `jobs.gold_job` | incremental range rebuild incl. late-data restatements |
| `forecast` | `jobs.forecast_job --as-of ds` | param `run_forecast` (see below) |
| `refresh_serving` | `finlake trino register` | skipped (soft) when Trino is not running |

A critical Silver failure has already alerted (the job's own DQ alert); the task callback
alerts too. The forecast is skipped with param `run_forecast=false` or
`FINLAKE_AIRFLOW_SKIP_FORECAST=1`.

Reruns and backfills are idempotent: Bronze skips objects already landed, Silver skips Bronze
batches already processed, Gold recomputes affected date ranges. Runs of consecutive dates
produce the same Gold tables as one `finlake run all --until <last date>`.
Backfill (needs a running scheduler): `airflow backfill create --dag-id finlake_medallion_daily
--from-date 2024-01-01 --to-date 2024-01-31`. Failures alert through the jobs' alert sink;
jobs record `parent_run_id = airflow/<dag_id>/<run_id>` in `ops.pipeline_runs`.
"""


@dag(
    dag_id="finlake_medallion_daily",
    description="landing -> bronze -> silver (DQ gate) -> gold -> forecast -> Trino",
    schedule=CronDataIntervalTimetable("0 3 * * *", timezone="UTC"),
    start_date=START_DATE,
    catchup=True,
    max_active_runs=1,
    max_consecutive_failed_dag_runs=3,
    dagrun_timeout=dt.timedelta(hours=4),
    default_args=default_args(),
    tags=["finlake", "medallion", "daily"],
    doc_md=DOC_MD,
    params={
        "run_forecast": Param(True, type="boolean", description="run the forecast task"),
    },
)
def finlake_medallion_daily() -> None:
    """Medallion pipeline for one logical date."""

    @task(execution_timeout=dt.timedelta(minutes=5), retries=3)
    def landing(ds: str | None = None) -> Any:
        """Landing-zone status for the day (counts of objects received)."""
        return run_job("jobs.landing_status", ["--date", str(ds)], get_current_context())

    @task(execution_timeout=dt.timedelta(minutes=45))
    def bronze(ds: str | None = None) -> Any:
        """Append landing objects received up to `ds` to bronze.events."""
        return run_job("jobs.bronze_job", ["--until", str(ds)], get_current_context())

    @task(execution_timeout=dt.timedelta(minutes=60))
    def silver() -> Any:
        """Bronze -> Silver; a critical DQ failure fails the task and the run."""
        return run_job("jobs.silver_job", [], get_current_context())

    @task(execution_timeout=dt.timedelta(minutes=60))
    def gold() -> Any:
        """Silver -> Gold (incremental, with restatements)."""
        return run_job("jobs.gold_job", [], get_current_context())

    @task(execution_timeout=dt.timedelta(minutes=90), retries=1)
    def forecast(ds: str | None = None, params: dict[str, Any] | None = None) -> Any:
        """Forecasts as of `ds` (skippable by param or environment)."""
        if skip_forecast() or not (params or {}).get("run_forecast", True):
            raise AirflowSkipException("forecast disabled for this run")
        return run_job("jobs.forecast_job", ["--as-of", str(ds)], get_current_context())

    @task(
        execution_timeout=dt.timedelta(minutes=10),
        retries=1,
        trigger_rule="none_failed_min_one_success",
    )
    def refresh_serving() -> Any:
        """(Re-)register Gold/ops tables in Trino; skipped when Trino is not running."""
        return run_job(
            "jobs.cli",
            ["trino", "register"],
            get_current_context(),
            skip_codes=(EXIT_UNAVAILABLE,),
        )

    landed = landing()
    bronzed = bronze()
    silvered = silver()
    golded = gold()
    forecasted = forecast()
    served = refresh_serving()
    landed >> bronzed >> silvered >> golded >> forecasted
    [golded, forecasted] >> served


finlake_medallion_daily()
