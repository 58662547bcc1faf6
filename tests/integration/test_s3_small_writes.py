"""Small commits through delta-rs (`Lake.append_rows`, `replace_range(is_small=True)`) on a
real moto S3 server: Spark reads them back, with the range replaced and the rest kept."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from pyspark.sql import SparkSession

from jobs.lake import Lake
from tests.integration.conftest import S3Server

pytestmark = pytest.mark.integration

D = dt.date(2026, 3, 1)


def test_small_commits_on_s3_are_read_back_by_spark(
    spark: SparkSession, s3_server: S3Server
) -> None:
    settings = s3_server.settings()
    hadoop = spark.sparkContext._jsc.hadoopConfiguration()  # type: ignore[union-attr]
    for key, value in s3_server.spark_conf().items():
        hadoop.set(key.removeprefix("spark.hadoop."), value)
    lake = Lake(spark, settings)
    schema = lake.schema("gold.costs_daily")
    day, zero = dt.timedelta(days=1), Decimal(0)
    rows = [(D + i * day, 20260301 + i, "NA", "support", Decimal(1), zero, 1) for i in range(3)]
    lake.replace("gold.costs_daily", spark.createDataFrame(rows, schema))
    lake.replace_range(
        "gold.costs_daily",
        spark.createDataFrame([(D + day, 20260302, "NA", "support", Decimal(9), zero, 2)], schema),
        D + day,
        D + day,
        is_small=True,
    )
    got = {r["cost_date"]: r["amount_usd"] for r in lake.read("gold.costs_daily").collect()}
    assert [int(got[D + i * day]) for i in range(3)] == [1, 9, 1]
    assert lake.version("gold.costs_daily") == 2  # create, Spark's write, delta-rs's

    arrived = dt.datetime(2026, 3, 1, 23, 30, 15)
    lake.append_rows("ops.silver_batches", [("b1", "usage", "s1", arrived, arrived)])
    lake.append_rows("ops.silver_batches", [("b2", "usage", "s1", arrived, None)])
    marks = sorted(tuple(r) for r in lake.read("ops.silver_batches").collect())
    assert [m[0] for m in marks] == ["b1", "b2"]
    assert marks[0][3] == arrived
    history = lake.history("ops.silver_batches").orderBy("version").collect()
    assert "delta-rs" in str(history[-1]["engineInfo"])
