"""Long-format daily series (`unique_id, ds, y`) for forecasting, built from Gold facts.

Grain of every output: one row per `unique_id` x `ds` (a calendar day). Each metric is
produced at three hierarchy levels: `total`, `region` and `plan`; the `unique_id` spells the
path, e.g. ``revenue/total``, ``revenue/region=EMEA``, ``active_subscriptions/plan=pro_monthly``.

Missing days are filled explicitly and flagged (`is_filled`), never silently:

* ``revenue`` (daily net revenue, a flow): a day without rows earned nothing, so it is 0.
* ``active_subscriptions`` (a stock counted by a daily snapshot): a day without a snapshot row
  keeps the last observed count (carry-forward), because subscriptions do not vanish when a
  snapshot is missing.

Each series runs from its own first observed day to the last observed day of its metric, so a
region that stops earning still gets zeros up to the end of the data.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

REVENUE = "revenue"
ACTIVE_SUBSCRIPTIONS = "active_subscriptions"
METRICS: tuple[str, ...] = (REVENUE, ACTIVE_SUBSCRIPTIONS)
LEVELS: tuple[str, ...] = ("total", "region", "plan")
TOTAL_KEY = "total"
UNKNOWN_KEY = "unknown"

SERIES_COLUMNS: tuple[str, ...] = ("unique_id", "metric", "level", "key", "ds", "y", "is_filled")

FillMethod = Literal["zero", "carry_forward"]
FILL_METHODS: dict[str, FillMethod] = {REVENUE: "zero", ACTIVE_SUBSCRIPTIONS: "carry_forward"}


def unique_id_col(metric: Column, level: Column, key: Column) -> Column:
    """`metric/total` for the total, `metric/level=key` otherwise."""
    return F.when(level == F.lit("total"), F.concat(metric, F.lit("/total"))).otherwise(
        F.concat(metric, F.lit("/"), level, F.lit("="), key)
    )


def _with_levels(daily_df: DataFrame, metric: str, region_col: str, plan_col: str) -> DataFrame:
    """Aggregate `(ds, value, region, plan)` rows into total, region and plan series."""
    keyed_df = daily_df.select(
        "ds",
        "value",
        F.coalesce(F.col(region_col).cast("string"), F.lit(UNKNOWN_KEY)).alias("region"),
        F.coalesce(F.col(plan_col).cast("string"), F.lit(UNKNOWN_KEY)).alias("plan"),
    )
    parts: list[DataFrame] = []
    for level in LEVELS:
        key = F.lit(TOTAL_KEY) if level == "total" else F.col(level)
        parts.append(
            keyed_df.groupBy("ds", key.alias("key"))
            .agg(F.sum("value").cast("double").alias("y"))
            .withColumn("level", F.lit(level))
        )
    union_df = parts[0].unionByName(parts[1]).unionByName(parts[2])
    return union_df.select(
        unique_id_col(F.lit(metric), F.col("level"), F.col("key")).alias("unique_id"),
        F.lit(metric).alias("metric"),
        "level",
        "key",
        "ds",
        "y",
    )


def with_revenue_series(revenue_df: DataFrame) -> DataFrame:
    """Daily net revenue (`gold.revenue_daily.net_usd`) as total/region/plan series, gaps = 0."""
    daily_df = revenue_df.select(
        F.col("revenue_date").alias("ds"),
        F.col("net_usd").alias("value"),
        "region",
        "plan_id",
    )
    return _with_levels(daily_df, REVENUE, "region", "plan_id").transform(
        lambda df: with_filled_gaps(df, "zero")
    )


def with_active_subscriptions_series(mrr_df: DataFrame) -> DataFrame:
    """Daily active subscriptions (`gold.mrr_daily`) as series, gaps carried forward."""
    daily_df = mrr_df.select(
        F.col("metric_date").alias("ds"),
        F.col("active_subscriptions").alias("value"),
        "region",
        "plan_id",
    )
    return _with_levels(daily_df, ACTIVE_SUBSCRIPTIONS, "region", "plan_id").transform(
        lambda df: with_filled_gaps(df, "carry_forward")
    )


def with_filled_gaps(series_df: DataFrame, method: FillMethod) -> DataFrame:
    """Add every missing day per series (0 or carry-forward) and flag it in `is_filled`."""
    bounds_df = series_df.groupBy("unique_id", "metric", "level", "key").agg(
        F.min("ds").alias("first_ds")
    )
    metric_end_df = series_df.groupBy("metric").agg(F.max("ds").alias("metric_last_ds"))
    calendar_df = bounds_df.join(metric_end_df, "metric").select(
        "unique_id",
        "metric",
        "level",
        "key",
        F.explode(F.sequence("first_ds", "metric_last_ds", F.expr("INTERVAL 1 DAY"))).alias("ds"),
    )
    joined_df = calendar_df.join(
        series_df.select("unique_id", "ds", F.col("y").alias("y_observed")),
        ["unique_id", "ds"],
        "left",
    )
    is_filled = F.col("y_observed").isNull()
    if method == "zero":
        filled = F.coalesce(F.col("y_observed"), F.lit(0.0))
    else:
        ordered = (
            Window.partitionBy("unique_id")
            .orderBy("ds")
            .rowsBetween(Window.unboundedPreceding, Window.currentRow)
        )
        filled = F.last("y_observed", ignorenulls=True).over(ordered)
    return joined_df.select(
        "unique_id",
        "metric",
        "level",
        "key",
        "ds",
        filled.cast("double").alias("y"),
        is_filled.alias("is_filled"),
    )


def filter_training_window(
    series_df: DataFrame, start_date: dt.date, end_date: dt.date
) -> DataFrame:
    """Keep rows with `start_date <= ds <= end_date`."""
    return series_df.where(F.col("ds").between(F.lit(start_date), F.lit(end_date)))
