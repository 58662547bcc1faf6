"""silver.subscription — grain: one row per accepted subscription event (event_id).

`effective_date` is resolved (defaults to the UTC date of `event_time`; a later date schedules
the change) and is the date the event changes the books. The FX rule applies only to states
that carry MRR; a scheduled change dated after the last published rate is accepted and
converted by Gold with the rate in force when it takes effect.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from bronze.contracts import SubscriptionEvent
from silver.reference import with_fx_flag, with_known_flag
from silver.types import References, SilverEventType

MRR_ACTIONS = ("activated", "upgraded", "downgraded", "renewed", "reactivated")


def books_date() -> Column:
    """The change takes effect (and changes MRR) on its effective date."""
    return F.coalesce(F.col("effective_date"), F.col("event_date"))


def with_effective_date(df: DataFrame) -> DataFrame:
    """Resolve `effective_date` (scheduled changes keep theirs)."""
    return df.withColumn("effective_date", F.coalesce("effective_date", "event_date"))


def with_references(df: DataFrame, refs: References) -> DataFrame:
    """Plan catalog and FX lookups used by the reference rules."""
    return (
        df.transform(with_effective_date)
        .transform(lambda d: with_known_flag(d, refs.plans_df, "plan_id", "plans"))
        .transform(
            lambda d: with_fx_flag(
                d,
                refs.fx_daily_df,
                "effective_date",
                refs.fx_max_staleness_days,
                carries_money=F.col("action").isin(*MRR_ACTIONS),
                is_scheduled=F.col("effective_date") > F.col("event_date"),
            )
        )
    )


SILVER = SilverEventType("subscription", SubscriptionEvent, books_date, with_references)
