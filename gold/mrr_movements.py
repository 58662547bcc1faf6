"""gold.mrr_movements_monthly — grain: month_start_date x region.

Movements are changes of each customer's total MRR between consecutive change points
(`gold.customer_mrr`), customer level (cancelling one of several subscriptions is
contraction), attributed to the customer's region as of the change:

- new: 0 -> > 0, the customer's first MRR; reactivation: 0 -> > 0 after having had MRR;
- expansion / contraction: up / down while staying > 0; churn: > 0 -> 0 (in the region the
  MRR was in);
- transfer: a customer with MRR who moves region moves that MRR: -prev in the old region,
  +prev in the new one (then any change of amount on that day is expansion/contraction in the
  new region). Transfers sum to zero across regions.

Contraction, churn and outgoing transfers are negative, so per region
``opening + new + expansion + contraction + churn + reactivation + transfer = closing``
exactly, and in total the same without transfers.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from gold.fx import MONEY

MOVEMENTS = ("new", "expansion", "contraction", "churn", "reactivation", "transfer")


def _movement(region: Column, kind: Column, amount: Column) -> Column:
    return F.struct(region.alias("region"), kind.alias("movement"), amount.alias("amount"))


def to_customer_movements(points_df: DataFrame) -> DataFrame:
    """(customer_id, change_date, month_start_date, region, movement, amount_usd) rows."""
    prev, cur = F.col("prev_mrr_usd"), F.col("mrr_usd")
    region, prev_region = F.col("region"), F.coalesce(F.col("prev_region"), F.col("region"))
    moved = (prev > 0) & (cur > 0) & (region != prev_region)
    change = F.when(cur > prev, F.lit("expansion")).otherwise(F.lit("contraction"))
    start = F.when(F.col("had_mrr"), F.lit("reactivation")).otherwise(F.lit("new"))
    items = (
        F.when(
            moved,
            F.array(
                _movement(prev_region, F.lit("transfer"), -prev),
                _movement(region, F.lit("transfer"), prev),
                _movement(region, change, cur - prev),
            ),
        )
        .when((prev == 0) & (cur > 0), F.array(_movement(region, start, cur)))
        .when((prev > 0) & (cur == 0), F.array(_movement(prev_region, F.lit("churn"), -prev)))
        .when(cur != prev, F.array(_movement(region, change, cur - prev)))
        .otherwise(F.array())
    )
    return (
        points_df.select("customer_id", "change_date", F.explode(items).alias("m"))
        .filter(F.col("m.amount") != 0)
        .select(
            "customer_id",
            "change_date",
            F.trunc("change_date", "month").cast("date").alias("month_start_date"),
            F.col("m.region").alias("region"),
            F.col("m.movement").alias("movement"),
            F.col("m.amount").cast(MONEY).alias("amount_usd"),
        )
    )


def to_mrr_movements_monthly(
    movements_df: DataFrame, month_states_df: DataFrame, months_df: DataFrame
) -> DataFrame:
    """Monthly bridge per region.

    `month_states_df` has (month_start_date, opening_mrr_usd, closing_mrr_usd, region-level
    sums) from `to_month_region_totals`; `months_df` has (month_start_date, region) for every
    month and region to publish.
    """
    sums = (
        movements_df.groupBy("month_start_date", "region")
        .pivot("movement", list(MOVEMENTS))
        .agg(F.sum("amount_usd"))
    )
    zero = F.lit(0).cast(MONEY)
    return (
        months_df.join(sums, ["month_start_date", "region"], "left")
        .join(month_states_df, ["month_start_date", "region"], "left")
        .select(
            "month_start_date",
            "region",
            F.coalesce("opening_mrr_usd", zero).cast(MONEY).alias("opening_mrr_usd"),
            *[F.coalesce(m, zero).cast(MONEY).alias(f"{m}_mrr_usd") for m in MOVEMENTS],
            F.coalesce("closing_mrr_usd", zero).cast(MONEY).alias("closing_mrr_usd"),
        )
    )


def to_month_region_totals(states_df: DataFrame, bounds_df: DataFrame) -> DataFrame:
    """Opening and closing MRR per month and region from customer states on the bounds.

    `states_df` is (customer_id, bound_date, mrr_usd, region); `bounds_df` has
    (month_start_date, opening_date, closing_date).
    """
    per_day = states_df.groupBy("bound_date", "region").agg(F.sum("mrr_usd").alias("_mrr"))
    opening = bounds_df.join(
        per_day.withColumnRenamed("bound_date", "opening_date"), "opening_date"
    ).select("month_start_date", "region", F.col("_mrr").alias("opening_mrr_usd"))
    closing = bounds_df.join(
        per_day.withColumnRenamed("bound_date", "closing_date"), "closing_date"
    ).select("month_start_date", "region", F.col("_mrr").alias("closing_mrr_usd"))
    return opening.join(closing, ["month_start_date", "region"], "full_outer")
