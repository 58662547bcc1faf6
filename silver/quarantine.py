"""silver.quarantine — grain: one row per rejected landing line (quarantine_id).

Every rejected row keeps its raw payload, all the rules it broke (`failed_rules`, the first one
as `reason`) and its landing lineage, so it can be corrected and replayed.
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

QUARANTINE_COLUMNS: tuple[str, ...] = (
    "quarantine_id",
    "event_type",
    "event_id",
    "failed_rules",
    "reason",
    "payload",
    "payload_hash",
    "source",
    "source_object_key",
    "line_number",
    "received_at",
    "received_date",
    "batch_id",
    "silver_run_id",
    "quarantined_at",
)


def to_quarantine_rows(df: DataFrame, rules_col: str, run_id: str) -> DataFrame:
    """Quarantine rows from rejected rows whose failed rule names are in `rules_col`."""
    return (
        df.withColumn(
            "quarantine_id",
            F.sha2(F.concat_ws("#", "source_object_key", F.col("line_number").cast("string")), 256),
        )
        .withColumn("failed_rules", F.col(rules_col))
        .withColumn("reason", F.element_at(F.col(rules_col), 1))
        .withColumn("silver_run_id", F.lit(run_id))
        .withColumn("quarantined_at", F.current_timestamp())
        .select(*QUARANTINE_COLUMNS)
    )


def with_malformed_rules(bronze_df: DataFrame) -> DataFrame:
    """Bronze parse errors as the rule `malformed:<reason>` in `_rules`."""
    return bronze_df.withColumn(
        "_rules", F.array(F.concat(F.lit("malformed:"), F.col("parse_error")))
    )


def with_conflict_rules(df: DataFrame) -> DataFrame:
    """Conflicting duplicates as the rule `conflicting_duplicate` in `_rules`."""
    return df.withColumn("_rules", F.array(F.lit("conflicting_duplicate")))
