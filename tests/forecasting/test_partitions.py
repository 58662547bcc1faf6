"""Balanced layout of whole series over Spark tasks."""

from __future__ import annotations

import datetime as dt

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from forecasting.models import with_balanced_partitions


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
