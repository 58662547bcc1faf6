"""Series building and explicit gap filling."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from chispa import assert_df_equality
from pyspark.sql import SparkSession

from forecasting.series import (
    filter_training_window,
    with_active_subscriptions_series,
    with_filled_gaps,
    with_revenue_series,
)
from tests.catalog_schemas import spark_schema

D1, D2, D3 = dt.date(2026, 1, 1), dt.date(2026, 1, 2), dt.date(2026, 1, 3)
SERIES_SCHEMA = (
    "unique_id string, metric string, level string, key string, ds date, y double, "
    "is_filled boolean"
)


def test_revenue_series_cover_every_level_and_fill_missing_days_with_zero(
    spark: SparkSession,
) -> None:
    revenue_df = spark.createDataFrame(
        [
            (D1, "EMEA", "basic", Decimal("10.5000")),
            (D1, "NA", "pro", Decimal("20.0000")),
            (D3, "EMEA", "pro", Decimal("5.0000")),
        ],
        "revenue_date date, region string, plan_id string, net_usd decimal(18,4)",
    )
    actual_df = revenue_df.transform(with_revenue_series)
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


def test_active_subscriptions_carry_the_last_count_forward(spark: SparkSession) -> None:
    mrr_df = spark.createDataFrame(
        [
            (D1, "EMEA", "pro", "smb", Decimal("490.0000"), 10, 8),
            (D1, "EMEA", "pro", "enterprise", Decimal("98.0000"), 2, 1),
            (D3, "EMEA", "pro", "smb", Decimal("539.0000"), 11, 9),
        ],
        spark_schema("gold.mrr_daily"),
    )
    actual_df = mrr_df.transform(with_active_subscriptions_series).where("level = 'region'")
    expected_df = spark.createDataFrame(
        [
            (
                "active_subscriptions/region=EMEA",
                "active_subscriptions",
                "region",
                "EMEA",
                D1,
                12.0,
                False,
            ),
            (
                "active_subscriptions/region=EMEA",
                "active_subscriptions",
                "region",
                "EMEA",
                D2,
                12.0,
                True,
            ),
            (
                "active_subscriptions/region=EMEA",
                "active_subscriptions",
                "region",
                "EMEA",
                D3,
                11.0,
                False,
            ),
        ],
        SERIES_SCHEMA,
    )
    assert_df_equality(actual_df, expected_df, ignore_row_order=True, ignore_nullable=True)


def test_series_starting_late_are_filled_only_from_their_first_day(spark: SparkSession) -> None:
    series_df = spark.createDataFrame(
        [
            ("m/total", "m", "total", "total", D1, 1.0),
            ("m/total", "m", "total", "total", D3, 3.0),
            ("m/plan=new", "m", "plan", "new", D2, 7.0),
        ],
        "unique_id string, metric string, level string, key string, ds date, y double",
    )
    actual_df = with_filled_gaps(series_df, "carry_forward")
    expected_df = spark.createDataFrame(
        [
            ("m/total", "m", "total", "total", D1, 1.0, False),
            ("m/total", "m", "total", "total", D2, 1.0, True),
            ("m/total", "m", "total", "total", D3, 3.0, False),
            ("m/plan=new", "m", "plan", "new", D2, 7.0, False),
            ("m/plan=new", "m", "plan", "new", D3, 7.0, True),
        ],
        SERIES_SCHEMA,
    )
    assert_df_equality(actual_df, expected_df, ignore_row_order=True, ignore_nullable=True)


def test_training_window_is_inclusive(spark: SparkSession) -> None:
    series_df = spark.createDataFrame(
        [("a", D1, 1.0), ("a", D2, 2.0), ("a", D3, 3.0)], "unique_id string, ds date, y double"
    )
    actual_df = filter_training_window(series_df, D2, D3)
    expected_df = spark.createDataFrame(
        [("a", D2, 2.0), ("a", D3, 3.0)], "unique_id string, ds date, y double"
    )
    assert_df_equality(actual_df, expected_df, ignore_row_order=True)
