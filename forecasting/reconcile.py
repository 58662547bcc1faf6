"""Hierarchy reconciliation: region (and plan) forecasts sum to the total forecast, per day.

Method: proportional top-down with forecast proportions. The total series keeps its own
champion forecast; every child of a level (all regions, or all plans) is multiplied by
``factor = total_point / sum(child_point)`` for that metric, level and day, so the children's
points sum to the total's point. The child's interval bounds are multiplied by the same factor,
which keeps each child's ordering (lo95 <= lo80 <= point <= hi80 <= hi95) and relative width.

Interval caveat: quantiles are not additive. The reconciled child bounds do not sum to the
total's bounds (the sum of child 95 % bounds is wider than the total's unless the children are
perfectly correlated), and their coverage is the base model's coverage rescaled, not a
guarantee. Only points are coherent; use the total's own interval for the total.

When the children sum to zero or the factor would be negative (e.g. a refund-heavy day), the
total is split equally and each child's bounds are shifted with its point.

For decimal outputs `with_decimal_values` rounds to the money scale and puts the rounding
residual on the largest child so that decimal sums still match the total exactly.
"""

from __future__ import annotations

from collections.abc import Sequence

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

GROUP_COLUMNS: tuple[str, ...] = ("metric", "level", "forecast_date")


def bound_columns(levels: Sequence[int]) -> list[str]:
    """`lo_80, hi_80, lo_95, hi_95` for levels (80, 95)."""
    return [f"{side}_{lv}" for lv in levels for side in ("lo", "hi")]


def with_reconciled_forecasts(forecast_df: DataFrame, levels: Sequence[int]) -> DataFrame:
    """Scale non-total levels so their points sum to the total (keeps `base_point`)."""
    bounds = bound_columns(levels)
    totals_df = forecast_df.where(F.col("level") == "total").select(
        "metric", "forecast_date", F.col("point").alias("_total_point")
    )
    by_group = Window.partitionBy(*GROUP_COLUMNS)
    joined_df = (
        forecast_df.withColumn("_child_sum", F.sum("point").over(by_group))
        .withColumn("_children", F.count(F.lit(1)).over(by_group))
        .join(totals_df, ["metric", "forecast_date"], "left")
    )
    is_child = (F.col("level") != "total") & F.col("_total_point").isNotNull()
    ratio = F.col("_total_point") / F.col("_child_sum")
    is_scalable = (F.col("_child_sum") != 0) & (ratio > 0)
    equal_share = F.col("_total_point") / F.col("_children")
    new_point = F.when(is_scalable, F.col("point") * ratio).otherwise(equal_share)

    def adjust(name: str) -> Column:
        shifted = F.col(name) + (equal_share - F.col("point"))
        value = F.when(is_scalable, F.col(name) * ratio).otherwise(shifted)
        return F.when(is_child, value).otherwise(F.col(name))

    return joined_df.select(
        *[c for c in forecast_df.columns if c not in ("point", *bounds)],
        F.col("point").alias("base_point"),
        F.when(is_child, new_point).otherwise(F.col("point")).alias("point"),
        *[adjust(c).alias(c) for c in bounds],
    )


def with_decimal_values(
    forecast_df: DataFrame, levels: Sequence[int], precision: int = 18, scale: int = 4
) -> DataFrame:
    """Round values to decimal(precision, scale); the point residual goes to the largest child."""
    money = T.DecimalType(precision, scale)
    value_cols = ["base_point", "point", *bound_columns(levels)]
    value_cols = [c for c in value_cols if c in forecast_df.columns]
    rounded_df = forecast_df.select(
        *[c for c in forecast_df.columns if c not in value_cols],
        *[F.round(F.col(c), scale).cast(money).alias(c) for c in value_cols],
        F.abs(F.col("point").cast("double")).alias("_size"),
    )
    totals_df = rounded_df.where(F.col("level") == "total").select(
        "metric", "forecast_date", F.col("point").alias("_total_point")
    )
    by_group = Window.partitionBy(*GROUP_COLUMNS)
    largest_first = by_group.orderBy(F.col("_size").desc(), F.col("unique_id").asc())
    fixed_df = (
        rounded_df.join(totals_df, ["metric", "forecast_date"], "left")
        .withColumn("_residual", F.col("_total_point") - F.sum("point").over(by_group))
        .withColumn("_rank", F.row_number().over(largest_first))
    )
    takes_residual = (
        (F.col("level") != "total") & (F.col("_rank") == 1) & F.col("_residual").isNotNull()
    )
    point = F.when(takes_residual, F.col("point") + F.col("_residual")).otherwise(F.col("point"))
    return fixed_df.select(
        *[
            c if c != "point" else point.cast(money).alias("point")
            for c in rounded_df.columns
            if c != "_size"
        ]
    )
