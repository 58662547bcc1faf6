"""Turn a simulation into landing objects, reference files and ground-truth files.

With ``defects=True`` a second seeded RNG injects bad input, each injected row failing exactly
one rule so the expected quarantine count per rule is exact:

- ``null_required``: a payment copy (new event_id) with ``customer_id`` null;
- ``out_of_range``: a payment copy (new event_id) with a negative amount;
- ``unknown_plan``: a subscription copy (new event and subscription ids) on a plan not in the
  catalog;
- ``exact_duplicates``: a real event sent again with the identical payload (dropped);
- ``conflicting_duplicates``: a real payment's event_id sent later with a different amount
  (quarantined; the first version wins);
- ``late_events``: real events received days after their business date but inside the
  restatement horizon (accepted; Gold restates);
- ``too_late``: usage copies (new event_id) received after the restatement horizon;
- ``orphan_refunds``: a refund copy (new event, payment and invoice ids) of a payment that
  was never made (quarantined as ``ref:refunded_payment``);
- ``malformed_lines``: lines that are not JSON or not UTF-8.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import random
import uuid
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from bronze.landing import event_key, reference_key
from bronze.objectstore import ObjectStore
from jobs.generator.business import PLANS, Simulation
from jobs.generator.reference import Truth

DEFECT_KINDS = (
    "null_required",
    "out_of_range",
    "unknown_plan",
    "exact_duplicates",
    "conflicting_duplicates",
    "late_events",
    "too_late",
    "orphan_refunds",
    "malformed_lines",
)


@dataclass(frozen=True)
class Line:
    """One landing line: raw bytes and the day it is received."""

    event_type: str
    data: bytes
    received_date: dt.date


def _dumps(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode()


def _with_defects(
    sim: Simulation, seed: int, horizon_days: int
) -> tuple[list[Line], dict[str, int]]:
    rng = random.Random(seed + 7919)
    events = sim.events
    n = max(3, len(events) // 2500)
    counts = dict.fromkeys(DEFECT_KINDS, 0)
    received: dict[int, dt.date] = {i: e.business_date for i, e in enumerate(events)}
    extra: list[Line] = []
    used: set[int] = set()

    def new_uuid() -> str:
        return str(uuid.UUID(int=rng.getrandbits(128), version=4))

    def pick(candidates: list[int], k: int) -> list[int]:
        pool = [i for i in candidates if i not in used]
        chosen = rng.sample(pool, min(k, len(pool)))
        used.update(chosen)
        return sorted(chosen)

    payments = [i for i, e in enumerate(events) if e.event_type == "payment"]
    subs = [i for i, e in enumerate(events) if e.event_type == "subscription"]
    usage = [i for i, e in enumerate(events) if e.event_type == "usage"]
    changes = [
        i for i in subs if events[i].payload["action"] in {"upgraded", "downgraded", "renewed"}
    ]

    for i in pick(payments, n):
        bad = dict(events[i].payload, event_id=new_uuid(), customer_id=None)
        extra.append(Line("payment", _dumps(bad), events[i].business_date))
        counts["null_required"] += 1
    for i in pick(payments, n):
        bad = dict(events[i].payload, event_id=new_uuid(), amount="-10.00")
        extra.append(Line("payment", _dumps(bad), events[i].business_date))
        counts["out_of_range"] += 1
    for i in pick(subs, n):
        bad = dict(
            events[i].payload,
            event_id=new_uuid(),
            subscription_id=f"sub_x{i}",
            plan_id="legacy_platinum",
        )
        extra.append(Line("subscription", _dumps(bad), events[i].business_date))
        counts["unknown_plan"] += 1
    for i in pick(list(range(len(events))), n):
        delay = dt.timedelta(days=rng.randint(0, 3))
        extra.append(Line(events[i].event_type, _dumps(events[i].payload), received[i] + delay))
        counts["exact_duplicates"] += 1
    for i in pick(payments, n):
        payload = events[i].payload
        changed = dict(payload, amount=f"{Decimal(payload['amount']) + 1:.2f}")
        delay = dt.timedelta(days=rng.randint(1, 5))
        extra.append(Line("payment", _dumps(changed), received[i] + delay))
        counts["conflicting_duplicates"] += 1
    for i in pick(payments, n) + pick(changes, n) + pick(usage, n):
        received[i] = events[i].business_date + dt.timedelta(days=rng.randint(3, 20))
        counts["late_events"] += 1
    for i in pick(usage, n):
        late = dict(events[i].payload, event_id=new_uuid())
        delay = dt.timedelta(days=horizon_days + rng.randint(5, 30))
        extra.append(Line("usage", _dumps(late), events[i].business_date + delay))
        counts["too_late"] += 1
    for i in pick([p for p in payments if events[p].payload["status"] == "succeeded"], n):
        orphan = dict(
            events[i].payload,
            event_id=new_uuid(),
            payment_id=f"pay_x{i}",
            invoice_id=f"inv_x{i}",
            status="refunded",
        )
        extra.append(Line("payment", _dumps(orphan), events[i].business_date))
        counts["orphan_refunds"] += 1
    lines = [
        Line(e.event_type, _dumps(e.payload), received[i]) for i, e in enumerate(events)
    ] + extra
    for k in range(n):
        target = rng.choice(lines)
        garbage = b'{"event_id": "broken' if k % 2 == 0 else b"\xff\xfe\x00 not utf8 \xc3\x28"
        lines.append(Line(target.event_type, garbage, target.received_date))
        counts["malformed_lines"] += 1
    return lines, counts


def write_landing(
    sim: Simulation,
    store: ObjectStore,
    seed: int,
    defects: bool,
    horizon_days: int,
) -> dict[str, Any]:
    """Write event objects (one per type and received day) and reference data."""
    if defects:
        lines, counts = _with_defects(sim, seed, horizon_days)
    else:
        lines = [Line(e.event_type, _dumps(e.payload), e.business_date) for e in sim.events]
        counts = dict.fromkeys(DEFECT_KINDS, 0)
    grouped: dict[tuple[str, dt.date], list[bytes]] = defaultdict(list)
    for line in lines:
        grouped[(line.event_type, line.received_date)].append(line.data)
    rng = random.Random(seed + 104729)
    objects = 0
    for (event_type, day), datas in sorted(grouped.items()):
        rng.shuffle(datas)
        received_at = dt.datetime.combine(day, dt.time(23, 59, 59, 999_999), dt.UTC)
        object_id = uuid.UUID(int=rng.getrandbits(128), version=4).hex
        key = event_key(event_type, received_at, "batch", object_id)  # type: ignore[arg-type]
        store.put_if_absent(key, b"\n".join(datas) + b"\n")
        objects += 1
    store.put_if_absent(reference_key("plans", f"plans-{seed}"), _plans_csv())
    store.put_if_absent(reference_key("fx_rates", f"fx-{seed}"), _fx_csv(sim))
    per_type: dict[str, int] = defaultdict(int)
    for line in lines:
        per_type[line.event_type] += 1
    return {
        "objects": objects,
        "lines": len(lines),
        "lines_per_type": dict(per_type),
        "defects": counts,
        "last_received_date": max(line.received_date for line in lines).isoformat(),
    }


def _plans_csv() -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["plan_id", "plan_name", "tier", "billing_period", "currency", "list_price"])
    for plan in PLANS:
        writer.writerow(
            [plan.plan_id, plan.plan_name, plan.tier, plan.billing_period, "USD", plan.list_price]
        )
    return out.getvalue().encode()


def _fx_csv(sim: Simulation) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["rate_date", "currency", "rate_to_usd"])
    days = sorted({d for d, _ in sim.fx_rates})
    for day in days:
        writer.writerow([day.isoformat(), "USD", "1.000000"])
        for currency in sorted({c for _, c in sim.fx_rates}):
            writer.writerow([day.isoformat(), currency, f"{sim.fx_rates[(day, currency)]:.6f}"])
    return out.getvalue().encode()


def write_truth(truth: Truth | None, truth_dir: Path, manifest: dict[str, Any]) -> None:
    """Write the reference truth (if computed) and the manifest (with defect counts)."""
    truth_dir.mkdir(parents=True, exist_ok=True)
    if truth is not None:
        _write_daily(truth, truth_dir / "daily_region.csv")
        _write_rows(
            truth_dir / "mrr_movements_monthly.csv",
            ["month_start_date", "region", *[f"{c}_mrr_usd" for c in MOVEMENT_COLUMNS]],
            (
                [month.isoformat(), region, *[f"{bucket[c]:.4f}" for c in MOVEMENT_COLUMNS]]
                for (month, region), bucket in sorted(truth.movements.items())
            ),
        )
        _write_rows(
            truth_dir / "churn_monthly.csv",
            ["month_start_date", "region", *CHURN_COLUMNS],
            (
                [month.isoformat(), region, *[_fmt(row[c]) for c in CHURN_COLUMNS]]
                for (month, region), row in sorted(truth.churn.items())
            ),
        )
        _write_rows(
            truth_dir / "revenue_plan_monthly.csv",
            ["month_start_date", "plan_id", "net_revenue_usd"],
            (
                [month.isoformat(), plan_id, f"{net:.4f}"]
                for (month, plan_id), net in sorted(truth.revenue_plan_monthly.items())
            ),
        )
    (truth_dir / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str) + "\n")


MOVEMENT_COLUMNS = (
    "opening",
    "new",
    "expansion",
    "contraction",
    "churn",
    "reactivation",
    "transfer",
    "closing",
)
CHURN_COLUMNS = (
    "opening_customers",
    "churned_customers",
    "voluntary_churned_customers",
    "involuntary_churned_customers",
    "opening_mrr_usd",
    "retained_mrr_usd",
    "cohort_closing_mrr_usd",
    "logo_churn_rate",
    "grr",
    "nrr",
)


def _fmt(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return f"{value:.4f}" if value == value.quantize(Decimal("0.0001")) else str(value)
    return str(value)


def _write_rows(path: Path, header: list[str], rows: Any) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def _write_daily(truth: Truth, path: Path) -> None:
    zero = Decimal(0)
    empty = {"gross": zero, "refunds": zero, "failed": zero}
    rows = []
    for (day, region), mrr in sorted(truth.mrr_daily.items()):
        revenue = truth.revenue_daily.get((day, region), empty)
        rows.append(
            [
                day.isoformat(),
                region,
                f"{mrr:.4f}",
                truth.active_daily[(day, region)],
                f"{revenue['gross']:.4f}",
                f"{revenue['refunds']:.4f}",
                f"{revenue['gross'] - revenue['refunds']:.4f}",
                f"{revenue['failed']:.4f}",
                f"{truth.costs_daily.get((day, region), zero):.4f}",
            ]
        )
    _write_rows(
        path,
        [
            "metric_date",
            "region",
            "mrr_usd",
            "active_subscriptions",
            "gross_revenue_usd",
            "refunds_usd",
            "net_revenue_usd",
            "failed_payments_usd",
            "costs_usd",
        ],
        rows,
    )
