"""Series building: every day from the first observation to the end date, gaps are zero."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from chispa import assert_df_equality
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from forecasting.series import (
    filter_training_window,
    to_series,
    with_active_subscriptions_series,
    with_filled_gaps,
    with_revenue_series,
)
from tests.catalog_schemas import spark_schema

D1, D2, D3, D4 = (dt.date(2026, 1, d) for d in (1, 2, 3, 4))
SERIES_SCHEMA = (
    "unique_id string, metric string, level string, key string, ds date, y double, "
    "is_filled boolean"
)
REVENUE_SCHEMA = "revenue_date date, region string, plan_id string, net_usd decimal(18,4)"


def test_revenue_series_cover_every_level_and_fill_missing_days_with_zero(
    spark: SparkSession,
) -> None:
    revenue_df = spark.createDataFrame(
        [
            (D1, "EMEA", "basic", Decimal("10.5000")),
            (D1, "NA", "pro", Decimal("20.0000")),
            (D3, "EMEA", "pro", Decimal("5.0000")),
        ],
        REVENUE_SCHEMA,
    )
    actual_df = with_revenue_series(revenue_df, D3)
    expected_df = spark.createDataFrame(
        [
            ("revenue/total", "revenue", "total", "total", D1, 30.5, False),
            ("revenue/total", "revenue", "total", "total", D2, 0.0, True),
            ("revenue/total", "revenue", "total", "total", D3, 5.0, False),
            ("revenue/region=EMEA", "revenue", "region", "EMEA", D1, 10.5, False),
            ("revenue/region=EMEA", "revenue", "region", "EMEA", D2, 0.0, True),
            ("revenue/region=EMEA", "revenue", "region", "EMEA", D3, 5.0, False),
            ("revenue/region=NA", "revenue", "region", "NA", D1, 20.0, False),
            ("revenue/region=NA", "revenue", "region", "NA", D2, 0.0, True),
            ("revenue/region=NA", "revenue", "region", "NA", D3, 0.0, True),
            ("revenue/plan=basic", "revenue", "plan", "basic", D1, 10.5, False),
            ("revenue/plan=basic", "revenue", "plan", "basic", D2, 0.0, True),
            ("revenue/plan=basic", "revenue", "plan", "basic", D3, 0.0, True),
            ("revenue/plan=pro", "revenue", "plan", "pro", D1, 20.0, False),
            ("revenue/plan=pro", "revenue", "plan", "pro", D2, 0.0, True),
            ("revenue/plan=pro", "revenue", "plan", "pro", D3, 5.0, False),
        ],
        SERIES_SCHEMA,
    )
    assert_df_equality(actual_df, expected_df, ignore_row_order=True, ignore_nullable=True)


def test_revenue_runs_to_the_end_date_past_the_last_payment_and_not_beyond(
    spark: SparkSession,
) -> None:
    # Payments on D1 and D4; the end date is D3: D2 and D3 earned nothing, D4 is not yet in.
    revenue_df = spark.createDataFrame(
        [(D1, "NA", "pro", Decimal("7.0000")), (D4, "NA", "pro", Decimal("9.0000"))],
        REVENUE_SCHEMA,
    )
    actual_df = with_revenue_series(revenue_df, D3).where("level = 'total'")
    expected_df = spark.createDataFrame(
        [
            ("revenue/total", "revenue", "total", "total", D1, 7.0, False),
            ("revenue/total", "revenue", "total", "total", D2, 0.0, True),
            ("revenue/total", "revenue", "total", "total", D3, 0.0, True),
        ],
        SERIES_SCHEMA,
    )
    assert_df_equality(actual_df, expected_df, ignore_row_order=True, ignore_nullable=True)


def test_a_day_without_active_subscriptions_is_zero_not_the_last_count(
    spark: SparkSession,
) -> None:
    # EMEA has 10 + 2 = 12 subscriptions on D1, none on D2 (no mrr_daily row), 11 on D3.
    mrr_df = spark.createDataFrame(
        [
            (D1, "EMEA", "pro", "smb", Decimal("490.0000"), 10, 8),
            (D1, "EMEA", "pro", "enterprise", Decimal("98.0000"), 2, 1),
            (D3, "EMEA", "pro", "smb", Decimal("539.0000"), 11, 9),
        ],
        spark_schema("gold.mrr_daily"),
    )
    actual_df = with_active_subscriptions_series(mrr_df, D3).where("level = 'region'")
    uid, metric = "active_subscriptions/region=EMEA", "active_subscriptions"
    expected_df = spark.createDataFrame(
        [
            (uid, metric, "region", "EMEA", D1, 12.0, False),
            (uid, metric, "region", "EMEA", D2, 0.0, True),
            (uid, metric, "region", "EMEA", D3, 11.0, False),
        ],
        SERIES_SCHEMA,
    )
    assert_df_equality(actual_df, expected_df, ignore_row_order=True, ignore_nullable=True)


def test_a_region_that_loses_its_last_subscription_is_zero_and_regions_sum_to_total(
    spark: SparkSession,
) -> None:
    # NA: 5 on D1, 4 on D2, then cancelled (no rows). EMEA: 3 every day through D4.
    mrr_df = spark.createDataFrame(
        [
            (D1, "NA", "basic", "smb", Decimal("50.0000"), 5, 5),
            (D2, "NA", "basic", "smb", Decimal("40.0000"), 4, 4),
            *[(d, "EMEA", "pro", "smb", Decimal("90.0000"), 3, 3) for d in (D1, D2, D3, D4)],
        ],
        spark_schema("gold.mrr_daily"),
    )
    series_df = with_active_subscriptions_series(mrr_df, D4)
    na = {r["ds"]: r["y"] for r in series_df.where("key = 'NA'").collect()}
    assert na == {D1: 5.0, D2: 4.0, D3: 0.0, D4: 0.0}
    total = {r["ds"]: r["y"] for r in series_df.where("level = 'total'").collect()}
    assert total == {D1: 8.0, D2: 7.0, D3: 3.0, D4: 3.0}
    regions = series_df.where("level = 'region'").groupBy("ds").agg(F.sum("y").alias("y")).collect()
    assert {r["ds"]: r["y"] for r in regions} == total


def test_series_starting_late_are_filled_only_from_their_first_day(spark: SparkSession) -> None:
    series_df = spark.createDataFrame(
        [
            ("m/total", "m", "total", "total", D1, 1.0),
            ("m/total", "m", "total", "total", D3, 3.0),
            ("m/plan=new", "m", "plan", "new", D2, 7.0),
        ],
        "unique_id string, metric string, level string, key string, ds date, y double",
    )
    actual_df = with_filled_gaps(series_df, D4)
    expected_df = spark.createDataFrame(
        [
            ("m/total", "m", "total", "total", D1, 1.0, False),
            ("m/total", "m", "total", "total", D2, 0.0, True),
            ("m/total", "m", "total", "total", D3, 3.0, False),
            ("m/total", "m", "total", "total", D4, 0.0, True),
            ("m/plan=new", "m", "plan", "new", D2, 7.0, False),
            ("m/plan=new", "m", "plan", "new", D3, 0.0, True),
            ("m/plan=new", "m", "plan", "new", D4, 0.0, True),
        ],
        SERIES_SCHEMA,
    )
    assert_df_equality(actual_df, expected_df, ignore_row_order=True, ignore_nullable=True)


def test_both_metrics_share_the_end_date(spark: SparkSession) -> None:
    # Revenue stops on D1, subscriptions on D2; the end date D3 closes both.
    revenue_df = spark.createDataFrame([(D1, "NA", "pro", Decimal("1.0000"))], REVENUE_SCHEMA)
    mrr_df = spark.createDataFrame(
        [(D2, "NA", "pro", "smb", Decimal("10.0000"), 1, 1)], spark_schema("gold.mrr_daily")
    )
    series_df = to_series(revenue_df, mrr_df, D3).where("level = 'total'")
    days = {
        r["metric"]: (r["first"], r["last"], r["n"])
        for r in series_df.groupBy("metric")
        .agg(F.min("ds").alias("first"), F.max("ds").alias("last"), F.count("ds").alias("n"))
        .collect()
    }
    assert days == {"revenue": (D1, D3, 3), "active_subscriptions": (D2, D3, 2)}


def test_training_window_is_inclusive(spark: SparkSession) -> None:
    series_df = spark.createDataFrame(
        [("a", D1, 1.0), ("a", D2, 2.0), ("a", D3, 3.0)], "unique_id string, ds date, y double"
    )
    actual_df = filter_training_window(series_df, D2, D3)
    expected_df = spark.createDataFrame(
        [("a", D2, 2.0), ("a", D3, 3.0)], "unique_id string, ds date, y double"
    )
    assert_df_equality(actual_df, expected_df, ignore_row_order=True)
