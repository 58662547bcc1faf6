"""silver.payment — grain: one row per accepted payment event (event_id).

A payment changes the books on its UTC date. A refund (`status = refunded`) belongs to the
payment it refunds: a succeeded payment with the same `invoice_id` and currency, already in
Silver or accepted in the same batch; a refund without one is quarantined as
`ref:refunded_payment` (Gold attributes refunds to the refunded payment's plan, region and rate).
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from bronze.contracts import PaymentEvent
from silver.reference import with_fx_flag, with_known_flag
from silver.types import References, SilverEventType

REFUND_RULE = "ref:refunded_payment"


def books_date() -> Column:
    """Payments and refunds count on their own UTC date."""
    return F.col("event_date")


def with_references(df: DataFrame, refs: References) -> DataFrame:
    """Known-customer and FX lookups used by the reference rules."""
    return df.transform(
        lambda d: with_known_flag(d, refs.customers_df, "customer_id", "customers")
    ).transform(
        lambda d: with_fx_flag(
            d, refs.fx_daily_df, "event_date", refs.fx_max_staleness_days, F.lit(True)
        )
    )


def with_refund_rule(df: DataFrame, refs: References) -> DataFrame:
    """Quarantine refunds whose refunded payment is neither in Silver nor valid in the batch."""
    in_batch = df.filter(
        (F.col("status") == "succeeded") & (F.size("quarantine_rules") == 0)
    ).select("invoice_id", "currency")
    paid = (
        refs.paid_df.select("invoice_id", "currency")
        .unionByName(in_batch)
        .distinct()
        .withColumn("_paid", F.lit(True))
    )
    matched = df.join(paid, ["invoice_id", "currency"], "left")
    orphan = (F.col("status") == "refunded") & F.col("_paid").isNull()
    return matched.withColumn(
        "quarantine_rules",
        F.when(orphan, F.array_union("quarantine_rules", F.array(F.lit(REFUND_RULE)))).otherwise(
            F.col("quarantine_rules")
        ),
    ).drop("_paid")


SILVER = SilverEventType("payment", PaymentEvent, books_date, with_references, with_refund_rule)
