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
class GeneratedLake:
    """A generated lake: settings, landing store, ground truth."""

    settings: Settings
    store: LocalObjectStore
    truth_dir: Path
    manifest: dict[str, Any]
    start: dt.date = START


def make_lake(
    root: Path, defects: bool, seed: int, days: int = DAYS, customers: int = CUSTOMERS
) -> GeneratedLake:
    """Generate a sample business into a fresh lake root."""
    # generated lakes carry deliberate defects; small ones exceed the production ratio gate
    settings = Settings(
        lake_root=str(root), freshness_max_hours=24 * 365 * 30, max_quarantine_ratio=0.5
    )
    store = LocalObjectStore(settings.landing)
    truth_dir = root / "truth"
    generate(
        store,
        truth_dir,
        seed=seed,
        start=START,
        days=days,
        customers=customers,
        defects=defects,
        horizon_days=settings.restatement_horizon_days,
    )
    manifest = json.loads((truth_dir / "manifest.json").read_text())
    return GeneratedLake(settings, store, truth_dir, manifest, START)


@pytest.fixture(scope="session")
def dirty_lake(tmp_path_factory: pytest.TempPathFactory) -> GeneratedLake:
    """Generated with --defects (landing only)."""
    return make_lake(tmp_path_factory.mktemp("dirty-lake"), defects=True, seed=11)


@pytest.fixture(scope="session")
def clean_lake(tmp_path_factory: pytest.TempPathFactory) -> GeneratedLake:
    """Generated without defects (landing only)."""
    return make_lake(tmp_path_factory.mktemp("clean-lake"), defects=False, seed=5)


def run_pipeline(spark: Any, lake: GeneratedLake, until: dt.date | None = None) -> dict[str, Any]:
    """Bronze, Silver and Gold for the objects received up to `until` (all if None)."""
    from jobs.bronze_job import run_bronze
    from jobs.gold_job import run_gold
    from jobs.silver_job import run_silver

    bronze = run_bronze(spark, lake.settings, until=until, store=lake.store)
    silver = run_silver(spark, lake.settings, store=lake.store)
    gold = run_gold(spark, lake.settings)
    return {"bronze": bronze, "silver": silver, "gold": gold}


def first_late_business_date(lake: GeneratedLake) -> dt.date:
    """Business date of the earliest event received 6 to 20 days late (a true late event)."""
    from bronze.landing import parse_event_key

    dates = []
    for key in lake.store.list("events/"):
        parsed = parse_event_key(key)
        if parsed.event_type not in ("payment", "subscription"):
            continue  # usage does not move published metrics
        received = parsed.received_at.date()
        for line in lake.store.get(key).splitlines():
            try:
                event_time = json.loads(line)["event_time"]
            except (ValueError, KeyError, TypeError):
                continue
            day = dt.datetime.fromisoformat(event_time).astimezone(dt.UTC).date()
            if 6 <= (received - day).days <= 20:
                dates.append(day)
    return min(dates)


@pytest.fixture(scope="session")
def dirty_pipeline(spark: Any, dirty_lake: GeneratedLake) -> dict[str, Any]:
    """The pipeline over the dirty lake in two arrival stages; a late event crosses them."""
    stage_end = first_late_business_date(dirty_lake) + dt.timedelta(days=1)
    first = run_pipeline(spark, dirty_lake, until=stage_end)
    second = run_pipeline(spark, dirty_lake)
    return {"first": first, "second": second, "stage_end": stage_end}


@pytest.fixture(scope="session")
def dirty_silver(dirty_pipeline: dict[str, Any]) -> dict[str, Any]:
    """Silver summaries of the two stages."""
    return {k: dirty_pipeline[k]["silver"] for k in ("first", "second")}


@pytest.fixture(scope="session")
def clean_pipeline(spark: Any, clean_lake: GeneratedLake) -> dict[str, Any]:
    """The whole pipeline over the clean lake in one run."""
    return run_pipeline(spark, clean_lake)
