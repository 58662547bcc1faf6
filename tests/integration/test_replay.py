"""Rebuild and replay on their own staged lake (destructive: nothing else reads this lake).

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

from conf.catalog import TableName
from jobs.gold_job import run_gold
from jobs.lake import Lake
from jobs.pipeline import replay
from tests.pipeline_fixtures import GeneratedLake, first_late_business_date, make_lake, run_pipeline

pytestmark = pytest.mark.integration

GOLD_TABLES: tuple[TableName, ...] = (
    "gold.dim_customer",
    "gold.dim_plan",
    "gold.dim_region",
    "gold.subscriptions_snapshot",
    "gold.revenue_daily",
    "gold.costs_daily",
    "gold.usage_daily",
    "gold.mrr_daily",
    "gold.revenue_region_daily",
    "gold.mrr_movements_monthly",
    "gold.churn_monthly",
    "gold.cohort_retention",
)


@pytest.fixture(scope="module")
def staged(spark: SparkSession, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A dirty lake run in two arrival stages (a late event crosses them)."""
    lake = make_lake(
        tmp_path_factory.mktemp("replay-lake"), defects=True, seed=29, days=45, customers=40
    )
    stage_end = first_late_business_date(lake) + dt.timedelta(days=1)
    run_pipeline(spark, lake, until=stage_end)
    run_pipeline(spark, lake)
    return {"lake": lake, "stage_end": stage_end}


def _versions(lake: Lake, names: tuple[TableName, ...]) -> dict[TableName, int]:
    out = {}
    for name in names:
        version = lake.version(name)
        assert version is not None, name
        out[name] = version
    return out


def _same(a: DataFrame, b: DataFrame) -> bool:
    return a.count() == b.count() and a.exceptAll(b).isEmpty() and b.exceptAll(a).isEmpty()


def test_full_rebuild_equals_incremental_sequence(
    spark: SparkSession, staged: dict[str, Any]
) -> None:
    generated: GeneratedLake = staged["lake"]
    io = Lake(spark, generated.settings)
    before = _versions(io, GOLD_TABLES)
    run_gold(spark, generated.settings, full=True)
    for name, version in before.items():
        assert _same(io.read(name, version), io.read(name)), name


def test_replay_from_a_bronze_version(spark: SparkSession, staged: dict[str, Any]) -> None:
    generated: GeneratedLake = staged["lake"]
    settings = generated.settings
    io = Lake(spark, settings)
    latest = io.version("bronze.events")
    assert latest is not None and latest >= 2
    silver_before = _versions(io, ("silver.payment", "silver.quarantine"))
    stage_end: dt.date = staged["stage_end"]

    replay(spark, settings, bronze_version=1)  # Bronze after the first arrival stage only
    mrr = io.read("gold.mrr_daily")
    assert mrr.agg(F.max("metric_date")).first()[0] <= stage_end  # type: ignore[index]
    stage_one_rows = io.read("bronze.events", 1).filter("event_type = 'payment'")
    payments = io.read("silver.payment")
    assert payments.count() < stage_one_rows.count() + 1
    assert payments.filter(F.col("received_date") > F.lit(stage_end)).isEmpty()

    replay(spark, settings, bronze_version=latest)  # back to everything
    for name, version in silver_before.items():
        keep = [
            c
            for c in io.read(name).columns
            if c not in ("silver_run_id", "processed_at", "quarantined_at")
        ]
        old = io.read(name, version).select(*keep)
        assert _same(old, io.read(name).select(*keep)), name
