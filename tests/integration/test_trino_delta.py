"""Delta tables written by delta-spark are readable by Trino's Delta Lake connector, unchanged.

Covers decimals, dates, timestamps (LTZ and NTZ), partitions, MERGE, UPDATE, DELETE, overwrite,
replaceWhere, checkpoints, deletion vectors, column mapping and the `$history` table; every
Trino read is compared with the same table read by Spark.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from delta.tables import DeltaTable
from pyspark.sql import SparkSession
from pyspark.sql import types as T

from conf.settings import Settings
from jobs import trino
from tests.integration.test_trino_lake import trino_server  # noqa: F401

pytestmark = [pytest.mark.integration, pytest.mark.trino]

SCHEMA = T.StructType(
    [
        T.StructField("event_date", T.DateType(), False),
        T.StructField("region", T.StringType(), False),
        T.StructField("amount_usd", T.DecimalType(18, 4), False),
        T.StructField("booked_at", T.TimestampType(), True),
        T.StructField("booked_local", T.TimestampNTZType(), True),
        T.StructField("units", T.LongType(), True),
        T.StructField("share", T.DoubleType(), True),
    ]
)
COLUMNS = [f.name for f in SCHEMA.fields]


def _rows(n: int, offset: int = 0) -> list[tuple[Any, ...]]:
    return [
        (
            dt.date(2026, 1, 1) + dt.timedelta(days=i),
            ("NA", "EMEA", "APAC")[i % 3],
            Decimal("1234.5678") + i,
            dt.datetime(2026, 1, 1, 12, 30, 15, 123456, tzinfo=dt.UTC) + dt.timedelta(hours=i),
            dt.datetime(2026, 1, 1, 8, 0) + dt.timedelta(minutes=i),
            i + offset,
            i / 7,
        )
        for i in range(n)
    ]


def _normalise(value: Any) -> Any:
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(dt.UTC).replace(tzinfo=None)
    return value


def _spark_rows(spark: SparkSession, path: str) -> list[tuple[Any, ...]]:
    rows = spark.read.format("delta").load(path).select(*COLUMNS).collect()
    # Trino maps Delta TIMESTAMP to timestamp(3) with time zone: it reads milliseconds only.
    booked = COLUMNS.index("booked_at")
    return sorted(tuple(_to_millis(v) if i == booked else v for i, v in enumerate(r)) for r in rows)


def _to_millis(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.replace(microsecond=value.microsecond // 1000 * 1000)
    return value


def _trino_fetch(settings: Settings, sql: str, params: list[Any] | None = None) -> list[Any]:
    conn = trino.connect(settings)
    try:
        cursor = conn.cursor()
        cursor.execute(sql, params)
        rows: list[Any] = cursor.fetchall()
    finally:
        conn.close()
    return rows


def _trino_rows(settings: Settings, table: str) -> list[tuple[Any, ...]]:
    rows = _trino_fetch(settings, f'SELECT {", ".join(COLUMNS)} FROM "gold"."{table}"')
    return sorted(tuple(_normalise(v) for v in row) for row in rows)


def _trino_history(settings: Settings, table: str) -> list[tuple[int, str]]:
    rows = _trino_fetch(
        settings,
        f'SELECT version, operation FROM "gold"."{table}$history" WHERE version >= ? ORDER BY 1',
        [0],
    )
    return [(int(v), str(op)) for v, op in rows]


def _features(spark: SparkSession, path: str) -> list[str]:
    detail = spark.sql(f"DESCRIBE DETAIL delta.`{path}`").collect()[0]
    return sorted(detail.tableFeatures or [])


def _merge(spark: SparkSession) -> Callable[[str], None]:
    def build(path: str) -> None:
        updates = spark.createDataFrame(_rows(3, offset=100) + _rows(15, offset=100)[13:], SCHEMA)
        (
            DeltaTable.forPath(spark, path)
            .alias("t")
            .merge(updates.alias("s"), "t.event_date = s.event_date")
            .whenMatchedUpdateAll()
            .whenNotMatchedInsertAll()
            .execute()
        )
        spark.sql(f"UPDATE delta.`{path}` SET amount_usd = amount_usd + 0.0001 WHERE units = 5")
        spark.sql(f"DELETE FROM delta.`{path}` WHERE units = 7")

    return build


def _overwrite_and_replace_where(spark: SparkSession) -> Callable[[str], None]:
    def build(path: str) -> None:
        spark.createDataFrame(_rows(8), SCHEMA).write.format("delta").mode("overwrite").save(path)
        (
            spark.createDataFrame(_rows(8, offset=50)[5:], SCHEMA)
            .write.format("delta")
            .mode("overwrite")
            .option("replaceWhere", "event_date >= '2026-01-06'")
            .save(path)
        )

    return build


def _many_commits(spark: SparkSession) -> Callable[[str], None]:
    def build(path: str) -> None:  # > 10 commits: Spark writes a checkpoint Trino must read
        for k in range(11):
            spark.createDataFrame(_rows(2, offset=1000 + k), SCHEMA).write.format("delta").mode(
                "append"
            ).save(path)

    return build


def _deletion_vectors(spark: SparkSession) -> Callable[[str], None]:
    def build(path: str) -> None:
        spark.sql(
            f"ALTER TABLE delta.`{path}` SET TBLPROPERTIES (delta.enableDeletionVectors = true)"
        )
        spark.sql(f"DELETE FROM delta.`{path}` WHERE units IN (1, 4)")

    return build


def _column_mapping(spark: SparkSession) -> Callable[[str], None]:
    def build(path: str) -> None:
        spark.sql(
            f"ALTER TABLE delta.`{path}` SET TBLPROPERTIES ("
            "delta.columnMapping.mode = 'name', delta.minReaderVersion = 2, "
            "delta.minWriterVersion = 5)"
        )
        spark.sql(f"ALTER TABLE delta.`{path}` RENAME COLUMN share TO share_old")
        spark.sql(f"ALTER TABLE delta.`{path}` RENAME COLUMN share_old TO share")

    return build


@pytest.mark.parametrize(
    ("table", "partitioned", "builder"),
    [
        ("compat_merge", True, _merge),
        ("compat_overwrite", False, _overwrite_and_replace_where),
        ("compat_checkpoint", True, _many_commits),
        ("compat_dv", False, _deletion_vectors),
        ("compat_colmap", False, _column_mapping),
    ],
)
def test_trino_reads_what_spark_wrote(
    spark: SparkSession,
    trino_server: Settings,  # noqa: F811
    table: str,
    partitioned: bool,
    builder: Callable[[SparkSession], Callable[[str], None]],
) -> None:
    path = f"{trino_server.lake_root}/gold/{table}"  # compatibility tables, not in the catalog
    writer = spark.createDataFrame(_rows(12), SCHEMA).write.format("delta").mode("overwrite")
    if partitioned:
        writer = writer.partitionBy("region")
    writer.save(path)
    builder(spark)(path)
    trino.register_tables(trino_server, extra={"gold": {table: path}})
    assert _trino_rows(trino_server, table) == _spark_rows(spark, path), _features(spark, path)
    history = DeltaTable.forPath(spark, path).history().select("version", "operation").collect()
    assert _trino_history(trino_server, table) == sorted((r.version, r.operation) for r in history)


def test_default_table_features_are_readable(
    spark: SparkSession,
    trino_server: Settings,  # noqa: F811
) -> None:
    path = f"{trino_server.lake_root}/gold/compat_defaults"
    spark.createDataFrame(_rows(3), SCHEMA).write.format("delta").mode("overwrite").save(path)
    readable = {"appendOnly", "invariants", "timestampNtz", "checkConstraints", "columnMapping"}
    assert set(_features(spark, path)) <= readable | {"deletionVectors", "changeDataFeed"}
    trino.register_tables(trino_server, extra={"gold": {"compat_defaults": path}})
    assert _trino_rows(trino_server, "compat_defaults") == _spark_rows(spark, path)
