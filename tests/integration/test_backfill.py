"""A backfill of a middle range replaces exactly its months and leaves pending late data pending.

Own lake (destructive): Gold is published up to a first arrival stage; a second stage of
arrivals (late events included) reaches Silver but not Gold; a backfill of one middle month
runs; then the normal incremental run. The result must equal a full rebuild, table by table.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from jobs.bronze_job import run_bronze
from jobs.gold_job import run_gold
from jobs.lake import Lake
from jobs.silver_job import run_silver
from tests.pipeline_fixtures import make_lake

pytestmark = pytest.mark.integration

GOLD_TABLES = (
    "gold.subscriptions_snapshot",
    "gold.revenue_daily",
    "gold.costs_daily",
    "gold.mrr_daily",
    "gold.revenue_region_daily",
    "gold.mrr_movements_monthly",
    "gold.churn_monthly",
    "gold.cohort_retention",
)


def _same(a: DataFrame, b: DataFrame) -> bool:
    return a.count() == b.count() and a.exceptAll(b).isEmpty() and b.exceptAll(a).isEmpty()


def test_backfill_then_incremental_equals_full_rebuild(spark: SparkSession, tmp_path: Path) -> None:
    lake = make_lake(tmp_path, defects=True, seed=17, days=62, customers=45)
    assert lake.start == dt.date(2024, 1, 1)
    settings, store = lake.settings, lake.store
    stage_end = lake.start + dt.timedelta(days=30)
    run_bronze(spark, settings, until=stage_end, store=store)
    run_silver(spark, settings, store=store)
    run_gold(spark, settings)
    run_bronze(spark, settings, store=store)  # the rest, late events for stage-one dates included
    run_silver(spark, settings, store=store)
    io = Lake(spark, settings)
    unconsumed = io.read("ops.affected_dates").join(
        io.read("ops.gold_consumed").select("run_id"), "run_id", "left_anti"
    )
    first_pending = unconsumed.filter("event_type != 'fx_rates'").agg(F.min("business_date"))
    pending_from = first_pending.first()[0]  # type: ignore[index]
    assert pending_from is not None and pending_from <= dt.date(2024, 2, 1)
    months_before = {
        r["month_start_date"]: r["closing_mrr_usd"]
        for r in io.read("gold.mrr_movements_monthly").filter("region = 'NA'").collect()
    }
    result = run_gold(spark, settings, start=dt.date(2024, 2, 5), end=dt.date(2024, 2, 7))
    assert (result["range_start"], result["range_end"]) == ("2024-02-01", "2024-02-29")
    months_after = {
        r["month_start_date"]: r["closing_mrr_usd"]
        for r in io.read("gold.mrr_movements_monthly").filter("region = 'NA'").collect()
    }
    assert set(months_before) <= set(months_after)  # no month was deleted (February may join)
    incremental = run_gold(spark, settings)
    # the backfill consumed nothing it did not cover: the stage-two run was still pending
    assert incremental["range_start"] == pending_from.isoformat()
    versions = {name: io.version(name) for name in GOLD_TABLES}
    run_gold(spark, settings, full=True)
    for name, version in versions.items():
        assert _same(io.read(name, version), io.read(name)), name
