"""Deduplication on `event_id` within a batch and against what Silver already holds.

Outcomes per candidate row (rows that passed every quarantine rule):
- `valid`: the first accepted version of its event_id;
- `duplicate`: same event_id and same payload hash as the accepted version (dropped, counted);
- `conflicting_duplicate`: same event_id, different payload (quarantined; first version wins);
- `already_processed`: the very same Bronze line is already in Silver (a rerun after a crash).
"First" is the arrival order: received_at, then object key, then line number.
"""

from __future__ import annotations

from collections.abc import Sequence

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

ARRIVAL_ORDER = ("received_at", "source_object_key", "line_number")


def with_dedup_outcome(
    candidates_df: DataFrame,
    existing_df: DataFrame | None,
    groups: Sequence[str] = (),
    *,
    is_few: bool = False,
) -> DataFrame:
    """Add `dedup_outcome` to candidate rows given Silver's (event_id, hash, lineage) rows.

    `groups`: further columns that split an event_id's rows into groups deduplicated apart
    (`silver.events.with_classification` keeps rule failures out of the candidates' group).

    `existing_df` None means Silver holds nothing yet (a first build or a rebuild): rows are
    only compared with each other, without joining an empty table (Spark cannot see that a
    frame built from an empty Python list is empty, and at 3.3M events the join's distinct
    ids alone took 12 s; docs/benchmarks.md, issue 18).

    `is_few`: the candidates are a small batch, so their ids are broadcast to the join with
    Silver whatever the planner estimates (a small run plans without adaptive execution, which
    would otherwise shuffle all of Silver's key columns; `jobs.spark.SMALL_RUN_CONF`).
    """
    if existing_df is None:
        joined = candidates_df.select(  # the join's column order: its key first
            "event_id",
            *[c for c in candidates_df.columns if c != "event_id"],
            F.lit(None).cast("string").alias("_existing_hash"),
            F.lit(None).cast("string").alias("_existing_key"),
            F.lit(None).cast("long").alias("_existing_line"),
        )
    else:
        # only Silver rows sharing an event_id with a candidate can match: the semi join keeps
        # the whole table out of the shuffle (a broadcast of the candidates' ids on a daily
        # batch)
        ids_df = candidates_df.select("event_id").distinct()
        existing = existing_df.join(
            F.broadcast(ids_df) if is_few else ids_df, "event_id", "left_semi"
        ).select(
            "event_id",
            F.col("payload_hash").alias("_existing_hash"),
            F.col("source_object_key").alias("_existing_key"),
            F.col("line_number").alias("_existing_line"),
        )
        joined = candidates_df.join(existing, "event_id", "left")
    first = Window.partitionBy("event_id", *groups).orderBy(*ARRIVAL_ORDER)
    same_line = (F.col("_existing_key") == F.col("source_object_key")) & (
        F.col("_existing_line") == F.col("line_number")
    )
    first_hash = F.first("payload_hash").over(first)
    rank = F.row_number().over(first)
    outcome = (
        F.when(F.col("_existing_hash").isNotNull() & same_line, F.lit("already_processed"))
        .when(F.col("_existing_hash") == F.col("payload_hash"), F.lit("duplicate"))
        .when(F.col("_existing_hash").isNotNull(), F.lit("conflicting_duplicate"))
        .when(F.col("_rank") == 1, F.lit("valid"))
        .when(F.col("_first_hash") == F.col("payload_hash"), F.lit("duplicate"))
        .otherwise(F.lit("conflicting_duplicate"))
    )
    return (
        joined.withColumn("_rank", rank)
        .withColumn("_first_hash", first_hash)
        .withColumn("dedup_outcome", outcome)
        .drop("_existing_hash", "_existing_key", "_existing_line", "_rank", "_first_hash")
    )
