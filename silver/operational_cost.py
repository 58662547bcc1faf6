"""silver.operational_cost — grain: one row per accepted cost event (event_id).

A cost changes the books on its `incurred_date`, which is what lateness is judged on; Gold
converts it at the FX rate in force on that date. Credits stay negative.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from bronze.contracts import OperationalCostEvent
from silver.reference import with_fx_flag
from silver.types import References, SilverEventType


def books_date() -> Column:
    """A cost belongs to the day it was incurred."""
    return F.col("incurred_date")


def with_references(df: DataFrame, refs: References) -> DataFrame:
    """FX lookup of the incurred date."""
    return with_fx_flag(
        df, refs.fx_daily_df, "incurred_date", refs.fx_max_staleness_days, F.lit(True)
    )


SILVER = SilverEventType("operational_cost", OperationalCostEvent, books_date, with_references)
