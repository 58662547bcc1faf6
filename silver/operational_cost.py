"""silver.operational_cost — grain: one row per accepted cost event (event_id).

`amount_usd` is converted at the FX rate of `incurred_date`; credits stay negative.
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from bronze.contracts import OperationalCostEvent
from silver.reference import to_usd, with_fx_rate

EVENT_TYPE = "operational_cost"
MODEL = OperationalCostEvent


def with_references(df: DataFrame, fx_df: DataFrame) -> DataFrame:
    """FX lookup of the incurred date."""
    return df.transform(lambda d: with_fx_rate(d, fx_df, "incurred_date"))


def with_usd(df: DataFrame) -> DataFrame:
    """Add `amount_usd`."""
    return df.withColumn("amount_usd", to_usd(F.col("amount"), F.col("rate_to_usd")))
