"""kill -9 of the Silver and the Gold job mid-write, then a rerun: tables equal a clean run."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from pyspark.sql import DataFrame, SparkSession

from bronze.objectstore import LocalObjectStore
from conf.settings import Settings
from jobs.bronze_job import run_bronze
from jobs.gold_job import run_gold
from jobs.lake import Lake
from jobs.silver_job import run_silver
from tests.fault.conftest import gold_checksums, tiny_lake
from tests.process_kill import kill_at_commit

pytestmark = [pytest.mark.fault, pytest.mark.integration]

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 300.0
# columns that name the run or the wall-clock time of a write, not the data
RUN_COLUMNS = ("silver_run_id", "processed_at", "quarantined_at")
SILVER_TABLES = ("subscription", "payment", "usage", "operational_cost", "quarantine")


def _kill_after_commit(lake_root: Path, module: str, commit: Path, log_path: Path) -> None:
    """Start `python -m module` on the lake and SIGKILL its process group at `commit`."""
    env = {
        **os.environ,
        "FINLAKE_LAKE_ROOT": str(lake_root),
        "FINLAKE_ENV": "test",
        "FINLAKE_FRESHNESS_MAX_HOURS": str(24 * 10_000),
        "PYTHONPATH": str(ROOT),
    }
    with log_path.open("ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", module],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    kill_at_commit(proc, commit, log_path, START_TIMEOUT_S)


def _silver_table(spark: SparkSession, settings: Settings, table: str) -> DataFrame:
    df = Lake(spark, settings).read(f"silver.{table}")
    return df.drop(*[c for c in RUN_COLUMNS if c in df.columns])


def _assert_same_silver(spark: SparkSession, got: Settings, want: Settings) -> None:
    for table in SILVER_TABLES:
        got_df = _silver_table(spark, got, table).cache()
        want_df = _silver_table(spark, want, table).cache()
        assert got_df.count() == want_df.count(), table
        assert got_df.exceptAll(want_df).count() == 0, table
        assert want_df.exceptAll(got_df).count() == 0, table
        got_df.unpersist()
        want_df.unpersist()


def test_silver_and_gold_killed_mid_write_then_rerun_equal_a_clean_run(
    spark: SparkSession, tmp_path: Path
) -> None:
    killed = tiny_lake(tmp_path / "killed", seed=8)
    run_bronze(spark, killed.settings, store=killed.store)
    shutil.copytree(killed.settings.lake_root, tmp_path / "clean")
    clean_settings = Settings(lake_root=str(tmp_path / "clean"), freshness_max_hours=24 * 10_000)
    clean_store = LocalObjectStore(clean_settings.landing)
    lake = Path(killed.settings.lake_root)

    # Silver: killed once the first event table has committed, then rerun
    first_silver = lake / "silver" / "subscription" / "_delta_log" / f"{0:020d}.json"
    _kill_after_commit(lake, "jobs.silver_job", first_silver, tmp_path / "silver.log")
    run_silver(spark, killed.settings, store=killed.store, raise_on_critical=False)
    run_silver(spark, clean_settings, store=clean_store, raise_on_critical=False)
    _assert_same_silver(spark, killed.settings, clean_settings)

    # Gold: killed once the first fact table has committed, then rerun
    first_fact = lake / "gold" / "subscriptions_snapshot" / "_delta_log" / f"{0:020d}.json"
    _kill_after_commit(lake, "jobs.gold_job", first_fact, tmp_path / "gold.log")
    assert not (lake / "gold" / "cohort_retention").exists(), "the kill must land mid-job"
    run_gold(spark, killed.settings, raise_on_critical=False)
    run_gold(spark, clean_settings, raise_on_critical=False)
    recovered = gold_checksums(spark, killed.settings)
    assert recovered and recovered == gold_checksums(spark, clean_settings)
