"""Session fixtures that generate a sample business once and run the pipeline on it."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bronze.objectstore import LocalObjectStore
from conf.settings import Settings
from jobs.generator import generate

START = dt.date(2024, 1, 1)
DAYS = 75
CUSTOMERS = 110


@dataclass
class Lake:
    """A generated lake: settings, landing store, ground truth."""

    settings: Settings
    store: LocalObjectStore
    truth_dir: Path
    manifest: dict[str, Any]


def make_lake(root: Path, defects: bool, seed: int) -> Lake:
    """Generate a sample business into a fresh lake root."""
    settings = Settings(lake_root=str(root), freshness_max_hours=24 * 400)
    store = LocalObjectStore(settings.landing)
    truth_dir = root / "truth"
    generate(
        store,
        truth_dir,
        seed=seed,
        start=START,
        days=DAYS,
        customers=CUSTOMERS,
        defects=defects,
        horizon_days=settings.restatement_horizon_days,
    )
    manifest = json.loads((truth_dir / "manifest.json").read_text())
    return Lake(settings, store, truth_dir, manifest)


@pytest.fixture(scope="session")
def dirty_lake(tmp_path_factory: pytest.TempPathFactory) -> Lake:
    """Generated with --defects (landing only)."""
    return make_lake(tmp_path_factory.mktemp("dirty-lake"), defects=True, seed=11)


@pytest.fixture(scope="session")
def clean_lake(tmp_path_factory: pytest.TempPathFactory) -> Lake:
    """Generated without defects (landing only)."""
    return make_lake(tmp_path_factory.mktemp("clean-lake"), defects=False, seed=5)


@pytest.fixture(scope="session")
def dirty_silver(spark: Any, dirty_lake: Lake) -> dict[str, Any]:
    """Bronze + Silver over the dirty lake in two arrival stages; returns both summaries."""
    from jobs.bronze_job import run_bronze
    from jobs.silver_job import run_silver

    stage_end = START + dt.timedelta(days=40)
    run_bronze(spark, dirty_lake.settings, until=stage_end, store=dirty_lake.store)
    first = run_silver(spark, dirty_lake.settings, store=dirty_lake.store)
    run_bronze(spark, dirty_lake.settings, store=dirty_lake.store)
    second = run_silver(spark, dirty_lake.settings, store=dirty_lake.store)
    return {"first": first, "second": second}
