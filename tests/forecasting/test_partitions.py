"""Balanced layout of whole series over Spark tasks."""

from __future__ import annotations

import datetime as dt

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from forecasting.models import slot_keys, spark_hash_long, with_balanced_partitions


def test_series_are_spread_round_robin_over_exactly_n_partitions(spark: SparkSession) -> None:
    rows = [
        (f"s{i:02d}", dt.date(2026, 1, 1) + dt.timedelta(days=d), float(d))
        for i in range(10)
        for d in range(5)
    ]
    series_df = spark.createDataFrame(rows, "unique_id string, ds date, y double")

    laid_out_df = series_df.transform(lambda d: with_balanced_partitions(d, 4))

    assert laid_out_df.rdd.getNumPartitions() == 4
    placed = laid_out_df.select(
        "unique_id", "_slot", F.spark_partition_id().alias("partition")
    ).distinct()
    by_series = {r["unique_id"]: r["partition"] for r in placed.collect()}
    assert len(by_series) == 10  # every series whole in one partition
    sizes = sorted(list(by_series.values()).count(p) for p in range(4))
    assert sizes == [2, 2, 3, 3]
    assert laid_out_df.count() == series_df.count()
    # series i goes to the i-th task in unique_id order
    order = sorted(by_series)
    assert [by_series[s] for s in order[:4]] == [by_series[s] for s in order[4:8]]
    assert len({by_series[s] for s in order[:4]}) == 4


def test_driver_side_hash_equals_sparks(spark: SparkSession) -> None:
    values = [0, 1, -1, 7, 42, 2**31, -(2**31) - 1, 2**62 + 12345, -(2**63), 2**63 - 1]
    values += list(range(100, 200))
    df = spark.createDataFrame([(v,) for v in values], "v long")
    expected = {r["v"]: r["h"] for r in df.select("v", F.hash("v").alias("h")).collect()}
    assert {v: spark_hash_long(v) for v in values} == expected


def test_slot_keys_land_on_their_partition(spark: SparkSession) -> None:
    keys = slot_keys(6)
    df = spark.createDataFrame([(k,) for k in keys], "k long").repartition(6, "k")
    placed = {r["k"]: r["p"] for r in df.select("k", F.spark_partition_id().alias("p")).collect()}
    assert [placed[k] for k in keys] == list(range(6))
