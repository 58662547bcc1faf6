"""Gold equals the independent reference truth to the cent, on every day, month and region.

The truth files come from `jobs.generator.reference`, a slow pure-Python implementation of the
definitions that shares no code with `gold/` (and is itself checked against the simulation's
own state in `tests/jobs/test_generator.py`). The generated business has region moves,
customers who join and churn within a month, scheduled cancellations, refunds after plan
changes and refunds in foreign currency.
"""

from __future__ import annotations

import csv
import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from jobs.lake import Lake
from tests.pipeline_fixtures import GeneratedLake

pytestmark = pytest.mark.integration

MOVEMENT_COLUMNS = (
    "opening_mrr_usd",
    "new_mrr_usd",
    "expansion_mrr_usd",
    "contraction_mrr_usd",
    "churn_mrr_usd",
    "reactivation_mrr_usd",
    "transfer_mrr_usd",
    "closing_mrr_usd",
)
CHURN_COUNTS = (
    "opening_customers",
    "churned_customers",
    "voluntary_churned_customers",
    "involuntary_churned_customers",
)
CHURN_MONEY = ("opening_mrr_usd", "retained_mrr_usd", "cohort_closing_mrr_usd")


def _truth(lake: GeneratedLake, name: str) -> list[dict[str, str]]:
    return list(csv.DictReader((lake.truth_dir / name).open()))


def _gold(spark: SparkSession, lake: GeneratedLake, table: str) -> Any:
    return Lake(spark, lake.settings).read(f"gold.{table}")  # type: ignore[arg-type]


def _assert_daily_truth(spark: SparkSession, lake: GeneratedLake) -> None:
    truth = _truth(lake, "daily_region.csv")
    mrr = {
        (r[0], r[1]): (r[2], r[3])
        for r in _gold(spark, lake, "mrr_daily")
        .groupBy("metric_date", "region")
        .agg(F.sum("mrr_usd"), F.sum("active_subscriptions"))
        .collect()
    }
    revenue = {
        (r[0], r[1]): (r[2], r[3])
        for r in _gold(spark, lake, "revenue_region_daily")
        .select("revenue_date", "region", "net_revenue_usd", "costs_usd")
        .collect()
    }
    mismatches = []
    for row in truth:
        key = (dt.date.fromisoformat(row["metric_date"]), row["region"])
        got_mrr, got_active = mrr.get(key, (Decimal(0), 0))
        got_net, got_costs = revenue.get(key, (Decimal(0), Decimal(0)))
        want = (
            Decimal(row["mrr_usd"]),
            int(row["active_subscriptions"]),
            Decimal(row["net_revenue_usd"]),
            Decimal(row["costs_usd"]),
        )
        if (got_mrr, got_active, got_net, got_costs) != want:
            mismatches.append((key, (got_mrr, got_active, got_net, got_costs), want))
    assert not mismatches, mismatches[:5]
    assert max(k[0] for k in mrr) == dt.date.fromisoformat(lake.manifest["as_of"])
    assert sum(Decimal(r["mrr_usd"]) for r in truth) > 0


def _assert_movements_truth(spark: SparkSession, lake: GeneratedLake) -> None:
    truth = _truth(lake, "mrr_movements_monthly.csv")
    gold = {
        (r["month_start_date"], r["region"]): r
        for r in _gold(spark, lake, "mrr_movements_monthly").collect()
    }
    assert len(gold) == len(truth)
    for row in truth:
        got = gold[(dt.date.fromisoformat(row["month_start_date"]), row["region"])]
        for column in MOVEMENT_COLUMNS:
            assert got[column] == Decimal(row[column]), (row, column, got[column])
    assert any(Decimal(r["transfer_mrr_usd"]) != 0 for r in truth), "no region move generated"


def _assert_churn_truth(spark: SparkSession, lake: GeneratedLake) -> None:
    truth = _truth(lake, "churn_monthly.csv")
    gold = {
        (r["month_start_date"], r["region"]): r
        for r in _gold(spark, lake, "churn_monthly").collect()
    }
    assert len(gold) == len(truth)
    for row in truth:
        got = gold[(dt.date.fromisoformat(row["month_start_date"]), row["region"])]
        for column in CHURN_COUNTS:
            assert got[column] == int(row[column]), (row, column)
        for column in CHURN_MONEY:
            assert got[column] == Decimal(row[column]), (row, column)
        for column in ("logo_churn_rate", "grr", "nrr"):
            want = float(row[column]) if row[column] else None
            assert got[column] == pytest.approx(want), (row, column)


def _assert_revenue_by_plan_truth(spark: SparkSession, lake: GeneratedLake) -> None:
    truth = {
        (dt.date.fromisoformat(r["month_start_date"]), r["plan_id"]): Decimal(r["net_revenue_usd"])
        for r in _truth(lake, "revenue_plan_monthly.csv")
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
    spark: SparkSession, clean_lake: GeneratedLake, clean_pipeline: dict[str, Any]
) -> None:
    _assert_daily_truth(spark, clean_lake)


def test_clean_movements_with_transfers_equal_truth(
    spark: SparkSession, clean_lake: GeneratedLake, clean_pipeline: dict[str, Any]
) -> None:
    _assert_movements_truth(spark, clean_lake)


def test_clean_churn_grr_nrr_equal_truth(
    spark: SparkSession, clean_lake: GeneratedLake, clean_pipeline: dict[str, Any]
) -> None:
    _assert_churn_truth(spark, clean_lake)


def test_clean_revenue_by_plan_equals_truth(
    spark: SparkSession, clean_lake: GeneratedLake, clean_pipeline: dict[str, Any]
) -> None:
    _assert_revenue_by_plan_truth(spark, clean_lake)


def test_defects_and_late_data_still_equal_truth(
    spark: SparkSession, dirty_lake: GeneratedLake, dirty_pipeline: dict[str, Any]
) -> None:
    _assert_daily_truth(spark, dirty_lake)
    _assert_movements_truth(spark, dirty_lake)
    _assert_churn_truth(spark, dirty_lake)
    _assert_revenue_by_plan_truth(spark, dirty_lake)


def test_late_events_were_restated(
    spark: SparkSession, dirty_lake: GeneratedLake, dirty_pipeline: dict[str, Any]
) -> None:
    second = dirty_pipeline["second"]["gold"]
    assert second["range_start"] < dirty_pipeline["stage_end"].isoformat()
    restatements = Lake(spark, dirty_lake.settings).read("ops.restatements")
    assert restatements.count() == second["restatements"] > 0
    row = restatements.first()
    assert row is not None and row["old_value"] != row["new_value"]
