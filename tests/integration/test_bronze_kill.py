"""Bronze reliability: a Bronze job SIGKILLed after its first chunk commit recovers exactly."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from bronze.objectstore import LocalObjectStore
from conf.settings import Settings
from jobs.bronze_job import run_bronze
from jobs.generator import generate
from jobs.lake import Lake
from tests.process_kill import kill_at_commit

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
CHUNK = 4
COMPARED_OUT = ("batch_id", "ingested_at")
START_TIMEOUT_S = 240.0


def _bronze_env(lake_root: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        FINLAKE_LAKE_ROOT=str(lake_root),
        FINLAKE_ENV="test",
        FINLAKE_API_KEYS=json.dumps({"test-ingest-key-7f3a9c2e5b8d4f01": ["ingest"]}),
        FINLAKE_BRONZE_CHUNK_OBJECTS=str(CHUNK),
        PYTHONPATH=str(ROOT),
    )
    return env


def _start_bronze(lake_root: Path, log_path: Path) -> subprocess.Popen[bytes]:
    """The Bronze entry point in its own process group (Python driver + its JVM)."""
    with log_path.open("ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "jobs.bronze_job"],
            cwd=ROOT,
            env=_bronze_env(lake_root),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _compared(df: DataFrame) -> DataFrame:
    return df.drop(*COMPARED_OUT)


def test_bronze_killed_after_first_commit_recovers_exactly(
    spark: SparkSession, tmp_path: Path
) -> None:
    killed_root, clean_root = tmp_path / "killed", tmp_path / "clean"
    store = LocalObjectStore(killed_root / "landing")
    generate(store, tmp_path / "truth", seed=23, start=dt.date(2024, 1, 1), days=20, customers=25)
    shutil.copytree(killed_root / "landing", clean_root / "landing")
    keys = list(store.list("events/"))
    assert len(keys) > 4 * CHUNK, "the lake must span several chunks"

    # 1. start Bronze, SIGKILL the whole process group once the first data commit appears
    log_path = tmp_path / "bronze-killed.log"
    proc = _start_bronze(killed_root, log_path)
    first_commit = killed_root / "bronze" / "events" / "_delta_log" / f"{1:020d}.json"
    kill_at_commit(proc, first_commit, log_path, START_TIMEOUT_S)

    settings = Settings(lake_root=str(killed_root))
    partial = Lake(spark, settings).read("bronze.events")
    partial_objects = partial.select("source_object_key").distinct().count()
    assert 0 < partial_objects < len(keys), "the kill must land between chunk commits"

    # 2. rerun the same entry point to completion
    rerun = subprocess.run(
        [sys.executable, "-m", "jobs.bronze_job"],
        cwd=ROOT,
        env=_bronze_env(killed_root),
        capture_output=True,
        timeout=600,
        check=False,
    )
    assert rerun.returncode == 0, rerun.stderr.decode()[-3000:]

    # 3. one clean run on an identical copy of the landing zone
    clean_settings = Settings(lake_root=str(clean_root))
    run_bronze(spark, clean_settings, store=LocalObjectStore(clean_root / "landing"))

    recovered = _compared(Lake(spark, settings).read("bronze.events")).cache()
    clean = _compared(Lake(spark, clean_settings).read("bronze.events")).cache()
    assert recovered.count() == clean.count() > 0
    assert recovered.exceptAll(clean).count() == 0
    assert clean.exceptAll(recovered).count() == 0
    # no duplicates: every landed line exactly once
    dupes = recovered.groupBy("source_object_key", "line_number").count().filter("count > 1")
    assert dupes.count() == 0
    # no gaps: every landing object is in Bronze
    landed = {r[0] for r in recovered.select("source_object_key").distinct().collect()}
    assert landed == set(keys)
    # the rerun appended exactly the objects the killed run had not committed
    per_batch = (
        Lake(spark, settings)
        .read("bronze.events")
        .groupBy("source_object_key")
        .agg(F.countDistinct("batch_id").alias("batches"))
        .filter("batches > 1")
    )
    assert per_batch.count() == 0
    recovered.unpersist()
    clean.unpersist()
