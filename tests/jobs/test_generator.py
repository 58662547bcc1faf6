"""Generator tests: ground truth vs an independent recomputation from the landing files."""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pytest

from bronze.landing import parse_event_key
from bronze.objectstore import LocalObjectStore
from jobs.generator import generate

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


def test_daily_mrr_and_active_match_recomputation(clean: Path) -> None:
    fx = _fx(clean)
    by_sub: dict[str, list[tuple[str, str, dict[str, Any]]]] = defaultdict(list)
    for e in _events(clean)["subscription"]:
        eff = e.get("effective_date") or _utc_date(e["event_time"])
        utc = dt.datetime.fromisoformat(e["event_time"]).astimezone(dt.UTC).isoformat()
        by_sub[e["subscription_id"]].append((eff, utc, e))
    mrr: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    active: dict[tuple[str, str], int] = defaultdict(int)
    truth = _truth(clean)
    days = sorted({r["metric_date"] for r in truth})
    for history in by_sub.values():
        history.sort(key=lambda t: (t[0], t[1]))
        for day in days:
            state = [h for h in history if h[0] <= day]
            if not state or state[-1][2]["action"] not in ACTIVE:
                continue
            eff, _, e = state[-1]
            rate = Decimal(1) if e["currency"] == "USD" else fx[(eff, e["currency"])]
            value = Decimal(e["quantity"]) * Decimal(e["unit_price"]) * rate
            if e["billing_period"] == "annual":
                value = value / 12
            mrr[(day, e["region"])] += value.quantize(Q, rounding=ROUND_HALF_UP)
            active[(day, e["region"])] += 1
    for row in truth:
        key = (row["metric_date"], row["region"])
        assert Decimal(row["mrr_usd"]) == mrr[key], key
        assert int(row["active_subscriptions"]) == active[key], key
    assert sum(Decimal(r["mrr_usd"]) for r in truth) > 0


def test_net_revenue_matches_recomputation(clean: Path) -> None:
    fx = _fx(clean)
    events = _events(clean)
    region_of = {e["customer_id"]: e["region"] for e in events["subscription"]}
    net: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for p in events["payment"]:
        day = _utc_date(p["event_time"])
        rate = Decimal(1) if p["currency"] == "USD" else fx[(day, p["currency"])]
        usd = (Decimal(p["amount"]) * rate).quantize(Q, rounding=ROUND_HALF_UP)
        sign = {"succeeded": 1, "refunded": -1, "failed": 0}[p["status"]]
        net[(day, region_of[p["customer_id"]])] += sign * usd
    for row in _truth(clean):
        assert Decimal(row["net_revenue_usd"]) == net[(row["metric_date"], row["region"])]


def test_movements_bridge_and_closing(clean: Path) -> None:
    truth = {(r["metric_date"], r["region"]): r for r in _truth(clean)}
    rows = list(csv.DictReader((clean / "truth" / "mrr_movements_monthly.csv").open()))
    assert rows
    for row in rows:
        parts = ["opening", "new", "expansion", "contraction", "churn", "reactivation"]
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
    # the clean truth and the dirty truth describe the same business
    assert (clean / "truth" / "daily_region.csv").read_text() == (
        dirty / "truth" / "daily_region.csv"
    ).read_text()
