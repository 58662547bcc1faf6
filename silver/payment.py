"""silver.payment — grain: one row per accepted payment event (event_id).

`amount_usd` is the amount converted at the FX rate of the event's UTC date.
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from bronze.contracts import PaymentEvent
from silver.reference import to_usd, with_fx_rate, with_known_flag

EVENT_TYPE = "payment"
MODEL = PaymentEvent


def with_references(df: DataFrame, customers_df: DataFrame, fx_df: DataFrame) -> DataFrame:
    """Known-customer and FX lookups used by the reference rules."""
    return df.transform(
        lambda d: with_known_flag(d, customers_df, "customer_id", "customers")
    ).transform(lambda d: with_fx_rate(d, fx_df, "event_date"))


def with_usd(df: DataFrame) -> DataFrame:
    """Add `amount_usd`."""
    return df.withColumn("amount_usd", to_usd(F.col("amount"), F.col("rate_to_usd")))
