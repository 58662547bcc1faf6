"""The shared SparkSession: Delta works and Python tasks do not carry the package JARs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
from pyspark.sql import SparkSession


def test_python_tasks_do_not_get_the_package_jars(spark: SparkSession, tmp_path: Path) -> None:
    includes: list[str] = spark.sparkContext._python_includes
    assert not [p for p in includes if p.lower().endswith(".jar")]

    def paths(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        import sys

        for _ in batches:
            yield pd.DataFrame({"entry": sys.path})

    worker_path = spark.range(1, numPartitions=1).mapInPandas(paths, "entry string").collect()
    assert not [r.entry for r in worker_path if "io.delta" in r.entry]  # e.g. io.delta_delta-*.jar
    # Delta still works: the JARs stay on the JVM classpath
    spark.range(3).write.format("delta").save(str(tmp_path / "t"))
    assert spark.read.format("delta").load(str(tmp_path / "t")).count() == 3
