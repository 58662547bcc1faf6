"""Seeded synthetic SaaS business: landing files plus ground truth."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Any

from bronze.objectstore import ObjectStore
from jobs.generator.business import REGION_WEIGHTS, BusinessSimulator, Simulation
from jobs.generator.landing_writer import write_landing, write_truth
from jobs.generator.reference import Reference, Truth


def reference_truth(sim: Simulation, as_of: dt.date) -> Truth:
    """The independent reference computation over the simulation's accepted events."""
    events = [(e.event_type, e.payload) for e in sim.events]
    return Reference(events, sim.fx_rates, as_of).compute(REGION_WEIGHTS)


def generate(
    store: ObjectStore,
    truth_dir: Path,
    *,
    seed: int = 42,
    start: dt.date | None = None,
    days: int = 365,
    customers: int = 1000,
    defects: bool = False,
    horizon_days: int = 35,
    fx_weekends: bool = True,
    with_truth: bool = True,
) -> dict[str, Any]:
    """Simulate, write landing objects and (unless `with_truth=False`) the reference truth.

    `start` defaults to `days` days before today, so the data ends today; `fx_weekends=False`
    publishes no weekend FX rates, as real feeds do.
    """
    t0 = time.perf_counter()
    start = start or dt.datetime.now(dt.UTC).date() - dt.timedelta(days=days - 1)
    sim = BusinessSimulator(seed, start, days, customers, fx_weekends).run()
    written = write_landing(sim, store, seed, defects, horizon_days)
    as_of = dt.date.fromisoformat(written["last_received_date"])
    truth = reference_truth(sim, as_of) if with_truth else None
    manifest: dict[str, Any] = {
        "seed": seed,
        "start_date": start.isoformat(),
        "end_date": (start + dt.timedelta(days=days - 1)).isoformat(),
        "days": days,
        "customers_target": customers,
        "defects_enabled": defects,
        "restatement_horizon_days": horizon_days,
        "fx_weekends": fx_weekends,
        "as_of": as_of.isoformat(),
        "events": len(sim.events),
        **written,
    }
    manifest["seconds"] = round(time.perf_counter() - t0, 2)
    write_truth(truth, truth_dir, manifest)
    return manifest
