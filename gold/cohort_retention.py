"""gold.cohort_retention — grain: cohort_month x months_since_signup.

A customer's cohort is the month of their first day with MRR; they are retained in a later
month when they have MRR at that month's close (its last day, or the as-of date). Rows are
keyed by the measured month too (`month_start_date`), so an incremental run replaces exactly
the measured months it rebuilt: a change on date d can only move cohorts from d's month on.
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F


def to_cohort_retention(
    points_df: DataFrame, states_df: DataFrame, bounds_df: DataFrame
) -> DataFrame:
    """Cohort sizes and retained customers for the measured months of `bounds_df`.

    `states_df` is (customer_id, bound_date, mrr_usd, region) on the closing dates of
    `bounds_df` (month_start_date, opening_date, closing_date).
    """
    first = (
        points_df.filter(F.col("mrr_usd") > 0)
        .groupBy("customer_id")
        .agg(F.trunc(F.min("change_date"), "month").cast("date").alias("cohort_month"))
    )
    sizes = first.groupBy("cohort_month").agg(F.count("*").alias("cohort_customers"))
    measured = bounds_df.select("month_start_date", "closing_date")
    retained = (
        states_df.filter(F.col("mrr_usd") > 0)
        .join(measured, states_df["bound_date"] == measured["closing_date"])
        .join(first, "customer_id")
        .groupBy("cohort_month", "month_start_date")
        .agg(F.count("*").alias("retained_customers"))
    )
    grid = sizes.join(measured, F.col("month_start_date") >= F.col("cohort_month"))
    return (
        grid.join(retained, ["cohort_month", "month_start_date"], "left")
        .select(
            "cohort_month",
            F.months_between("month_start_date", "cohort_month")
            .cast("int")
            .alias("months_since_signup"),
            "month_start_date",
            F.col("cohort_customers").cast("long").alias("cohort_customers"),
            F.coalesce("retained_customers", F.lit(0)).cast("long").alias("retained_customers"),
        )
        .withColumn("retention_rate", F.col("retained_customers") / F.col("cohort_customers"))
    )
