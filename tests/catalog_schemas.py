"""Spark schemas of catalog tables for tests that build small fake lakes (no Spark needed)."""

from __future__ import annotations

import re

from pyspark.sql import types as T

from conf.catalog import TableName, table

_SIMPLE: dict[str, T.DataType] = {
    "string": T.StringType(),
    "date": T.DateType(),
    "timestamp": T.TimestampType(),
    "bigint": T.LongType(),
    "int": T.IntegerType(),
    "double": T.DoubleType(),
    "boolean": T.BooleanType(),
    "array<string>": T.ArrayType(T.StringType()),
}


def data_type(ddl: str) -> T.DataType:
    """Spark type of a catalog column type."""
    match = re.fullmatch(r"decimal\((\d+),(\d+)\)", ddl)
    if match:
        return T.DecimalType(int(match[1]), int(match[2]))
    return _SIMPLE[ddl]


def spark_schema(name: TableName) -> T.StructType:
    """The declared schema of a catalog table (declared columns only)."""
    return T.StructType(
        [T.StructField(c.name, data_type(c.type), c.nullable) for c in table(name).columns]
    )
