"""silver.usage — grain: one row per accepted usage event (event_id)."""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from bronze.contracts import UsageEvent
from silver.types import References, SilverEventType


def books_date() -> Column:
    """Usage counts on the UTC date of its reading."""
    return F.col("event_date")


def with_references(df: DataFrame, refs: References) -> DataFrame:
    """Usage has no reference lookups."""
    return df


SILVER = SilverEventType("usage", UsageEvent, books_date, with_references)
