"""gold.dim_customer — grain: one row per customer version (SCD2 on segment, country, region).

A version starts on the business date of the first subscription event that carries a new
combination of attributes; `valid_to` is exclusive (9999-12-31 for the current version).
`customer_key` is a deterministic hash of (customer_id, valid_from), so rebuilds and
incremental runs produce the same keys.
"""

from __future__ import annotations

import datetime as dt

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

OPEN_END = dt.date(9999, 12, 31)
ATTRIBUTES = ("customer_segment", "customer_country", "region")


def to_dim_customer(subscription_df: DataFrame) -> DataFrame:
    """Collapse subscription events into customer attribute versions."""
    per_day = Window.partitionBy("customer_id", "event_date").orderBy(
        F.col("event_time").desc(), F.col("event_id").desc()
    )
    ordered = Window.partitionBy("customer_id").orderBy("event_date")
    daily = (
        subscription_df.withColumn("_rank", F.row_number().over(per_day))
        .filter("_rank = 1")
        .select("customer_id", "event_date", *ATTRIBUTES)
    )
    signature = F.concat_ws("|", *ATTRIBUTES)
    changed = (
        daily.withColumn("_sig", signature)
        .withColumn("_prev_sig", F.lag("_sig").over(ordered))
        .filter(F.col("_prev_sig").isNull() | (F.col("_sig") != F.col("_prev_sig")))
    )
    return (
        changed.withColumn("valid_from", F.col("event_date"))
        .withColumn(
            "valid_to",
            F.coalesce(F.lead("event_date").over(ordered), F.lit(OPEN_END)),
        )
        .withColumn("is_current", F.col("valid_to") == F.lit(OPEN_END))
        .withColumn("customer_key", F.xxhash64("customer_id", "valid_from"))
        .withColumn(
            "version",
            F.row_number().over(ordered).cast("int"),
        )
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
    """Attach the customer version valid on `date_column` (earliest version as fallback)."""
    dim = dim_customer_df.select(
        F.col("customer_id").alias("_cid"),
        "customer_key",
        F.col("customer_segment").alias("dim_customer_segment"),
        F.col("region").alias("dim_region"),
        "valid_from",
        "valid_to",
        "version",
    )
    valid = (df["customer_id"] == dim["_cid"]) & (
        (df[date_column] >= dim["valid_from"]) & (df[date_column] < dim["valid_to"])
        | ((dim["version"] == 1) & (df[date_column] < dim["valid_from"]))
    )
    return df.join(dim, valid, "left").drop("_cid", "valid_from", "valid_to", "version")
