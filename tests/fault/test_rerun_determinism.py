"""Three runs of the whole pipeline over the same data give identical Gold tables."""

from __future__ import annotations

from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from jobs.gold_job import run_gold
from jobs.lake import Lake
from jobs.pipeline import replay
from tests.fault.conftest import copy_lake, gold_checksums
from tests.pipeline_fixtures import GeneratedLake

pytestmark = [pytest.mark.fault, pytest.mark.integration]


def test_three_pipeline_runs_give_identical_gold(
    spark: SparkSession, silver_lake: GeneratedLake, tmp_path: Path
) -> None:
    """Run 1 builds Gold; runs 2 and 3 rebuild Silver and Gold from Bronze (replay)."""
    lake = copy_lake(silver_lake, tmp_path / "lake")
    run_gold(spark, lake.settings, raise_on_critical=False)
    first = gold_checksums(spark, lake.settings)
    assert first and all(rows > 0 for rows, _, _ in first.values())
    version = Lake(spark, lake.settings).version("bronze.events")
    assert version is not None
    for _ in range(2):
        replay(spark, lake.settings, version)
        assert gold_checksums(spark, lake.settings) == first
