"""`ops.bronze_objects`: the landing objects `bronze.events` holds. Grain: source_object_key.

The Bronze job needs to know which landing objects are already in Bronze. Bronze itself is the
truth (an object's rows and its key commit together), but asking it means reading the
`source_object_key` column of every Bronze file: about 18 s on a two-year lake, for a day whose
new objects are a handful. This index is a cache of that column, read without a JVM.

It is trusted only when it provably matches Bronze. Each row records the Bronze table id and the
Bronze version the index covered when the row was added. The index is used when the table id
is Bronze's and every Bronze commit after the newest covered version is maintenance (OPTIMIZE,
VACUUM), which adds no object. Anything else rebuilds it from Bronze's data:
- a run killed between its Bronze commit and the index append;
- a restored or replaced Bronze table;
- a Delta log cleaned past the covered version;
- the first run.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import dataclass

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from conf.catalog import table
from conf.settings import Settings
from jobs import lake_reader
from jobs.lake import Lake

log = logging.getLogger("finlake.bronze")
MAINTENANCE_OPERATIONS = frozenset({"OPTIMIZE", "VACUUM START", "VACUUM END"})


@dataclass(frozen=True)
class BronzeSnapshot:
    """Identity and version of `bronze.events`."""

    table_id: str
    version: int


def bronze_snapshot(lake: Lake) -> BronzeSnapshot | None:
    """Table id and latest version of `bronze.events` (None when it does not exist)."""
    try:
        bronze = lake_reader.open_table(lake.settings, lake.path("bronze.events"))
        if bronze is None:
            return None
        return BronzeSnapshot(str(bronze.metadata().id), bronze.version())
    except Exception:  # delta-rs cannot read the log: ask Spark (slower, same answer)
        log.warning("delta-rs cannot read bronze.events; asking Spark", exc_info=True)
        version, table_id = lake.version("bronze.events"), lake.table_id("bronze.events")
        if version is None or table_id is None:
            return None
        return BronzeSnapshot(table_id, version)


def indexed_objects(settings: Settings) -> set[str] | None:
    """Landing objects in Bronze according to the index; None when it cannot be trusted."""
    try:
        return _indexed_objects(settings)
    except Exception:  # a log delta-rs cannot read: Bronze's data answers instead
        log.warning("bronze object index unreadable; reading Bronze", exc_info=True)
        return None


def _indexed_objects(settings: Settings) -> set[str] | None:
    bronze = lake_reader.open_table(settings, settings.location("bronze.events"))
    index = lake_reader.open_table(settings, settings.location("ops.bronze_objects"))
    if bronze is None or index is None:
        return None
    rows = lake_reader.read_table_rows(
        index, columns=["source_object_key", "bronze_table_id", "bronze_version"]
    )
    if not rows or {r["bronze_table_id"] for r in rows} != {str(bronze.metadata().id)}:
        return None
    covered = max(int(r["bronze_version"]) for r in rows)
    current = bronze.version()
    if covered > current:
        return None
    if covered < current:
        commits = bronze.history(current - covered)
        if {int(c["version"]) for c in commits} != set(range(covered + 1, current + 1)):
            return None  # part of the log is gone: cannot prove nothing was added
        if any(c.get("operation") not in MAINTENANCE_OPERATIONS for c in commits):
            return None
    return {str(r["source_object_key"]) for r in rows}


def read_bronze_objects(lake: Lake, snapshot: BronzeSnapshot | None) -> set[str]:
    """Landing objects in Bronze at `snapshot`, from its data (the slow, authoritative way)."""
    if snapshot is None:
        return set()
    rows = (
        lake.read("bronze.events", version=snapshot.version)
        .select("source_object_key")
        .distinct()
        .collect()
    )
    return {str(r[0]) for r in rows}


def to_index_df(
    spark: SparkSession, keys: Iterable[str], snapshot: BronzeSnapshot, indexed_at: dt.datetime
) -> DataFrame:
    """Index rows of `keys`, covering Bronze up to `snapshot`."""
    rows = [
        (key, snapshot.table_id, snapshot.version, indexed_at.replace(tzinfo=None))
        for key in sorted(keys)
    ]
    schema = ", ".join(f"{c.name} {c.type}" for c in table("ops.bronze_objects").columns)
    return spark.createDataFrame(rows, schema).select(
        *[F.col(c.name) for c in table("ops.bronze_objects").columns]
    )
