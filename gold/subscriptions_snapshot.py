"""gold.subscriptions_snapshot — grain: one row per subscription per day while it lives.

A subscription has a row on every day from its first effective change until the day it is
cancelled (that day included, status `cancelled`, MRR 0); a reactivation starts rows again.
Rows run through the as-of date, so quiet days carry the state forward and a change scheduled
for a later date applies on that date. Changes are netted per day: the last event of an
effective date (by event_time) wins. MRR = round_half_up(quantity * unit_price * rate /
(12 if annual), 4) at the FX rate in force on the change's effective date; trials and
cancellations carry no MRR (DESIGN.md section 4). Region and segment are the customer's as of
each day (`gold.dim_customer`).
"""

from __future__ import annotations

import datetime as dt

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from gold.dim_customer import with_customer_version
from gold.fx import MONEY, mrr_usd
from silver.reference import with_rate_on

ACTIVE_ACTIONS = ("activated", "upgraded", "downgraded", "renewed", "reactivated")


def to_subscription_changes(subscription_df: DataFrame, fx_daily_df: DataFrame) -> DataFrame:
    """One row per subscription and effective date: the state that holds from that date."""
    last_of_day = Window.partitionBy("subscription_id", "effective_date").orderBy(
        F.col("event_time").desc(), F.col("event_id").desc()
    )
    timeline = Window.partitionBy("subscription_id").orderBy("effective_date")
    is_active = F.col("action").isin(*ACTIVE_ACTIONS)
    mrr = mrr_usd(F.col("quantity"), F.col("unit_price"), F.col("billing_period"), F.col("rate"))
    return (
        subscription_df.withColumn("_rank", F.row_number().over(last_of_day))
        .filter("_rank = 1")
        .transform(lambda d: with_rate_on(d, fx_daily_df, "effective_date", prefix="_fx_"))
        .withColumnRenamed("_fx_rate_to_usd", "rate")
        .withColumn("is_active", is_active)
        .withColumn(
            "status",
            F.when(is_active, F.lit("active"))
            .when(F.col("action") == "trial_started", F.lit("trial"))
            .otherwise(F.lit("cancelled")),
        )
        .withColumn("mrr_usd", F.when(is_active, mrr).otherwise(F.lit(0).cast(MONEY)))
        .withColumn("next_change_date", F.lead("effective_date").over(timeline))
        .select(
            "subscription_id",
            "customer_id",
            "plan_id",
            "region",
            "customer_segment",
            "action",
            "status",
            "is_active",
            "quantity",
            "billing_period",
            "currency",
            "mrr_usd",
            "cancel_reason",
            "effective_date",
            "next_change_date",
        )
    )


def with_plan_on_date(df: DataFrame, changes_df: DataFrame, date_col: str) -> DataFrame:
    """Add `plan_id`: the plan the row's subscription held on `date_col` (end-of-day state).

    Rows dated before the subscription's first change take its first plan; rows without a
    known subscription get `unassigned`.
    """
    spans_df = changes_df.select(
        "subscription_id",
        F.col("plan_id").alias("_span_plan_id"),
        F.col("effective_date").alias("_span_start"),
        F.col("next_change_date").alias("_span_end"),
    )
    first_df = changes_df.groupBy("subscription_id").agg(
        F.min_by("plan_id", "effective_date").alias("_first_plan_id")
    )
    day = F.col(date_col)
    in_span = (
        (df["subscription_id"] == spans_df["subscription_id"])
        & (day >= F.col("_span_start"))
        & (F.col("_span_end").isNull() | (day < F.col("_span_end")))
    )
    return (
        df.join(spans_df, in_span, "left")
        .drop(spans_df["subscription_id"])
        .join(first_df, "subscription_id", "left")
        .withColumn(
            "plan_id",
            F.coalesce("_span_plan_id", "_first_plan_id", F.lit("unassigned")),
        )
        .drop("_span_plan_id", "_span_start", "_span_end", "_first_plan_id")
    )


def to_subscriptions_snapshot(
    changes_df: DataFrame,
    dim_customer_df: DataFrame,
    start_date: dt.date,
    end_date: dt.date,
) -> DataFrame:
    """Daily rows between `start_date` and `end_date` (inclusive)."""
    last_day = F.least(
        F.coalesce(F.date_sub("next_change_date", 1), F.lit(end_date)), F.lit(end_date)
    )
    first_day = F.greatest(F.col("effective_date"), F.lit(start_date))
    span_end = F.when(F.col("status") == "cancelled", F.least(F.col("effective_date"), last_day))
    span_end = span_end.otherwise(last_day)
    exploded = (
        changes_df.filter(F.col("effective_date") <= F.lit(end_date))
        .withColumn("_from", first_day)
        .withColumn("_to", span_end)
        .filter(F.col("_from") <= F.col("_to"))
        .withColumn("snapshot_date", F.explode(F.sequence("_from", "_to")))
    )
    return (
        exploded.transform(lambda d: with_customer_version(d, dim_customer_df, "snapshot_date"))
        .withColumn("date_key", F.date_format("snapshot_date", "yyyyMMdd").cast("int"))
        .withColumn("plan_key", F.xxhash64("plan_id"))
        .select(
            "snapshot_date",
            "date_key",
            "subscription_id",
            "customer_id",
            "customer_key",
            "plan_id",
            "plan_key",
            F.coalesce("dim_region", "region").alias("region"),
            F.coalesce("dim_customer_segment", "customer_segment").alias("customer_segment"),
            "status",
            "is_active",
            "quantity",
            "billing_period",
            "mrr_usd",
            F.col("effective_date").alias("state_since_date"),
        )
    )
