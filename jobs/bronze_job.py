"""Bronze job: land new landing objects into `bronze.events`, exactly once.

The processed-objects log is the Bronze table itself (its `source_object_key` column): an
object's rows and its "processed" mark are committed in the same Delta transaction, so a job
killed mid-write leaves either nothing or whole objects behind, and a rerun appends exactly the
missing objects. Objects are processed in chunks of `bronze_chunk_objects`, each chunk one
commit. Which objects Bronze holds is read from its index, `ops.bronze_objects`, when the
Delta log proves the index current (see jobs/bronze_objects.py), else from Bronze's data.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T
from pyspark.sql.window import Window

from bronze.events import lines_from_objects, with_bronze_envelope, with_lineage
from bronze.landing import LandingKey, parse_event_key
from bronze.objectstore import ObjectStore, make_object_store
from conf.settings import Settings, get_settings
from jobs import bronze_objects
from jobs.driver import add_no_driver_flag, delegate_job
from jobs.lake import Lake
from jobs.observability import configure_logging, pipeline_run
from jobs.spark import get_spark

log = logging.getLogger("finlake.bronze")

_KEYS_SCHEMA = T.StructType(
    [
        T.StructField("key", T.StringType(), False),
        T.StructField("event_type", T.StringType(), False),
        T.StructField("source", T.StringType(), False),
        T.StructField("received_at", T.TimestampType(), False),
        T.StructField("ext", T.StringType(), False),
    ]
)


def landing_objects(
    store: ObjectStore, until: dt.date | None
) -> tuple[list[LandingKey], list[str]]:
    """Landing objects received on or before `until`, and keys outside the landing layout."""
    keys, ignored = [], []
    for key in store.list("events/"):
        try:
            parsed = parse_event_key(key)
        except ValueError:
            ignored.append(key)
            continue
        if until is None or parsed.received_at.date() <= until:
            keys.append(parsed)
    return keys, ignored


@dataclass(frozen=True)
class ObjectsInBronze:
    """Landing objects Bronze holds, and whether the index must be rebuilt after the run."""

    keys: set[str]
    is_from_index: bool


def objects_in_bronze(lake: Lake) -> ObjectsInBronze:
    """Landing objects in Bronze: from the index when it is provably current, else the data."""
    indexed = bronze_objects.indexed_objects(lake.settings)
    if indexed is not None:
        return ObjectsInBronze(indexed, is_from_index=True)
    snapshot = bronze_objects.bronze_snapshot(lake)
    return ObjectsInBronze(bronze_objects.read_bronze_objects(lake, snapshot), is_from_index=False)


def _update_index(lake: Lake, known: ObjectsInBronze, appended: list[str]) -> None:
    """Bring `ops.bronze_objects` up to Bronze's current version."""
    snapshot = bronze_objects.bronze_snapshot(lake)
    if snapshot is None:
        return
    now = dt.datetime.now(dt.UTC)
    if known.is_from_index:
        if appended:
            lake.append(
                "ops.bronze_objects",
                bronze_objects.to_index_df(lake.spark, appended, snapshot, now),
            )
    else:
        lake.replace(
            "ops.bronze_objects",
            bronze_objects.to_index_df(lake.spark, known.keys | set(appended), snapshot, now),
        )


def _keys_df(spark: SparkSession, keys: Sequence[LandingKey]) -> DataFrame:
    rows = [
        (k.key, k.event_type, k.source, k.received_at.replace(tzinfo=None), k.ext) for k in keys
    ]
    return spark.createDataFrame(rows, _KEYS_SCHEMA)


