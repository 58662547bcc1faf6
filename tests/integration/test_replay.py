"""Replay and rebuild on the staged dirty lake (runs last: it rewrites that lake's tables).

- A full rebuild of Gold gives exactly the tables the incremental sequence produced.
- `replay(bronze_version=N)` rebuilds Silver and Gold from Bronze as of version N (Delta time
  travel); replaying the latest version restores the incremental state.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from jobs import delta_io
from jobs.gold_job import run_gold
from jobs.pipeline import replay
from tests.pipeline_fixtures import Lake

pytestmark = pytest.mark.integration

GOLD_TABLES = (
    "dim_customer",
    "dim_plan",
    "dim_region",
    "subscriptions_snapshot",
    "revenue_daily",
    "costs_daily",
    "usage_daily",
    "mrr_daily",
    "revenue_region_daily",
    "mrr_movements_monthly",
    "churn_monthly",
    "cohort_retention",
)


def _versions(
    spark: SparkSession, lake: Lake, layer: str, tables: tuple[str, ...]
) -> dict[str, int]:
    out = {}
    for table in tables:
        version = delta_io.table_version(spark, lake.settings.table_path(layer, table))  # type: ignore[arg-type]
        assert version is not None
        out[table] = version
    return out


def _same(a: DataFrame, b: DataFrame) -> bool:
    return a.count() == b.count() and a.exceptAll(b).isEmpty() and b.exceptAll(a).isEmpty()


def test_full_rebuild_equals_incremental_sequence(
    spark: SparkSession, dirty_lake: Lake, dirty_pipeline: dict[str, Any]
) -> None:
    before = _versions(spark, dirty_lake, "gold", GOLD_TABLES)
    run_gold(spark, dirty_lake.settings, full=True)
    for table, version in before.items():
        path = dirty_lake.settings.table_path("gold", table)
        old = delta_io.read_delta(spark, path, version)
        new = delta_io.read_delta(spark, path)
        assert _same(old, new), table


def test_replay_from_a_bronze_version(
    spark: SparkSession, dirty_lake: Lake, dirty_pipeline: dict[str, Any]
) -> None:
    settings = dirty_lake.settings
    bronze = settings.table_path("bronze", "events")
    latest = delta_io.table_version(spark, bronze)
    assert latest is not None and latest >= 2
    silver_before = _versions(spark, dirty_lake, "silver", ("payment", "quarantine"))
    stage_end: dt.date = dirty_pipeline["stage_end"]

    replay(spark, settings, bronze_version=1)  # Bronze after the first arrival stage only
    mrr = delta_io.read_delta(spark, settings.table_path("gold", "mrr_daily"))
    assert mrr.agg(F.max("metric_date")).first()[0] <= stage_end  # type: ignore[index]
    stage_one_rows = delta_io.read_delta(spark, bronze, 1).filter("event_type = 'payment'")
    payments = delta_io.read_delta(spark, settings.table_path("silver", "payment"))
    assert payments.count() < stage_one_rows.count() + 1
    assert payments.filter(F.col("received_date") > F.lit(stage_end)).isEmpty()

    replay(spark, settings, bronze_version=latest)  # back to everything
    for table, version in silver_before.items():
        path = settings.table_path("silver", table)
        keep = [
            c
            for c in delta_io.read_delta(spark, path).columns
            if c not in ("silver_run_id", "processed_at", "quarantined_at")
        ]
        old = delta_io.read_delta(spark, path, version).select(*keep)
        assert _same(old, delta_io.read_delta(spark, path).select(*keep)), table
