"""Proportional top-down reconciliation: children sum to the total, exactly in decimals."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from chispa import assert_df_equality
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from forecasting.reconcile import with_decimal_values, with_reconciled_forecasts
from forecasting.series import with_active_subscriptions_series
from tests.catalog_schemas import spark_schema

D = dt.date(2026, 2, 1)
SCHEMA = (
    "unique_id string, metric string, level string, key string, forecast_date date, "
    "point double, lo_80 double, hi_80 double, lo_95 double, hi_95 double"
)


def test_regions_are_scaled_to_the_total_with_their_bounds(spark: SparkSession) -> None:
    forecast_df = spark.createDataFrame(
        [
            ("r/total", "r", "total", "total", D, 100.0, 90.0, 110.0, 80.0, 120.0),
            ("r/region=A", "r", "region", "A", D, 30.0, 27.0, 33.0, 24.0, 36.0),
            ("r/region=B", "r", "region", "B", D, 20.0, 18.0, 22.0, 16.0, 24.0),
        ],
        SCHEMA,
    )
    actual_df = with_reconciled_forecasts(forecast_df, (80, 95))
    expected_df = spark.createDataFrame(
        [
            ("r/total", "r", "total", "total", D, 100.0, 100.0, 90.0, 110.0, 80.0, 120.0),
            ("r/region=A", "r", "region", "A", D, 30.0, 60.0, 54.0, 66.0, 48.0, 72.0),
            ("r/region=B", "r", "region", "B", D, 20.0, 40.0, 36.0, 44.0, 32.0, 48.0),
        ],
        "unique_id string, metric string, level string, key string, forecast_date date, "
        "base_point double, point double, lo_80 double, hi_80 double, lo_95 double, "
        "hi_95 double",
    )
    assert_df_equality(actual_df, expected_df, ignore_row_order=True, ignore_nullable=True)


def test_children_summing_to_zero_share_the_total_equally(spark: SparkSession) -> None:
    forecast_df = spark.createDataFrame(
        [
            ("r/total", "r", "total", "total", D, 10.0, 8.0, 12.0, 6.0, 14.0),
            ("r/region=A", "r", "region", "A", D, 1.0, 0.0, 2.0, -1.0, 3.0),
            ("r/region=B", "r", "region", "B", D, -1.0, -2.0, 0.0, -3.0, 1.0),
        ],
        SCHEMA,
    )
    rows = {
        r["key"]: r
        for r in with_reconciled_forecasts(forecast_df, (80, 95)).collect()
        if r["level"] == "region"
    }
    assert (rows["A"]["point"], rows["A"]["lo_95"], rows["A"]["hi_95"]) == (5.0, 3.0, 7.0)
    assert (rows["B"]["point"], rows["B"]["lo_80"], rows["B"]["hi_80"]) == (5.0, 4.0, 6.0)


def test_decimal_rounding_residual_goes_to_the_largest_child(spark: SparkSession) -> None:
    third = 10.0 / 3
    forecast_df = spark.createDataFrame(
        [
            ("r/total", "r", "total", "total", D, 10.0, 9.0, 11.0, 8.0, 12.0),
            ("r/plan=a", "r", "plan", "a", D, third, third, third, third, third),
            ("r/plan=b", "r", "plan", "b", D, third, third, third, third, third),
            ("r/plan=c", "r", "plan", "c", D, third + 1e-9, third, third, third, third),
        ],
        SCHEMA,
    )
    actual_df = with_decimal_values(forecast_df, (80, 95)).select("unique_id", "point")
    expected_df = spark.createDataFrame(
        [
            ("r/total", Decimal("10.0000")),
            ("r/plan=a", Decimal("3.3333")),
            ("r/plan=b", Decimal("3.3333")),
            ("r/plan=c", Decimal("3.3334")),
        ],
        "unique_id string, point decimal(18,4)",
    )
    assert_df_equality(actual_df, expected_df, ignore_row_order=True, ignore_nullable=True)
    sums = (
        with_decimal_values(forecast_df, (80, 95))
        .groupBy("level")
        .agg(F.sum("point").alias("s"))
        .collect()
    )
    assert {r["level"]: r["s"] for r in sums} == {
        "total": Decimal("10.0000"),
        "plan": Decimal("10.0000"),
    }


def test_a_region_without_subscriptions_gets_no_share_of_the_total(spark: SparkSession) -> None:
    # NA: 6 subscriptions on days 1-3, cancelled after (no mrr_daily rows); EMEA: 4 every day.
    days = [dt.date(2026, 1, d) for d in range(1, 7)]
    mrr_df = spark.createDataFrame(
        [(d, "NA", "pro", "smb", Decimal("60.0000"), 6, 6) for d in days[:3]]
        + [(d, "EMEA", "pro", "smb", Decimal("40.0000"), 4, 4) for d in days],
        spark_schema("gold.mrr_daily"),
    )
    series_df = with_active_subscriptions_series(mrr_df, days[-1]).where("level != 'plan'")
    # naive forecast (the last value, by definition) for one day, bounds +-1 and +-2
    last = F.max_by("y", "ds")
    forecast_df = (
        series_df.groupBy("unique_id", "metric", "level", "key")
        .agg(last.alias("point"))
        .select(
            "unique_id",
            "metric",
            "level",
            "key",
            F.lit(D).alias("forecast_date"),
            "point",
            (F.col("point") - 1).alias("lo_80"),
            (F.col("point") + 1).alias("hi_80"),
            (F.col("point") - 2).alias("lo_95"),
            (F.col("point") + 2).alias("hi_95"),
        )
    )
    reconciled = {
        r["key"]: r["point"] for r in with_reconciled_forecasts(forecast_df, (80, 95)).collect()
    }
    # total = 4 = EMEA 4 + NA 0: nothing to rescale
    assert reconciled == {"total": 4.0, "EMEA": 4.0, "NA": 0.0}
