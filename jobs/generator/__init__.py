"""Seeded synthetic SaaS business: landing files plus ground truth."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Any

from bronze.objectstore import ObjectStore
from jobs.generator.business import BusinessSimulator
from jobs.generator.landing_writer import write_landing, write_truth


def generate(
    store: ObjectStore,
    truth_dir: Path,
    *,
    seed: int = 42,
    start: dt.date = dt.date(2024, 1, 1),
    days: int = 365,
    customers: int = 1000,
    defects: bool = False,
    horizon_days: int = 35,
) -> dict[str, Any]:
    """Simulate, write landing objects and ground truth; return the manifest."""
    t0 = time.perf_counter()
    sim = BusinessSimulator(seed, start, days, customers).run()
    written = write_landing(sim, store, seed, defects, horizon_days)
    manifest: dict[str, Any] = {
        "seed": seed,
        "start_date": start.isoformat(),
        "end_date": (start + dt.timedelta(days=days - 1)).isoformat(),
        "days": days,
        "customers_target": customers,
        "defects_enabled": defects,
        "restatement_horizon_days": horizon_days,
        "events": len(sim.events),
        **written,
    }
    manifest["seconds"] = round(time.perf_counter() - t0, 2)
    write_truth(sim, truth_dir, manifest)
    return manifest
