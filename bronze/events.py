"""bronze.events — grain: one row per landed line (event or malformed line), append-only.

Pure transforms that turn raw landing lines into Bronze rows with lineage. Nothing is dropped
here except empty lines; lines that are not UTF-8 or not a JSON object are kept with
``is_parse_error`` and a reason, for Silver to quarantine.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

BRONZE_COLUMNS: tuple[str, ...] = (
    "event_id",
    "event_type",
    "event_time_raw",
    "schema_version_raw",
    "payload",
    "payload_hash",
    "is_parse_error",
    "parse_error",
    "source",
    "source_object_key",
    "line_number",
    "received_at",
    "received_date",
    "batch_id",
    "ingested_at",
)

_MAP = "map<string,string>"


def lines_from_objects(objects_df: DataFrame) -> DataFrame:
    """Split whole objects (`key`, `content` binary) into lines, flagging invalid UTF-8.

    Spark's string functions silently replace invalid bytes with U+FFFD, so validity is read
    on the whole object first; in an invalid object, the lines holding a replacement
    character are the invalid ones.
    """
    text = F.col("content").cast("string")
    return (
        objects_df.select(
            "key",
            F.is_valid_utf8(text).alias("is_object_utf8"),
            F.make_valid_utf8(text).alias("text"),
        )
        .select("key", "is_object_utf8", F.posexplode(F.split("text", "\n")).alias("pos", "line"))
        .withColumn("line", F.regexp_replace("line", "\r$", ""))
        .filter(F.length(F.trim("line")) > 0)
        .select(
            "key",
            (F.col("pos") + 1).cast("long").alias("line_number"),
            "line",
            (F.col("is_object_utf8") | (F.instr("line", "\ufffd") == 0)).alias("is_utf8"),
        )
    )


def _canonical_hash(payload_map: Column, raw: Column) -> Column:
    # entries sorted by key (keys are unique): `sort_array` compares structs natively, where
    # `array_sort` calls a comparator lambda per comparison (same order, 7.3 -> 5.6 s per
    # 1.5M payloads; docs/benchmarks.md, issue 18)
    canonical = F.to_json(F.sort_array(F.map_entries(payload_map)))
    return F.sha2(F.when(payload_map.isNotNull(), canonical).otherwise(raw), 256)


def with_bronze_envelope(lines_df: DataFrame) -> DataFrame:
    """Parse the envelope of each line (`line`, `is_utf8`) and flag encoding/JSON errors."""
    is_utf8 = F.col("is_utf8")
    parsed = F.when(is_utf8, F.from_json("line", _MAP, {"mode": "PERMISSIVE"}))
    return (
        lines_df.withColumn("payload", F.col("line"))
        .withColumn("_map", parsed)
        .withColumn(
            "parse_error",
            F.when(~is_utf8, F.lit("invalid_utf8"))
            .when(F.col("_map").isNull(), F.lit("invalid_json"))
            .otherwise(F.lit(None).cast("string")),
        )
        .withColumn("is_parse_error", F.col("parse_error").isNotNull())
        .withColumn("event_id", F.col("_map")["event_id"])
        .withColumn("event_time_raw", F.col("_map")["event_time"])
        .withColumn("schema_version_raw", F.col("_map")["schema_version"])
        .withColumn("payload_hash", _canonical_hash(F.col("_map"), F.col("payload")))
        .drop("_map", "line", "is_utf8")
    )


def with_lineage(df: DataFrame, batch_id: str) -> DataFrame:
    """Attach batch id and ingestion time, and order columns as in `bronze.events`."""
    return (
        df.withColumn("batch_id", F.lit(batch_id))
        .withColumn("ingested_at", F.current_timestamp())
        .select(*BRONZE_COLUMNS)
    )
