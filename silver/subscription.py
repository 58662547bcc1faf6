"""silver.subscription — grain: one row per accepted subscription event (event_id).

`effective_date` is resolved (defaults to the UTC date of `event_time`) and `rate_to_usd` is
the FX rate of that date, which Gold uses to fix the change's MRR in USD.
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from bronze.contracts import SubscriptionEvent
from silver.reference import with_fx_rate, with_known_flag

EVENT_TYPE = "subscription"
MODEL = SubscriptionEvent


def with_effective_date(df: DataFrame) -> DataFrame:
    """Resolve `effective_date` (scheduled changes keep theirs)."""
    return df.withColumn("effective_date", F.coalesce("effective_date", "event_date"))


def with_references(df: DataFrame, plans_df: DataFrame, fx_df: DataFrame) -> DataFrame:
    """Plan catalog and FX lookups used by the reference rules."""
    return (
        df.transform(with_effective_date)
        .transform(lambda d: with_known_flag(d, plans_df, "plan_id", "plans"))
        .transform(lambda d: with_fx_rate(d, fx_df, "effective_date"))
    )
