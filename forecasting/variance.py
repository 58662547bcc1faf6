"""Forecast vs actual: errors, interval hits and consecutive misses of recorded forecasts.

Grain: one row per forecast run x unique_id x forecast_date for which an actual now exists.
Actuals are the zero-filled series of `forecasting.series` (a day without Gold rows is an
actual of 0, flagged `is_actual_filled`), so a plan that lost its last subscription is scored
against 0, not against its last count.

Columns and sign convention (one convention everywhere: positive = actual above forecast):

* `actual`, `forecast` (the recorded, reconciled point), both double;
* `error = actual - forecast` (positive: under-forecast);
* `abs_error = |error|`;
* `pct_error = 100 * error / |actual|`, in percent, with the sign of `error`; null when the
  actual is 0 (undefined);
* `is_inside_<level>`: `lo_<level> <= actual <= hi_<level>`;
* `consecutive_days_outside_<widest>` counts, within one run's forecast of one series, the days
  in a row (up to and including this one) whose actual fell outside the widest interval;
  `is_alert` is set once that streak reaches `alert_after_days` (3 by default).
"""

from __future__ import annotations

from collections.abc import Sequence

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

VARIANCE_KEYS: tuple[str, ...] = ("run_id", "unique_id", "metric", "level", "key")


def with_forecast_variance(
    forecast_df: DataFrame,
    actual_df: DataFrame,
    levels: Sequence[int],
    alert_after_days: int = 3,
) -> DataFrame:
    """Join recorded forecasts to actuals (`unique_id, ds, y`) and score every forecast day."""
    widest = max(levels)
    actuals = actual_df.select(
        "unique_id",
        F.col("ds").alias("forecast_date"),
        F.col("y").cast("double").alias("actual"),
        F.col("is_filled").alias("is_actual_filled"),
    )
    joined_df = forecast_df.join(actuals, ["unique_id", "forecast_date"], "inner")
    forecast = F.col("point").cast("double")
    error = F.col("actual") - forecast
    scored_df = joined_df.select(
        *VARIANCE_KEYS,
        "forecast_date",
        "as_of_date",
        "model",
        "actual",
        forecast.alias("forecast"),
        error.alias("error"),
        F.abs(error).alias("abs_error"),
        F.when(F.col("actual") != 0, 100.0 * error / F.abs(F.col("actual"))).alias("pct_error"),
        *[
            F.col("actual")
            .between(F.col(f"lo_{lv}").cast("double"), F.col(f"hi_{lv}").cast("double"))
            .alias(f"is_inside_{lv}")
            for lv in levels
        ],
        "is_actual_filled",
    )
    ordered = Window.partitionBy(*VARIANCE_KEYS).orderBy("forecast_date")
    inside = F.col(f"is_inside_{widest}").cast("int")
    with_blocks_df = scored_df.withColumn(
        "_block", F.sum(inside).over(ordered.rowsBetween(Window.unboundedPreceding, 0))
    )
    in_block = Window.partitionBy(*VARIANCE_KEYS, "_block").orderBy("forecast_date")
    streak = F.row_number().over(in_block) - F.when(F.col("_block") > 0, 1).otherwise(0)
    consecutive = F.when(F.col(f"is_inside_{widest}"), 0).otherwise(streak)
    return (
        with_blocks_df.withColumn(f"consecutive_days_outside_{widest}", consecutive)
        .withColumn("is_alert", F.col(f"consecutive_days_outside_{widest}") >= alert_after_days)
        .drop("_block")
    )
