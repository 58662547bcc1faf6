"""`execution_for`: small runs evaluate expressions interpreted; the session is restored after."""

from __future__ import annotations

import pytest
from chispa import assert_df_equality
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from jobs.spark import (
    ROWS_PER_SHUFFLE_PARTITION,
    SMALL_RUN_CONF,
    execution_for,
    shuffle_partitions_for,
)


def _settings(spark: SparkSession) -> dict[str, str | None]:
    return {key: spark.conf.get(key, None) for key in SMALL_RUN_CONF}


def _query(spark: SparkSession) -> DataFrame:
    df = spark.createDataFrame(
        [(1, "a", 2.5), (2, None, 1.0), (3, "c", None)], "id int, name string, amount double"
    )
    return (
        df.withColumn("label", F.concat_ws("-", F.upper("name"), F.col("id").cast("string")))
        .withColumn("doubled", F.coalesce(F.col("amount"), F.lit(0.0)) * 2)
        .filter(F.col("id") > 1)
        .groupBy("label")
        .agg(F.sum("doubled").alias("total"))
    )


def test_a_small_run_is_interpreted_and_the_settings_come_back(spark: SparkSession) -> None:
    before = _settings(spark)
    with execution_for(spark, is_small=True):
        assert _settings(spark) == SMALL_RUN_CONF
    assert _settings(spark) == before


def test_a_large_run_keeps_code_generation(spark: SparkSession) -> None:
    before = _settings(spark)
    with execution_for(spark, is_small=False):
        assert _settings(spark) == before
    assert spark.conf.get("spark.sql.codegen.wholeStage") != "false"


def test_settings_come_back_when_the_block_fails(spark: SparkSession) -> None:
    before = _settings(spark)
    with pytest.raises(RuntimeError), execution_for(spark, is_small=True):
        raise RuntimeError("boom")
    assert _settings(spark) == before


def test_interpreted_and_generated_results_are_equal(spark: SparkSession) -> None:
    compiled = _query(spark).collect()
    with execution_for(spark, is_small=True):
        interpreted = _query(spark).collect()
    assert_df_equality(
        spark.createDataFrame(interpreted),
        spark.createDataFrame(compiled),
        ignore_row_order=True,
    )


def test_shuffle_partitions_grow_with_the_batch() -> None:
    assert shuffle_partitions_for(0, 2) == 2
    assert shuffle_partitions_for(ROWS_PER_SHUFFLE_PARTITION, 2) == 2
    assert shuffle_partitions_for(13 * ROWS_PER_SHUFFLE_PARTITION + 1, 2) == 14
    assert shuffle_partitions_for(3 * ROWS_PER_SHUFFLE_PARTITION, 200) == 200  # never fewer


def test_a_large_run_gets_more_shuffle_partitions_and_gives_them_back(spark: SparkSession) -> None:
    key = "spark.sql.shuffle.partitions"
    before = spark.conf.get(key)
    rows = 40 * ROWS_PER_SHUFFLE_PARTITION
    with execution_for(spark, is_small=False, rows=rows):
        assert spark.conf.get(key) == str(max(40, int(before or "0")))
    assert spark.conf.get(key) == before
    with execution_for(spark, is_small=True, rows=rows):
        assert spark.conf.get(key) == before  # a small run keeps the session's partitions
