"""Generator tests: ground truth vs an independent recomputation from the landing files."""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from bronze.landing import parse_event_key
from bronze.objectstore import LocalObjectStore
from jobs.generator import generate, reference_truth
from jobs.generator.business import BusinessSimulator

ACTIVE = {"activated", "upgraded", "downgraded", "renewed", "reactivated"}
Q = Decimal("0.0001")


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("gen-clean")
    generate(LocalObjectStore(root / "landing"), root / "truth", seed=7, days=100, customers=150)
    return root


@pytest.fixture(scope="module")
def dirty(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("gen-dirty")
    generate(
        LocalObjectStore(root / "landing"),
        root / "truth",
        seed=7,
        days=100,
        customers=150,
        defects=True,
    )
    return root


def _events(root: Path) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    store = LocalObjectStore(root / "landing")
    for key in store.list("events/"):
        event_type = parse_event_key(key).event_type
        for line in store.get(key).splitlines():
            out[event_type].append(json.loads(line))
    return out


def _fx(root: Path) -> dict[tuple[str, str], Decimal]:
    store = LocalObjectStore(root / "landing")
    (key,) = list(store.list("reference/fx_rates/"))
    rows = csv.DictReader(store.get(key).decode().splitlines())
    return {(r["rate_date"], r["currency"]): Decimal(r["rate_to_usd"]) for r in rows}


def _utc_date(ts: str) -> str:
    return dt.datetime.fromisoformat(ts).astimezone(dt.UTC).date().isoformat()


def _truth(root: Path) -> list[dict[str, str]]:
    return list(csv.DictReader((root / "truth" / "daily_region.csv").open()))


def test_generation_is_deterministic(tmp_path: Path) -> None:
    a = generate(LocalObjectStore(tmp_path / "a"), tmp_path / "ta", seed=3, days=20, customers=20)
    b = generate(LocalObjectStore(tmp_path / "b"), tmp_path / "tb", seed=3, days=20, customers=20)
    keys_a = list(LocalObjectStore(tmp_path / "a").list())
    assert keys_a == list(LocalObjectStore(tmp_path / "b").list())
    assert all(
        LocalObjectStore(tmp_path / "a").get(k) == LocalObjectStore(tmp_path / "b").get(k)
        for k in keys_a
    )
    assert a["events"] == b["events"] > 0


def test_events_follow_the_contracts(clean: Path) -> None:
    from bronze.contracts import EVENT_MODELS

    events = _events(clean)
    assert set(events) == set(EVENT_MODELS)
    for event_type, rows in events.items():
        for row in rows[:500]:
            EVENT_MODELS[event_type].model_validate(row)  # type: ignore[index]
    subs = events["subscription"]
    assert {r["region"] for r in subs} == {"NA", "EMEA", "APAC", "LATAM"}
    assert {r["customer_segment"] for r in subs} >= {"smb", "mid_market"}
    assert {r["billing_period"] for r in subs} == {"monthly", "annual"}
    actions = {r["action"] for r in subs}
    assert actions >= {"trial_started", "activated", "upgraded", "downgraded", "cancelled"}
    assert {r.get("cancel_reason") for r in subs if r["action"] == "cancelled"} >= {
        "voluntary",
        "involuntary",
    }
    assert {r["status"] for r in events["payment"]} == {"succeeded", "failed", "refunded"}
    assert {r["currency"] for r in events["payment"]} >= {"USD", "EUR", "GBP"}


@pytest.mark.parametrize("fx_weekends", [True, False])
def test_simulation_state_equals_the_reference_implementation(fx_weekends: bool) -> None:
    """Two independent computations agree: the simulator's own state and the reference
    implementation over the events it emitted (daily MRR, active subscriptions, revenue by
    region and day, net revenue by plan and month), with and without weekend FX rates."""
    sim = BusinessSimulator(11, dt.date(2024, 1, 1), 75, 110, fx_weekends=fx_weekends).run()
    truth = reference_truth(sim, sim.start + dt.timedelta(days=sim.days + 9))
    assert {k: v for k, v in truth.mrr_daily.items() if k in sim.mrr_daily} == sim.mrr_daily
    assert {k: truth.active_daily[k] for k in sim.active_daily} == sim.active_daily
    zero = {"gross": Decimal(0), "refunds": Decimal(0), "failed": Decimal(0)}
    keys = set(sim.revenue_daily) | set(truth.revenue_daily)
    assert all(sim.revenue_daily.get(k, zero) == truth.revenue_daily.get(k, zero) for k in keys)
    plans = set(sim.revenue_plan_monthly) | set(truth.revenue_plan_monthly)
    assert all(
        sim.revenue_plan_monthly.get(k, 0) == truth.revenue_plan_monthly.get(k, 0) for k in plans
    )
    actions = {e.payload["action"] for e in sim.events if e.event_type == "subscription"}
    assert {"renewed", "upgraded", "downgraded", "cancelled"} <= actions
    if not fx_weekends:
        assert not any(d.weekday() >= 5 for d, _ in sim.fx_rates)


def test_movements_bridge_per_region_and_closing(clean: Path) -> None:
    truth = {(r["metric_date"], r["region"]): r for r in _truth(clean)}
    rows = list(csv.DictReader((clean / "truth" / "mrr_movements_monthly.csv").open()))
    assert rows
    parts = ["opening", "new", "expansion", "contraction", "churn", "reactivation", "transfer"]
    for row in rows:
        assert sum(Decimal(row[f"{p}_mrr_usd"]) for p in parts) == Decimal(row["closing_mrr_usd"])
        assert Decimal(row["contraction_mrr_usd"]) <= 0
        assert Decimal(row["churn_mrr_usd"]) <= 0
        month = dt.date.fromisoformat(row["month_start_date"])
        last = min(
            dt.date.fromisoformat(max(d for d, _ in truth)),
            (month + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1),
        )
        assert Decimal(row["closing_mrr_usd"]) == Decimal(
            truth[(last.isoformat(), row["region"])]["mrr_usd"]
        )
    by_month: dict[str, Decimal] = defaultdict(Decimal)
    for row in rows:
        by_month[row["month_start_date"]] += Decimal(row["transfer_mrr_usd"])
    assert set(by_month.values()) == {Decimal(0)}  # transfers cancel out across regions


def test_defect_counts_are_exact(clean: Path, dirty: Path) -> None:
    manifest = json.loads((dirty / "truth" / "manifest.json").read_text())
    counts = manifest["defects"]
    assert all(v > 0 for v in counts.values()), counts
    store = LocalObjectStore(dirty / "landing")
    malformed, parsed = 0, []
    for key in store.list("events/"):
        for line in store.get(key).splitlines():
            try:
                parsed.append((parse_event_key(key), json.loads(line.decode("utf-8"))))
            except (UnicodeDecodeError, json.JSONDecodeError):
                malformed += 1
    assert malformed == counts["malformed_lines"]
    nulls = sum(1 for _, p in parsed if p.get("customer_id", "x") is None)
    assert nulls == counts["null_required"]
    assert sum(1 for _, p in parsed if p.get("amount") == "-10.00") == counts["out_of_range"]
    orphans = sum(1 for _, p in parsed if str(p.get("invoice_id", "")).startswith("inv_x"))
    assert orphans == counts["orphan_refunds"]
    assert (
        sum(1 for _, p in parsed if p.get("plan_id") == "legacy_platinum") == counts["unknown_plan"]
    )
    seen: dict[str, dict[str, Any]] = {}
    exact = conflicts = 0
    for _, payload in sorted(parsed, key=lambda t: t[0].received_at):
        first = seen.setdefault(payload["event_id"], payload)
        if first is not payload:
            if first == payload:
                exact += 1
            else:
                conflicts += 1
    assert (exact, conflicts) == (counts["exact_duplicates"], counts["conflicting_duplicates"])
    lag = [
        (k.received_at.date() - dt.date.fromisoformat(_utc_date(p["event_time"]))).days
        for k, p in parsed
    ]
    horizon = manifest["restatement_horizon_days"]
    assert sum(1 for d in lag if d > horizon) == counts["too_late"]
    # late events are received after 1 day but within the horizon (exact duplicates may lag too)
    assert sum(1 for d in lag if 1 < d <= horizon) >= counts["late_events"]
    # the clean truth and the dirty truth describe the same business (the dirty one runs on to
    # its later last arrival, with state carried forward)
    clean_rows = (clean / "truth" / "daily_region.csv").read_text().splitlines()
    dirty_rows = (dirty / "truth" / "daily_region.csv").read_text().splitlines()
    assert dirty_rows[: len(clean_rows)] == clean_rows
