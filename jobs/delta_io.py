"""Delta Lake reads and writes shared by the jobs (the only IO layer besides the object store)."""

from __future__ import annotations

from collections.abc import Sequence

from delta.tables import DeltaTable
from pyspark.sql import DataFrame, SparkSession

TRINO_SAFE_PROPERTIES = {
    "delta.enableDeletionVectors": "false",
    "delta.enableChangeDataFeed": "false",
}


def table_exists(spark: SparkSession, path: str) -> bool:
    """Whether a Delta table exists at a path."""
    return bool(DeltaTable.isDeltaTable(spark, path))


def read_delta(spark: SparkSession, path: str, version: int | None = None) -> DataFrame:
    """Read a Delta table, optionally as of a version (time travel)."""
    reader = spark.read.format("delta")
    if version is not None:
        reader = reader.option("versionAsOf", version)
    return reader.load(path)


def table_version(spark: SparkSession, path: str) -> int | None:
    """Latest version of a Delta table, or None if it does not exist."""
    if not table_exists(spark, path):
        return None
    row = DeltaTable.forPath(spark, path).history(1).select("version").first()
    return int(row[0]) if row else None


def append(
    df: DataFrame,
    path: str,
    partition_by: Sequence[str] = (),
    properties: dict[str, str] | None = None,
    merge_schema: bool = True,
) -> None:
    """Append rows (creating the table with its properties on first write)."""
    spark = df.sparkSession
    if not table_exists(spark, path):
        _create(df, path, partition_by, properties or {})
    writer = df.write.format("delta").mode("append")
    if merge_schema:
        writer = writer.option("mergeSchema", "true")
    writer.save(path)


def overwrite(
    df: DataFrame,
    path: str,
    partition_by: Sequence[str] = (),
    replace_where: str | None = None,
    properties: dict[str, str] | None = None,
) -> None:
    """Overwrite a table, or only the rows matching `replace_where`."""
    spark = df.sparkSession
    if not table_exists(spark, path):
        _create(df, path, partition_by, properties or {})
    writer = df.write.format("delta").mode("overwrite").option("mergeSchema", "true")
    if replace_where is not None:
        writer = writer.option("replaceWhere", replace_where)
    else:
        writer = writer.option("overwriteSchema", "true")
    writer.save(path)


def _create(
    df: DataFrame, path: str, partition_by: Sequence[str], properties: dict[str, str]
) -> None:
    builder = DeltaTable.createIfNotExists(df.sparkSession).location(path).addColumns(df.schema)
    if partition_by:
        builder = builder.partitionedBy(*partition_by)
    for key, value in {**TRINO_SAFE_PROPERTIES, **properties}.items():
        builder = builder.property(key, value)
    builder.execute()
