"""gold.dim_customer — grain: one row per customer version (SCD2 on segment, country, region).

A version starts on the effective date of the first subscription event that carries a new
combination of attributes (the day the change applies; several events on one day: the last by
event_time wins); `valid_to` is exclusive (9999-12-31 for the current version). `customer_key`
is a deterministic hash of (customer_id, valid_from), so rebuilds and incremental runs produce
the same keys. A customer who moves region gets a new version from the move's effective date:
MRR follows the customer's attributes as of each date.
"""

from __future__ import annotations

import datetime as dt

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

OPEN_END = dt.date(9999, 12, 31)
ATTRIBUTES = ("customer_segment", "customer_country", "region")


def to_dim_customer(subscription_df: DataFrame) -> DataFrame:
    """Collapse subscription events into customer attribute versions."""
    day = F.coalesce("effective_date", "event_date")
    per_day = Window.partitionBy("customer_id", "_day").orderBy(
        F.col("event_time").desc(), F.col("event_id").desc()
    )
    ordered = Window.partitionBy("customer_id").orderBy("_day")
    daily = (
        subscription_df.withColumn("_day", day)
        .withColumn("_rank", F.row_number().over(per_day))
        .filter("_rank = 1")
        .select("customer_id", "_day", *ATTRIBUTES)
    )
    signature = F.concat_ws("|", *ATTRIBUTES)
    changed = (
        daily.withColumn("_sig", signature)
        .withColumn("_prev_sig", F.lag("_sig").over(ordered))
        .filter(F.col("_prev_sig").isNull() | (F.col("_sig") != F.col("_prev_sig")))
    )
    return (
        changed.withColumn("valid_from", F.col("_day"))
        .withColumn("valid_to", F.coalesce(F.lead("_day").over(ordered), F.lit(OPEN_END)))
        .withColumn("is_current", F.col("valid_to") == F.lit(OPEN_END))
        .withColumn("customer_key", F.xxhash64("customer_id", "valid_from"))
        .withColumn("version", F.row_number().over(ordered).cast("int"))
        .select(
            "customer_key",
            "customer_id",
            *ATTRIBUTES,
            "valid_from",
            "valid_to",
            "is_current",
            "version",
        )
    )


def with_customer_version(df: DataFrame, dim_customer_df: DataFrame, date_column: str) -> DataFrame:
    """Attach the customer version valid on `date_column` (the first version before it starts).

    Adds `customer_key`, `dim_region` and `dim_customer_segment`.
    """
    dim = dim_customer_df.select(
        F.col("customer_id").alias("_cid"),
        "customer_key",
        F.col("customer_segment").alias("dim_customer_segment"),
        F.col("region").alias("dim_region"),
        F.col("valid_from").alias("_valid_from"),
        F.col("valid_to").alias("_valid_to"),
        F.col("version").alias("_version"),
    )
    day = df[date_column]
    valid = (df["customer_id"] == dim["_cid"]) & (
        ((day >= dim["_valid_from"]) & (day < dim["_valid_to"]))
        | ((dim["_version"] == 1) & (day < dim["_valid_from"]))
    )
    return df.join(dim, valid, "left").drop("_cid", "_valid_from", "_valid_to", "_version")
