"""The monthly marts from one set of customer states: movements, churn and cohorts.

All three read the same customer change points (`gold.customer_mrr`) and the customer states
on each month's opening and closing date, so the bridge, churn and retention agree exactly.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, replace

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from gold.churn import to_churn_monthly
from gold.cohort_retention import to_cohort_retention
from gold.customer_mrr import to_customer_points, to_month_bounds, with_states_as_of
from gold.mrr_movements import (
    to_customer_movements,
    to_month_region_totals,
    to_mrr_movements_monthly,
)


@dataclass(frozen=True)
class MonthStates:
    """Month bounds, customer change points and customer states on every bound date."""

    bounds_df: DataFrame
    points_df: DataFrame
    states_df: DataFrame

    def map(self, fn: Callable[[DataFrame], DataFrame]) -> MonthStates:
        """The same states with `fn` applied to points and states (e.g. a checkpoint)."""
        return replace(self, points_df=fn(self.points_df), states_df=fn(self.states_df))


def to_month_states(
    changes_df: DataFrame, dim_customer_df: DataFrame, month_start: dt.date, end: dt.date
) -> MonthStates:
    """Bounds of the months from `month_start` (the last closes on the as-of date `end`), the
    customer points through `end` and the customer states on each opening and closing date."""
    spark = changes_df.sparkSession
    bounds_df = spark.createDataFrame(
        to_month_bounds(month_start, end),
        "month_start_date date, opening_date date, closing_date date",
    )
    dates_df = bounds_df.select(F.col("opening_date").alias("bound_date")).unionByName(
        bounds_df.select(F.col("closing_date").alias("bound_date"))
    )
    points_df = to_customer_points(changes_df, dim_customer_df, end)
    return MonthStates(bounds_df, points_df, with_states_as_of(points_df, dates_df, "bound_date"))


def to_monthly_marts(
    states: MonthStates, regions_df: DataFrame, month_start: dt.date
) -> dict[str, DataFrame]:
    """`mrr_movements_monthly`, `churn_monthly`, `cohort_retention` for months from `month_start`.

    Each mart reads `states` several times: materialise them first (the Gold job checkpoints
    them) or they are recomputed per use.
    """
    bounds_df, points_df, states_df = states.bounds_df, states.points_df, states.states_df
    months_df = bounds_df.select("month_start_date").crossJoin(regions_df.select("region"))
    movements_df = to_customer_movements(points_df).filter(
        F.col("month_start_date") >= F.lit(month_start)
    )
    return {
        "mrr_movements_monthly": to_mrr_movements_monthly(
            movements_df, to_month_region_totals(states_df, bounds_df), months_df
        ),
        "churn_monthly": to_churn_monthly(points_df, states_df, bounds_df, months_df),
        "cohort_retention": to_cohort_retention(points_df, states_df, bounds_df),
    }
