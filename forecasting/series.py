"""Long-format daily series (`unique_id, ds, y`) for forecasting, built from Gold facts.

Grain of every output: one row per `unique_id` x `ds` (a calendar day). Each metric is
produced at three hierarchy levels: `total`, `region` and `plan`; the `unique_id` spells the
path, e.g. ``revenue/total``, ``revenue/region=EMEA``, ``active_subscriptions/plan=pro_monthly``.

A day without a Gold row is a zero, never a missing value, for both metrics:

* ``revenue`` (daily net revenue, a flow): a day without `gold.revenue_daily` rows earned
  nothing.
* ``active_subscriptions`` (a count): `gold.mrr_daily` has a row per day x region x plan x
  segment only while at least one subscription is active there, and Gold runs every day through
  its as-of date; so a day without a row has no active subscription (a cancelled plan, an
  emptied region), not an unknown count. Carrying the last count forward would keep
  subscriptions alive that were cancelled and would make the regions no longer sum to the total.

Filled days are flagged (`is_filled`). Each series runs from its own first observed day to the
given `end_date` inclusive (the last day Gold covers, or the as-of date), so a region that stops
earning or loses its last subscription gets zeros up to the end; a training window that starts
later (the lookback start) is cut with `filter_training_window`, so a series whose last
observation lies before the window is all zeros inside it. Rows after `end_date` are dropped.
"""

from __future__ import annotations

import datetime as dt

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

REVENUE = "revenue"
ACTIVE_SUBSCRIPTIONS = "active_subscriptions"
METRICS: tuple[str, ...] = (REVENUE, ACTIVE_SUBSCRIPTIONS)
LEVELS: tuple[str, ...] = ("total", "region", "plan")
TOTAL_KEY = "total"
UNKNOWN_KEY = "unknown"

SERIES_COLUMNS: tuple[str, ...] = ("unique_id", "metric", "level", "key", "ds", "y", "is_filled")


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


def with_revenue_series(revenue_df: DataFrame, end_date: dt.date) -> DataFrame:
    """Daily net revenue (`gold.revenue_daily.net_usd`) as total/region/plan series, gaps = 0."""
    daily_df = revenue_df.select(
        F.col("revenue_date").alias("ds"),
        F.col("net_usd").alias("value"),
        "region",
        "plan_id",
    )
    return _with_levels(daily_df, REVENUE, "region", "plan_id").transform(
        lambda df: with_filled_gaps(df, end_date)
    )


def with_active_subscriptions_series(mrr_df: DataFrame, end_date: dt.date) -> DataFrame:
    """Daily active subscriptions (`gold.mrr_daily`) as series, a day without rows = 0."""
    daily_df = mrr_df.select(
        F.col("metric_date").alias("ds"),
        F.col("active_subscriptions").alias("value"),
        "region",
        "plan_id",
    )
    return _with_levels(daily_df, ACTIVE_SUBSCRIPTIONS, "region", "plan_id").transform(
        lambda df: with_filled_gaps(df, end_date)
    )


def to_series(revenue_df: DataFrame, mrr_df: DataFrame, end_date: dt.date) -> DataFrame:
    """Both metrics' zero-filled series through `end_date` (`SERIES_COLUMNS`)."""
    return with_revenue_series(revenue_df, end_date).unionByName(
        with_active_subscriptions_series(mrr_df, end_date)
    )


def with_filled_gaps(series_df: DataFrame, end_date: dt.date) -> DataFrame:
    """Every day from each series' first row to `end_date`; missing days are 0 (`is_filled`)."""
    observed_df = series_df.where(F.col("ds") <= F.lit(end_date))
    calendar_df = (
        observed_df.groupBy("unique_id", "metric", "level", "key")
        .agg(F.min("ds").alias("first_ds"))
        .select(
            "unique_id",
            "metric",
            "level",
            "key",
            F.explode(
                F.sequence(F.col("first_ds"), F.lit(end_date), F.expr("INTERVAL 1 DAY"))
            ).alias("ds"),
        )
    )
    joined_df = calendar_df.join(
        observed_df.select("unique_id", "ds", F.col("y").alias("y_observed")),
        ["unique_id", "ds"],
        "left",
    )
    return joined_df.select(
        "unique_id",
        "metric",
        "level",
        "key",
        "ds",
        F.coalesce(F.col("y_observed"), F.lit(0.0)).cast("double").alias("y"),
        F.col("y_observed").isNull().alias("is_filled"),
    )


def filter_training_window(
    series_df: DataFrame, start_date: dt.date, end_date: dt.date
) -> DataFrame:
    """Keep rows with `start_date <= ds <= end_date`."""
    return series_df.where(F.col("ds").between(F.lit(start_date), F.lit(end_date)))