def _read_lines(spark: SparkSession, store: ObjectStore, keys: Sequence[LandingKey]) -> DataFrame:
    """(key, line_number, line) for every line of the given objects, whatever their format."""
    frames: list[DataFrame] = []
    key_of_path = F.regexp_extract(F.col("path"), r"(events/[^/]+/received_date=[^/]+/[^/]+)$", 1)
    jsonl = [store.uri(k.key) for k in keys if k.ext == "jsonl"]
    if jsonl:
        objects_df = (
            spark.read.format("binaryFile").load(jsonl).select(key_of_path.alias("key"), "content")
        )
        frames.append(lines_from_objects(objects_df))
    for ext in ("csv", "parquet"):
        uris = [store.uri(k.key) for k in keys if k.ext == ext]
        if not uris:
            continue
        reader = spark.read.format(ext)
        if ext == "csv":
            reader = reader.option("header", "true").option("inferSchema", "false")
        raw_df = reader.load(uris)
        frames.append(
            raw_df.select(
                F.col("_metadata.file_path").alias("path"),
                F.to_json(F.struct(*raw_df.columns)).alias("line"),
                F.monotonically_increasing_id().alias("_order"),
            )
            .select(key_of_path.alias("key"), "line", "_order")
            .withColumn(
                "line_number",
                F.row_number().over(Window.partitionBy("key").orderBy("_order")).cast("long"),
            )
            .select("key", "line_number", "line", F.lit(True).alias("is_utf8"))
        )
    result = frames[0]
    for frame in frames[1:]:
        result = result.unionByName(frame)
    return result


def run_bronze(
    spark: SparkSession,
    settings: Settings,
    until: dt.date | None = None,
    store: ObjectStore | None = None,
) -> dict[str, Any]:
    """Append every pending landing object to `bronze.events`; return run metrics."""
    store = store or make_object_store(settings)
    params = {"until": until.isoformat() if until else None}
    lake = Lake(spark, settings)
    with pipeline_run(spark, settings, "bronze", params) as run:
        run.phase("list landing objects")
        keys, ignored = landing_objects(store, until)
        known = objects_in_bronze(lake)
        pending = [k for k in keys if k.key not in known.keys]
        run.phase("append objects")
        if ignored:
            log.warning("ignored objects outside the landing layout", extra={"keys": ignored[:20]})
        rows_out = parse_errors = 0
        size = settings.bronze_chunk_objects
        for start in range(0, len(pending), size):
            chunk = pending[start : start + size]
            bronze_df = (
                _read_lines(spark, store, chunk)
                .join(F.broadcast(_keys_df(spark, chunk)), "key")
                .withColumnRenamed("key", "source_object_key")
                .withColumn("received_date", F.to_date("received_at"))
                .transform(with_bronze_envelope)
                .transform(lambda df: with_lineage(df, run.run_id))
            ).cache()
            counts = bronze_df.agg(
                F.count("*").alias("rows"),
                F.sum(F.col("is_parse_error").cast("int")).alias("errors"),
            ).first()
            assert counts is not None
            lake.append("bronze.events", bronze_df)
            bronze_df.unpersist()
            rows_out += int(counts["rows"])
            parse_errors += int(counts["errors"] or 0)
            log.info(
                "bronze chunk committed", extra={"objects": len(chunk), "rows": counts["rows"]}
            )
        run.phase("index objects")
        _update_index(lake, known, [k.key for k in pending])
        run.rows_in = len(pending)
        run.rows_out = rows_out
        run.metrics = {
            "objects": len(pending),
            "rows": rows_out,
            "parse_errors": parse_errors,
            "ignored_objects": len(ignored),
            "bronze_version": lake.version("bronze.events"),
        }
        return dict(run.metrics)


def main(argv: Sequence[str] | None = None) -> int:
    """spark-submit entry point: `spark-submit jobs/bronze_job.py [--until DATE]`."""
    configure_logging()
    parser = argparse.ArgumentParser(description="landing -> bronze.events")
    parser.add_argument("--until", type=dt.date.fromisoformat, default=None)
    add_no_driver_flag(parser)
    args = parser.parse_args(argv)

    if not args.no_driver and (code := delegate_job("jobs.bronze_job", argv)) is not None:
        return code
    settings = get_settings()
    print(run_bronze(get_spark(settings, "finlake-bronze"), settings, args.until))
    return 0


if __name__ == "__main__":
    sys.exit(main())
