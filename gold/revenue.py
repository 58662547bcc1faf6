"""Payments enriched for `gold.revenue_daily`: customer version, plan, region and USD.

A payment (succeeded or failed) is attributed on its own date: the customer's version and
region of that day, the plan its subscription held at that day's end, the FX rate in force.
A refund is dated on the refund day but belongs to the payment it refunds (the succeeded
payment of the same `invoice_id` and currency; the latest one at or before the refund, else
the earliest): that payment's customer version, region, plan and FX rate, so a full refund
nets to exactly zero everywhere and a partial refund converts at the same rate.
"""

from __future__ import annotations

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from gold.dim_customer import with_customer_version
from gold.fx import to_usd
from gold.subscriptions_snapshot import with_plan_on_date
from silver.reference import with_rate_on


def with_refunded_payment(payments_df: DataFrame, paid_df: DataFrame) -> DataFrame:
    """Add `attr_date` and `attr_subscription_id`: the refunded payment's, else the row's own.

    `paid_df` holds every succeeded payment (invoice_id, currency, event_time, event_id,
    event_date, subscription_id).
    """
    originals = paid_df.select(
        F.col("invoice_id").alias("_inv"),
        F.col("currency").alias("_cur"),
        F.col("event_time").alias("_paid_at"),
        F.col("event_id").alias("_paid_id"),
        F.col("event_date").alias("_paid_date"),
        F.col("subscription_id").alias("_paid_sub"),
    )
    refunds = payments_df.filter(F.col("status") == "refunded")
    candidates = refunds.select("event_id", "invoice_id", "currency", "event_time").join(
        originals,
        (F.col("invoice_id") == F.col("_inv")) & (F.col("currency") == F.col("_cur")),
    )
    is_before = F.col("_paid_at") <= F.col("event_time")
    preference = Window.partitionBy("event_id").orderBy(
        is_before.desc(),
        F.when(is_before, F.col("_paid_at")).desc_nulls_last(),
        F.when(is_before, F.col("_paid_id")).desc_nulls_last(),
        F.col("_paid_at").asc(),
        F.col("_paid_id").asc(),
    )
    chosen = (
        candidates.withColumn("_rank", F.row_number().over(preference))
        .filter("_rank = 1")
        .select("event_id", "_paid_date", "_paid_sub")
    )
    return (
        payments_df.join(chosen, "event_id", "left")
        .withColumn("attr_date", F.coalesce("_paid_date", "event_date"))
        .withColumn("attr_subscription_id", F.coalesce("_paid_sub", "subscription_id"))
        .drop("_paid_date", "_paid_sub")
    )


def to_payment_facts(
    payments_df: DataFrame,
    paid_df: DataFrame,
    changes_df: DataFrame,
    dim_customer_df: DataFrame,
    fx_daily_df: DataFrame,
) -> DataFrame:
    """Payments with revenue_date, customer_key, region, plan_id, amount_usd."""
    enriched = (
        payments_df.transform(lambda d: with_refunded_payment(d, paid_df))
        .transform(lambda d: with_customer_version(d, dim_customer_df, "attr_date"))
        .withColumn("_payment_sub", F.col("subscription_id"))
        .withColumn("subscription_id", F.col("attr_subscription_id"))
        .transform(lambda d: with_plan_on_date(d, changes_df, "attr_date"))
        .withColumn("subscription_id", F.col("_payment_sub"))
        .transform(lambda d: with_rate_on(d, fx_daily_df, "attr_date", prefix="_fx_"))
    )
    return enriched.select(
        F.col("event_date").alias("revenue_date"),
        "customer_id",
        "customer_key",
        F.coalesce("dim_region", F.lit("UNKNOWN")).alias("region"),
        "plan_id",
        "currency",
        "status",
        "amount",
        to_usd(F.col("amount"), F.col("_fx_rate_to_usd")).alias("amount_usd"),
    )
