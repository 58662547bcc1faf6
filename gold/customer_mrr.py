"""Customer MRR timelines: the change points behind movements, churn and cohorts.

A point is a (customer, date) on which the customer's total MRR or attributes changed: an
effective date of any of its subscription changes, or the start of a new customer version
(`gold.dim_customer`). Each point carries the state that holds from that day on: total MRR
(the sum over the customer's subscriptions), region and segment as of the day, the state
before it, and whether the customer ever had MRR before. `with_states_as_of` reads the state
of every customer on given dates (month openings and closings).
"""

from __future__ import annotations

import datetime as dt

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from gold.dim_customer import with_customer_version
from gold.fx import MONEY


def to_customer_points(
    changes_df: DataFrame, dim_customer_df: DataFrame, end_date: dt.date
) -> DataFrame:
    """(customer_id, change_date, mrr_usd, region, customer_segment, prev_*, had_mrr, reason)."""
    per_sub = Window.partitionBy("subscription_id").orderBy("effective_date")
    sub_deltas = (
        changes_df.filter(F.col("effective_date") <= F.lit(end_date))
        .withColumn("_prev", F.coalesce(F.lag("mrr_usd").over(per_sub), F.lit(0).cast(MONEY)))
        .select(
            "customer_id",
            F.col("effective_date").alias("change_date"),
            (F.col("mrr_usd") - F.col("_prev")).alias("_delta"),
            F.when(F.col("status") == "cancelled", F.col("cancel_reason")).alias("_reason"),
        )
    )
    version_starts = dim_customer_df.filter(F.col("valid_from") <= F.lit(end_date)).select(
        "customer_id",
        F.col("valid_from").alias("change_date"),
        F.lit(0).cast(MONEY).alias("_delta"),
        F.lit(None).cast("string").alias("_reason"),
    )
    timeline = Window.partitionBy("customer_id").orderBy("change_date")
    points = (
        sub_deltas.unionByName(version_starts)
        .groupBy("customer_id", "change_date")
        .agg(F.sum("_delta").alias("_delta"), F.max("_reason").alias("cancel_reason"))
        .withColumn(
            "mrr_usd",
            F.sum("_delta").over(timeline.rowsBetween(Window.unboundedPreceding, 0)).cast(MONEY),
        )
        .transform(lambda d: with_customer_version(d, dim_customer_df, "change_date"))
        .withColumnRenamed("dim_region", "region")
        .withColumnRenamed("dim_customer_segment", "customer_segment")
    )
    before = timeline.rowsBetween(Window.unboundedPreceding, -1)
    return (
        points.withColumn(
            "prev_mrr_usd", F.coalesce(F.lag("mrr_usd").over(timeline), F.lit(0).cast(MONEY))
        )
        .withColumn("prev_region", F.lag("region").over(timeline))
        .withColumn(
            "had_mrr",
            F.coalesce(F.max((F.col("mrr_usd") > 0).cast("int")).over(before), F.lit(0)) == 1,
        )
        .select(
            "customer_id",
            "change_date",
            "mrr_usd",
            "region",
            "customer_segment",
            "prev_mrr_usd",
            "prev_region",
            "had_mrr",
            "cancel_reason",
        )
    )


def with_states_as_of(points_df: DataFrame, dates_df: DataFrame, date_col: str) -> DataFrame:
    """Every customer's state on each date of `dates_df[date_col]` (after that day's changes).

    Returns (customer_id, `date_col`, mrr_usd, region) for customers with a point on or
    before the date; later points do not count.
    """
    customers = points_df.select("customer_id").distinct()
    probes = customers.crossJoin(F.broadcast(dates_df.select(date_col).distinct())).select(
        "customer_id",
        F.col(date_col).alias("_day"),
        F.lit(1).alias("_order"),
        F.lit(None).cast(MONEY).alias("mrr_usd"),
        F.lit(None).cast("string").alias("region"),
    )
    states = points_df.select(
        "customer_id",
        F.col("change_date").alias("_day"),
        F.lit(0).alias("_order"),
        "mrr_usd",
        "region",
    )
    filled = (
        Window.partitionBy("customer_id")
        .orderBy("_day", "_order")
        .rowsBetween(Window.unboundedPreceding, Window.currentRow)
    )
    return (
        states.unionByName(probes)
        .withColumn("_mrr", F.last("mrr_usd", ignorenulls=True).over(filled))
        .withColumn("_region", F.last("region", ignorenulls=True).over(filled))
        .filter((F.col("_order") == 1) & F.col("_region").isNotNull())
        .select(
            "customer_id",
            F.col("_day").alias(date_col),
            F.col("_mrr").alias("mrr_usd"),
            F.col("_region").alias("region"),
        )
    )


def to_month_bounds(start: dt.date, end: dt.date) -> list[tuple[dt.date, dt.date, dt.date]]:
    """(month_start_date, opening_date, closing_date) of every month from `start` to `end`.

    The opening is the last day of the previous month; the closing is the month's last day,
    or `end` for the month that contains it.
    """
    months = []
    month = start.replace(day=1)
    while month <= end:
        next_month = (month + dt.timedelta(days=32)).replace(day=1)
        months.append(
            (
                month,
                month - dt.timedelta(days=1),
                min(next_month, end + dt.timedelta(days=1)) - dt.timedelta(days=1),
            )
        )
        month = next_month
    return months
