"""Fault-suite fixtures: a tiny generated lake through Bronze and Silver, and Gold checksums."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path
from typing import Any

import pytest
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from bronze.objectstore import LocalObjectStore
from conf.settings import Settings
from jobs.generator import generate
from tests.integration.conftest import disposable_s3_server  # noqa: F401  (shared fixture)
from tests.pipeline_fixtures import GeneratedLake

START = dt.date(2024, 1, 1)
DAYS = 21
CUSTOMERS = 12


def tiny_lake(root: Path, seed: int = 3) -> GeneratedLake:
    """A small generated business (landing only)."""
    settings = Settings(
        lake_root=str(root), freshness_max_hours=24 * 10_000, max_quarantine_ratio=0.5
    )
    store = LocalObjectStore(settings.landing)
    manifest = generate(
        store,
        root / "truth",
        seed=seed,
        start=START,
        days=DAYS,
        customers=CUSTOMERS,
        horizon_days=settings.restatement_horizon_days,
    )
    return GeneratedLake(settings, store, root / "truth", manifest)


@pytest.fixture(scope="session")
def silver_lake(spark: SparkSession, tmp_path_factory: pytest.TempPathFactory) -> GeneratedLake:
    """A tiny lake with Bronze and Silver built (no Gold yet)."""
    from jobs.bronze_job import run_bronze
    from jobs.silver_job import run_silver

    lake = tiny_lake(tmp_path_factory.mktemp("fault-lake"))
    run_bronze(spark, lake.settings, store=lake.store)
    run_silver(spark, lake.settings, store=lake.store, raise_on_critical=False)
    return lake


def copy_lake(lake: GeneratedLake, root: Path) -> GeneratedLake:
    """An independent copy of a lake (Delta logs hold relative file paths)."""
    shutil.copytree(lake.settings.lake_root, root)
    settings = Settings(
        lake_root=str(root), freshness_max_hours=24 * 10_000, max_quarantine_ratio=0.5
    )
    return GeneratedLake(
        settings, LocalObjectStore(settings.landing), root / "truth", lake.manifest
    )


def gold_checksums(spark: SparkSession, settings: Settings) -> dict[str, Any]:
    """Per Gold table: row count and an order-independent sum of row sha256 prefixes."""
    out: dict[str, Any] = {}
    for table in sorted((Path(settings.lake_root) / "gold").iterdir()):
        if not (table / "_delta_log").is_dir():
            continue
        df = spark.read.format("delta").load(str(table))
        row_hash = F.sha2(F.to_json(F.struct(*[F.col(c) for c in sorted(df.columns)])), 256)
        parts = [
            F.sum(F.conv(F.substring(row_hash, i, 15), 16, 10).cast("decimal(38,0)"))
            for i in (1, 50)
        ]
        row = df.agg(F.count("*"), *parts).first()
        assert row is not None
        out[table.name] = (int(row[0]), str(row[1]), str(row[2]))
    return out
