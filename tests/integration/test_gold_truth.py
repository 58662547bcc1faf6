"""Gold equals the generator's ground truth to the cent, on every day, month and region."""

from __future__ import annotations

import csv
import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from jobs import delta_io
from tests.pipeline_fixtures import Lake

pytestmark = pytest.mark.integration

MOVEMENT_COLUMNS = (
    "opening_mrr_usd",
    "new_mrr_usd",
    "expansion_mrr_usd",
    "contraction_mrr_usd",
    "churn_mrr_usd",
    "reactivation_mrr_usd",
    "closing_mrr_usd",
)


def _gold(spark: SparkSession, lake: Lake, table: str) -> Any:
    return delta_io.read_delta(spark, lake.settings.table_path("gold", table))


def _assert_daily_truth(spark: SparkSession, lake: Lake) -> None:
    truth = list(csv.DictReader((lake.truth_dir / "daily_region.csv").open()))
    mrr = {
        (r[0], r[1]): (r[2], r[3])
        for r in _gold(spark, lake, "mrr_daily")
        .groupBy("metric_date", "region")
        .agg(F.sum("mrr_usd"), F.sum("active_subscriptions"))
        .collect()
    }
    revenue = {
        (r[0], r[1]): r[2]
        for r in _gold(spark, lake, "revenue_region_daily")
        .select("revenue_date", "region", "net_revenue_usd")
        .collect()
    }
    mismatches = []
    for row in truth:
        key = (dt.date.fromisoformat(row["metric_date"]), row["region"])
        got_mrr, got_active = mrr.get(key, (Decimal(0), 0))
        got_net = revenue.get(key, Decimal(0))
        want = (Decimal(row["mrr_usd"]), int(row["active_subscriptions"]))
        if (got_mrr, got_active) != want or got_net != Decimal(row["net_revenue_usd"]):
            mismatches.append((key, (got_mrr, got_active, got_net), row))
    assert not mismatches, mismatches[:5]
    assert sum(Decimal(r["mrr_usd"]) for r in truth) > 0


def _assert_movements_truth(spark: SparkSession, lake: Lake) -> None:
    truth = list(csv.DictReader((lake.truth_dir / "mrr_movements_monthly.csv").open()))
    gold = {
        (r["month_start_date"], r["region"]): r
        for r in _gold(spark, lake, "mrr_movements_monthly").collect()
    }
    assert len(gold) == len(truth)
    for row in truth:
        got = gold[(dt.date.fromisoformat(row["month_start_date"]), row["region"])]
        for column in MOVEMENT_COLUMNS:
            assert got[column] == Decimal(row[column]), (row, column, got[column])


def _assert_revenue_by_plan_truth(spark: SparkSession, lake: Lake) -> None:
    truth = {
        (dt.date.fromisoformat(r["month_start_date"]), r["plan_id"]): Decimal(r["net_revenue_usd"])
        for r in csv.DictReader((lake.truth_dir / "revenue_plan_monthly.csv").open())
    }
    gold = {
        (r[0], r[1]): r[2]
        for r in _gold(spark, lake, "revenue_daily")
        .groupBy(F.trunc("revenue_date", "month"), "plan_id")
        .agg(F.sum("net_usd"))
        .collect()
    }
    assert {k: v for k, v in gold.items() if v} == {k: v for k, v in truth.items() if v}
    assert "unassigned" not in {plan for _, plan in gold}


def test_clean_daily_metrics_equal_truth(
    spark: SparkSession, clean_lake: Lake, clean_pipeline: dict[str, Any]
) -> None:
    _assert_daily_truth(spark, clean_lake)


def test_clean_movements_equal_truth(
    spark: SparkSession, clean_lake: Lake, clean_pipeline: dict[str, Any]
) -> None:
    _assert_movements_truth(spark, clean_lake)


def test_clean_revenue_by_plan_equals_truth(
    spark: SparkSession, clean_lake: Lake, clean_pipeline: dict[str, Any]
) -> None:
    _assert_revenue_by_plan_truth(spark, clean_lake)


def test_defects_and_late_data_still_equal_truth(
    spark: SparkSession, dirty_lake: Lake, dirty_pipeline: dict[str, Any]
) -> None:
    _assert_daily_truth(spark, dirty_lake)
    _assert_movements_truth(spark, dirty_lake)
    _assert_revenue_by_plan_truth(spark, dirty_lake)


def test_late_events_were_restated(
    spark: SparkSession, dirty_lake: Lake, dirty_pipeline: dict[str, Any]
) -> None:
    second = dirty_pipeline["second"]["gold"]
    assert second["range_start"] < dirty_pipeline["stage_end"].isoformat()
    restatements = delta_io.read_delta(spark, dirty_lake.settings.table_path("ops", "restatements"))
    assert restatements.count() == second["restatements"] > 0
    row = restatements.first()
    assert row is not None and row["old_value"] != row["new_value"]
