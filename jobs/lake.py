"""The IO layer: the only reader and writer of Delta tables, keyed by the table catalog.

Every table is named by its catalog entry (`conf/catalog.py`); the path, partitioning, table
properties, write mode and declared schema come from there. Writes enforce the declared schema
(every declared column present with its type, nothing undeclared) and key (unique, not null)
before anything is committed, so a broken frame never reaches a published table.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections import Counter
from collections.abc import Sequence
from typing import Any

import pyarrow as pa
from delta.tables import DeltaTable
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from bronze.contracts import EVENT_MODELS
from bronze.schemas import spark_schema
from conf.catalog import SILVER_LINEAGE, TableName, TableSpec, table
from conf.settings import Settings
from jobs import lake_reader

log = logging.getLogger("finlake.lake")
# a commit, checkpoint, checksum or the checkpoint pointer: the table has been created
COMMITTED_LOG_FILE = re.compile(r"^(\d{20}\.|_last_checkpoint$)")


class TableContractViolation(ValueError):
    """A frame does not match its table's declared schema or key; nothing was written."""


class Lake:
    """Delta tables of one lake (local folder or S3), addressed by catalog name."""

    def __init__(self, spark: SparkSession, settings: Settings) -> None:
        self.spark = spark
        self.settings = settings
        self._schemas: dict[str, T.StructType] = {}

    # ------------------------------------------------------------------------------ reads
    def path(self, name: TableName) -> str:
        """Location of a table: `{lake_root}/{layer}/{table}`."""
        spec = table(name)
        return f"{self.settings.lake_root.rstrip('/')}/{spec.layer}/{spec.table}"

    def exists(self, name: TableName) -> bool:
        """Whether the table has been created."""
        return bool(DeltaTable.isDeltaTable(self.spark, self.path(name)))

    def read(self, name: TableName, version: int | None = None) -> DataFrame:
        """The table (optionally as of a version: Delta time travel)."""
        reader = self.spark.read.format("delta")
        if version is not None:
            reader = reader.option("versionAsOf", version)
        return reader.load(self.path(name))

    def read_or_empty(self, name: TableName) -> DataFrame:
        """The table, or an empty frame with its declared schema if it does not exist yet."""
        if self.exists(name):
            return self.read(name)
        return self.spark.createDataFrame([], self.schema(name))

    def small_table_rows(self, name: TableName, columns: list[str]) -> list[dict[str, Any]]:
        """Rows of a small table (bookkeeping: a few thousand rows) as dicts, without Spark.

        delta-rs reads them in milliseconds, where a Spark job per read cost 0.5-2 s of a daily
        run (issue 18); a log delta-rs cannot read is read by Spark instead. Values are what
        Spark's `collect` returns (timestamps naive, in the process's local time, as PySpark
        gives them); [] when the table does not exist.
        """
        try:
            rows = lake_reader.read_rows(self.settings, self.path(name), columns)
        except Exception:
            log.warning("delta-rs cannot read %s; reading it with Spark", name, exc_info=True)
            if not self.exists(name):
                return []
            return [row.asDict() for row in self.read(name).select(*columns).collect()]
        return [{k: _as_collected(v) for k, v in row.items()} for row in rows]

    def version(self, name: TableName) -> int | None:
        """Latest version of the table, or None if it does not exist."""
        if not self.exists(name):
            return None
        row = DeltaTable.forPath(self.spark, self.path(name)).history(1).select("version").first()
        return int(row[0]) if row else None

    def table_id(self, name: TableName) -> str | None:
        """Delta table id (its metadata id), or None if the table does not exist."""
        if not self.exists(name):
            return None
        detail = DeltaTable.forPath(self.spark, self.path(name)).detail().first()
        return str(detail["id"]) if detail is not None else None

    def history(self, name: TableName, limit: int | None = None) -> DataFrame:
        """Delta history of the table (newest first)."""
        delta = DeltaTable.forPath(self.spark, self.path(name))
        return delta.history(limit) if limit else delta.history()

    def schema(self, name: TableName) -> T.StructType:
        """Declared schema (catalog columns, or contract + Silver lineage for event tables)."""
        if name not in self._schemas:
            self._schemas[name] = self._declared_schema(table(name))
        return self._schemas[name]

    def _declared_schema(self, spec: TableSpec) -> T.StructType:
        if spec.contract is not None:
            contract = spark_schema(EVENT_MODELS[spec.contract])  # type: ignore[index]
            lineage = self._struct(SILVER_LINEAGE)
            return T.StructType([*contract.fields, *lineage.fields])
        return self._struct(spec.columns)

    def _struct(self, columns: Any) -> T.StructType:
        ddl = ", ".join(f"`{c.name}` {c.type}" for c in columns)
        schema = self.spark.createDataFrame([], ddl).schema
        return T.StructType(
            [
                T.StructField(f.name, f.dataType, c.nullable)
                for f, c in zip(schema.fields, columns, strict=True)
            ]
        )

    # ----------------------------------------------------------------------------- writes
    def write(
        self,
        name: TableName,
        df: DataFrame,
        *,
        start: dt.date | None = None,
        end: dt.date | None = None,
        whole: bool = False,
        key_checked: bool = False,
        is_small: bool = False,
    ) -> None:
        """Write by the table's declared mode (`whole` replaces a range table entirely).

        `key_checked` says the caller already tested the key (Gold's model tests do, for all
        tables at once, before publishing); the schema is always enforced. `is_small`: a
        range of a few thousand rows (`replace_range`).
        """
        spec = table(name)
        if spec.write_mode == "append":
            self.append(name, df, key_checked=key_checked)
        elif spec.write_mode == "merge_insert":
            self.merge_insert(name, df, key_checked=key_checked)
        elif spec.write_mode == "replace_range" and not whole:
            if start is None or end is None:
                raise ValueError(f"{name} is written by range: pass start and end")
            self.replace_range(name, df, start, end, key_checked=key_checked, is_small=is_small)
        else:
            self.replace(name, df, key_checked=key_checked)

    def append(self, name: TableName, df: DataFrame, *, key_checked: bool = False) -> None:
        """Append rows (schema evolution for contract tables: new optional fields)."""
        checked = self._checked(name, df, key_checked)
        self._ensure(name, checked)
        spec = table(name)
        if spec.partition_by:
            # one writer task per partition value, so a partition gets one file per append
            # instead of one per input split (Bronze: 1,980 -> 730 files for 2,000 objects);
            # a rebalance, not a repartition, so adaptive execution still splits a value too
            # large for one task (a history load landed in one day). Applied here, after any
            # cache of `df`: a cached plan keeps its partitioning.
            checked = checked.hint("rebalance", *spec.partition_by)
        writer = checked.write.format("delta").mode("append")
        if spec.contract is not None or not spec.columns:
            # contract tables evolve with new optional fields; tables whose columns their module
            # owns (forecast outputs, model runs) add nullable columns the same way
            writer = writer.option("mergeSchema", "true")
        writer.save(self.path(name))

    def append_rows(self, name: TableName, rows: Sequence[tuple[Any, ...]]) -> None:
        """Append rows built in Python (in declared column order), their key checked in Python.

        Bookkeeping rows (a run record, a run's DQ results) are few; checking their key as a
        Spark job cost 0.3-0.5 s per write of a daily run, and committing them through Spark
        0.6-1.0 s, where delta-rs commits them in milliseconds (issue 18). A table that does not
        exist yet is created by Spark, with its declared partitioning and properties.
        """
        spec, schema = table(name), self.schema(name)
        positions = [schema.fieldNames().index(k) for k in spec.key]
        per_key = Counter(tuple(row[i] for i in positions) for row in rows)
        _refuse_key(
            spec,
            _key_violation(
                duplicates=sum(n > 1 for n in per_key.values()),
                nulls=sum(any(v is None for v in key) for key in per_key),
            ),
        )
        if not spec.partition_by and self.exists(name):
            names = schema.fieldNames()
            records = [dict(zip(names, map(_as_spark_reads, row), strict=True)) for row in rows]
            arrow = pa.Table.from_pylist(
                records, schema=lake_reader.arrow_schema(self.settings, self.path(name))
            )
            lake_reader.write_arrow(self.settings, self.path(name), arrow)
            return
        self.append(name, self.spark.createDataFrame(list(rows), schema), key_checked=True)

    def replace(
        self,
        name: TableName,
        df: DataFrame,
        metadata: str | None = None,
        *,
        key_checked: bool = False,
    ) -> None:
        """Replace the whole table (`metadata` is kept as the commit's user metadata)."""
        checked = self._checked(name, df, key_checked)
        self._ensure(name, checked)
        writer = checked.write.format("delta").mode("overwrite").option("overwriteSchema", "true")
        if metadata is not None:
            writer = writer.option("userMetadata", metadata)
        writer.save(self.path(name))

    def rows_written(self, name: TableName) -> int:
        """Rows the table's latest commit wrote (its `numOutputRows` metric)."""
        row = (
            DeltaTable.forPath(self.spark, self.path(name))
            .history(1)
            .select("operationMetrics")
            .first()
        )
        metrics = (row["operationMetrics"] if row is not None else None) or {}
        return int(metrics.get("numOutputRows", 0))

    def last_commit_metadata(self, name: TableName) -> str | None:
        """User metadata of the table's latest commit (None if none or no table)."""
        if not self.exists(name):
            return None
        row = (
            DeltaTable.forPath(self.spark, self.path(name))
            .history(1)
            .select("userMetadata")
            .first()
        )
        return str(row[0]) if row and row[0] is not None else None

    def replace_range(
        self,
        name: TableName,
        df: DataFrame,
        start: dt.date,
        end: dt.date,
        *,
        key_checked: bool = False,
        is_small: bool = False,
    ) -> None:
        """Replace the rows whose range column lies in `[start, end]` (replaceWhere).

        `is_small`: `df` is a few thousand rows at most (a daily run's range); the table
        (created by Spark if new) then gets them through delta-rs, in milliseconds instead of
        a Spark commit's 0.6-1.0 s (`lake_reader.write_arrow`, issue 18).
        """
        spec = table(name)
        column = spec.range_column
        if column is None:
            raise ValueError(f"{name} declares no range column")
        checked = self._checked(name, df, key_checked)
        if not self.exists(name):
            self._ensure(name, checked)
        where = f"{column} >= '{start.isoformat()}' AND {column} <= '{end.isoformat()}'"
        if is_small:  # the table exists by now
            lake_reader.write_arrow(
                self.settings, self.path(name), checked.toArrow(), predicate=where
            )
            return
        (
            checked.write.format("delta")
            .mode("overwrite")
            .option("replaceWhere", where)
            .save(self.path(name))
        )

    def merge_insert(self, name: TableName, df: DataFrame, *, key_checked: bool = False) -> None:
        """Insert rows whose key is not in the table yet (idempotent re-runs).

        An anti join on the key columns, then an append: the result of an insert-only MERGE
        (the key check rules out duplicate source keys) at the cost of one key-column scan and
        one commit, instead of MERGE's two passes (issue 18). Like every finlake writer it
        assumes one writer per table at a time (the DAGs run one pipeline run at a time).
        """
        spec = table(name)
        checked = self._checked(name, df, key_checked)
        if not self.exists(name):
            self._ensure(name, checked)
        keys = list(spec.key)
        existing_df = self.read(name).select(*keys)
        new_df = checked.join(existing_df, keys, "left_anti").select(*checked.columns)
        self.append(name, new_df, key_checked=True)

    def merge_insert_rows(self, name: TableName, rows: Sequence[tuple[Any, ...]]) -> None:
        """`merge_insert` of rows built in Python (in declared column order): the table's keys
        are read by delta-rs and only new rows are appended (`append_rows`), with no commit
        when every key is already there."""
        spec, schema = table(name), self.schema(name)
        if spec.partition_by or not self.exists(name):
            self.merge_insert(name, self.spark.createDataFrame(list(rows), schema))
            return
        positions = [schema.fieldNames().index(k) for k in spec.key]
        present = {
            tuple(r[k] for k in spec.key) for r in self.small_table_rows(name, list(spec.key))
        }
        new = [row for row in rows if tuple(row[i] for i in positions) not in present]
        if new:
            self.append_rows(name, new)

    def merge_update(self, name: TableName, df: DataFrame, condition: str) -> None:
        """Update matched rows (`t` = table, `s` = `df`) with `df`'s non-key columns."""
        key = set(table(name).key)
        updates: dict[str, str | Column] = {c: f"s.`{c}`" for c in df.columns if c not in key}
        (
            DeltaTable.forPath(self.spark, self.path(name))
            .alias("t")
            .merge(df.alias("s"), condition)
            .whenMatchedUpdate(set=updates)
            .execute()
        )

    def optimize(self, name: TableName) -> dict[str, int]:
        """Compact small files (OPTIMIZE); returns files added and removed."""
        delta = DeltaTable.forPath(self.spark, self.path(name))
        row = delta.optimize().executeCompaction().select("metrics").first()
        stats = row[0].asDict() if row and row[0] is not None else {}
        return {
            "files_added": int(stats.get("numFilesAdded") or 0),
            "files_removed": int(stats.get("numFilesRemoved") or 0),
        }

    def vacuum(self, name: TableName, retention_hours: int) -> None:
        """Delete data files no version younger than the retention references (VACUUM)."""
        DeltaTable.forPath(self.spark, self.path(name)).vacuum(float(retention_hours))

    # ----------------------------------------------------------------------------- checks
    def _checked(self, name: TableName, df: DataFrame, key_checked: bool = False) -> DataFrame:
        """`df` with the declared columns in declared order, after schema and key checks."""
        spec = table(name)
        if spec.columns or spec.contract is not None:
            df = self._conform(spec, df)
        if key_checked:
            return df
        _refuse_key(spec, self._key_violations(spec, df))
        return df

    def _conform(self, spec: TableSpec, df: DataFrame) -> DataFrame:
        declared = self.schema(spec.name)
        actual = {f.name: f.dataType for f in df.schema.fields}
        missing = [f.name for f in declared.fields if f.name not in actual]
        extra = [c for c in actual if c not in set(declared.fieldNames())]
        wrong = [
            f"{f.name} is {actual[f.name].simpleString()}, declared {f.dataType.simpleString()}"
            for f in declared.fields
            if f.name in actual and not _same_type(actual[f.name], f.dataType)
        ]
        if spec.contract is not None:
            extra = []  # contract tables evolve with new optional fields (mergeSchema)
        problems = (
            [f"missing {missing}"] * bool(missing) + [f"undeclared {extra}"] * bool(extra) + wrong
        )
        if problems:
            raise TableContractViolation(f"{spec.name}: schema mismatch: {'; '.join(problems)}")
        if spec.contract is not None:
            return df
        return df.select(*declared.fieldNames())

    def _key_violations(self, spec: TableSpec, df: DataFrame) -> str | None:
        key = [F.col(k) for k in spec.key]
        null_key = F.lit(False)
        for column in key:
            null_key = null_key | column.isNull()
        row = (
            df.groupBy(*key)
            .agg(F.count(F.lit(1)).alias("_n"), F.max(null_key.cast("int")).alias("_null"))
            .agg(
                F.sum(F.when(F.col("_n") > 1, 1).otherwise(0)).alias("duplicates"),
                F.sum("_null").alias("nulls"),
            )
            .first()
        )
        if row is None:
            return None
        return _key_violation(int(row["duplicates"] or 0), int(row["nulls"] or 0))

    def _ensure(self, name: TableName, df: DataFrame) -> None:
        """Create the table with its partitioning and properties if it does not exist."""
        if self.exists(name):
            return
        self._clear_aborted_creation(name)
        spec = table(name)
        builder = (
            DeltaTable.createIfNotExists(self.spark).location(self.path(name)).addColumns(df.schema)
        )
        if spec.partition_by:
            builder = builder.partitionedBy(*spec.partition_by)
        for key, value in spec.all_properties.items():
            builder = builder.property(key, value)
        builder.execute()

    def _clear_aborted_creation(self, name: TableName) -> None:
        """Remove a `_delta_log` without any commit: what a creation killed midway leaves.

        Delta refuses to create a table over it (DELTA_TABLE_NOT_FOUND), so one kill at the
        wrong moment would block the table for good. A log with no commit or checkpoint
        file has never been visible to any reader; a committed log is never touched.
        """
        jvm = self.spark._jvm
        assert jvm is not None
        log_path = jvm.org.apache.hadoop.fs.Path(f"{self.path(name)}/_delta_log")
        fs = log_path.getFileSystem(self.spark._jsc.hadoopConfiguration())
        if not fs.exists(log_path):
            return
        names = [status.getPath().getName() for status in fs.listStatus(log_path)]
        if any(COMMITTED_LOG_FILE.match(n) for n in names):
            return
        log.warning("clearing an aborted table creation", extra={"table": name, "files": names})
        fs.delete(log_path, True)


def _key_violation(duplicates: int, nulls: int) -> str | None:
    """What is wrong with a key (duplicated and null values counted per distinct key)."""
    if duplicates or nulls:
        return f"{duplicates} duplicated key(s), {nulls} null key(s)"
    return None


def _refuse_key(spec: TableSpec, violation: str | None) -> None:
    """Raise `TableContractViolation` for a key violation; nothing is written then."""
    if violation:
        raise TableContractViolation(f"{spec.name}: key {list(spec.key)} violated: {violation}")


def _as_collected(value: Any) -> Any:
    """A delta-rs value as PySpark collects it (an instant becomes naive local time)."""
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone().replace(tzinfo=None)
    return value


def _same_type(actual: T.DataType, declared: T.DataType) -> bool:
    """Types match (ignoring nullability inside arrays, maps and structs)."""
    return actual.simpleString() == declared.simpleString()


def _as_spark_reads(value: Any) -> Any:
    """A Python value as Spark's `createDataFrame` reads it (a naive datetime is local time),
    made explicit for Arrow, which would read a naive datetime as UTC."""
    if isinstance(value, dt.datetime) and value.tzinfo is None:
        return value.astimezone(dt.UTC)
    return value
