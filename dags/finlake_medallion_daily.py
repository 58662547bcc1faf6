"""finlake_medallion_daily: landing -> bronze -> silver (DQ gate) -> gold -> forecast -> serving."""

from __future__ import annotations

import datetime as dt
from typing import Any

from _common import (
    EXIT_UNAVAILABLE,
    RUNNER,
    START_DATE,
    default_args,
    job_task,
    skip_forecast,
)
from airflow.sdk import CronDataIntervalTimetable, Param, dag
from airflow.sdk.exceptions import AirflowSkipException

DOC_MD = f"""
### finlake medallion pipeline, one data day per run

Logical date `ds` = the business day that just ended (data-interval timetable at 03:00 UTC,
so late-evening arrivals are in). Every task runs a `jobs/` entry point; no transform logic
lives here. Runner of this deployment: **`{RUNNER}`** (`FINLAKE_RUNNER` or Variable
`finlake_runner`: `local` subprocess, `spark_submit` to the `finlake_spark` connection,
`emr_serverless` job runs; see `docs/airflow.md`).

| task | job | notes |
|---|---|---|
| `landing` | `jobs.landing_status --date ds` | fails fast if the landing zone is unreachable |
| `bronze` | `jobs.bronze_job --until ds` | exactly-once append of objects received up to `ds` |
| `silver` | `jobs.silver_job --until ds` | **DQ gate**, fresh as of `ds`: exit 4 fails the run |
| `gold` | `jobs.gold_job --until ds` | Gold as of `ds`, incl. late-data restatements |
| `forecast` | `jobs.forecast_job --as-of ds` | param `run_forecast` (see below) |
| `refresh_serving` | `finlake trino register` | soft skip without Trino; absent on EMR (Glue) |

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


def _forecast_enabled(context: Any) -> None:
    """pre_execute of `forecast`: skip when the run or the environment disables it."""
    if skip_forecast() or not context["params"].get("run_forecast", True):
        raise AirflowSkipException("forecast disabled for this run")


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
    tags=["finlake", "medallion", "daily", RUNNER],
    doc_md=DOC_MD,
    params={
        "run_forecast": Param(True, type="boolean", description="run the forecast task"),
    },
)
def finlake_medallion_daily() -> None:
    """Medallion pipeline for one logical date."""
    landed = job_task(
        "landing",
        "jobs.landing_status",
        ["--date", "{{ ds }}"],
        spark=False,
        execution_timeout=dt.timedelta(minutes=5),
        retries=3,
        doc_md="Landing-zone status for the day (counts of objects received).",
    )
    bronzed = job_task(
        "bronze",
        "jobs.bronze_job",
        ["--until", "{{ ds }}"],
        execution_timeout=dt.timedelta(minutes=45),
        doc_md="Append landing objects received up to `ds` to bronze.events.",
    )
    silvered = job_task(
        "silver",
        "jobs.silver_job",
        ["--until", "{{ ds }}"],
        execution_timeout=dt.timedelta(minutes=60),
        doc_md="Bronze -> Silver; a critical DQ failure fails the task and the run.",
    )
    golded = job_task(
        "gold",
        "jobs.gold_job",
        ["--until", "{{ ds }}"],
        execution_timeout=dt.timedelta(minutes=60),
        doc_md="Silver -> Gold as of `ds` (incremental, with restatements).",
    )
    forecasted = job_task(
        "forecast",
        "jobs.forecast_job",
        ["--as-of", "{{ ds }}"],
        execution_timeout=dt.timedelta(minutes=90),
        retries=1,
        pre_execute=_forecast_enabled,
        doc_md="Forecasts as of `ds` (skippable by param or environment).",
    )
    landed >> bronzed >> silvered >> golded >> forecasted
    if RUNNER != "emr_serverless":  # on AWS, Trino reads the tables through Glue
        served = job_task(
            "refresh_serving",
            "jobs.cli",
            ["trino", "register"],
            spark=False,
            skip_codes=(EXIT_UNAVAILABLE,),
            execution_timeout=dt.timedelta(minutes=10),
            retries=1,
            trigger_rule="none_failed_min_one_success",
            doc_md="(Re-)register Gold/ops tables in Trino; skipped when Trino is not running.",
        )
        [golded, forecasted] >> served


finlake_medallion_daily()
