"""A slow, obviously-correct reference implementation of the Gold metrics (pure Python).

It reads accepted event payloads and the published FX rates and computes, day by day, what
`shared/DESIGN.md` section 4 defines — sharing no code with `gold/` or `silver/`, so the Gold
truth tests compare two independent implementations of the definitions:

- FX: a date converts at the latest rate published on or before it; USD is 1.
- A subscription's state on day d is its change with the latest effective date <= d (the
  last by event_time, then event_id, among changes of one effective date). Active actions
  carry MRR = round_half_up(quantity x unit_price x rate(effective date) / (12 if annual), 4).
- A customer's attributes on day d come from their latest subscription event effective on or
  before d (the earliest event's before their first).
- Daily MRR and active subscriptions per region: active subscriptions on d, in the region of
  their customer on d.
- Movements per month and region from each customer's (MRR, region) change between
  consecutive days: new / reactivation / expansion / contraction / churn, and transfers when a
  customer with MRR moves region.
- Churn over the customers with MRR at the month's opening: logo churn, GRR and NRR.
- Revenue: payments on their date; refunds on their date but with the refunded payment's
  plan, region and rate (the latest succeeded payment of the invoice at or before the refund).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

ACTIVE = {"activated", "upgraded", "downgraded", "renewed", "reactivated"}
FOUR = Decimal("0.0001")
ZERO = Decimal(0)


def _round(value: Decimal) -> Decimal:
    return value.quantize(FOUR, rounding=ROUND_HALF_UP)


def _utc_date(timestamp: str) -> dt.date:
    return dt.datetime.fromisoformat(timestamp.replace("Z", "+00:00")).astimezone(dt.UTC).date()


def _month(day: dt.date) -> dt.date:
    return day.replace(day=1)


@dataclass
class Rates:
    """Published FX rates with the as-of lookup."""

    published: Mapping[tuple[dt.date, str], Decimal]

    def __post_init__(self) -> None:
        self._by_currency: dict[str, list[tuple[dt.date, Decimal]]] = defaultdict(list)
        for (day, currency), rate in sorted(self.published.items()):
            self._by_currency[currency].append((day, rate))

    def rate(self, day: dt.date, currency: str) -> Decimal:
        """The latest rate published on or before `day` (KeyError if there is none)."""
        if currency == "USD":
            return Decimal(1)
        best = None
        for rate_day, rate in self._by_currency[currency]:
            if rate_day <= day:
                best = rate
        if best is None:
            raise KeyError(f"no {currency} rate on or before {day}")
        return best


@dataclass
class Truth:
    """Everything the reference computes."""

    mrr_daily: dict[tuple[dt.date, str], Decimal] = field(default_factory=dict)
    active_daily: dict[tuple[dt.date, str], int] = field(default_factory=dict)
    revenue_daily: dict[tuple[dt.date, str], dict[str, Decimal]] = field(default_factory=dict)
    costs_daily: dict[tuple[dt.date, str], Decimal] = field(default_factory=dict)
    revenue_plan_monthly: dict[tuple[dt.date, str], Decimal] = field(default_factory=dict)
    movements: dict[tuple[dt.date, str], dict[str, Decimal]] = field(default_factory=dict)
    churn: dict[tuple[dt.date, str], dict[str, Any]] = field(default_factory=dict)


class Reference:
    """Reference computation over accepted events (`[(event_type, payload), ...]`)."""

    def __init__(
        self,
        events: Iterable[tuple[str, Mapping[str, Any]]],
        fx: Mapping[tuple[dt.date, str], Decimal],
        as_of: dt.date,
    ) -> None:
        self.rates = Rates(fx)
        self.as_of = as_of
        self.subscriptions: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.customer_events: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.payments: list[Mapping[str, Any]] = []
        self.costs: list[Mapping[str, Any]] = []
        for event_type, payload in events:
            if event_type == "subscription":
                change = dict(payload)
                change["_effective"] = (
                    dt.date.fromisoformat(payload["effective_date"])
                    if payload.get("effective_date")
                    else _utc_date(payload["event_time"])
                )
                change["_at"] = dt.datetime.fromisoformat(payload["event_time"])
                self.subscriptions[payload["subscription_id"]].append(change)
                self.customer_events[payload["customer_id"]].append(change)
            elif event_type == "payment":
                self.payments.append(payload)
            elif event_type == "operational_cost":
                self.costs.append(payload)
        dates = [c["_effective"] for cs in self.subscriptions.values() for c in cs]
        dates += [_utc_date(p["event_time"]) for p in self.payments]
        dates += [dt.date.fromisoformat(c["incurred_date"]) for c in self.costs]
        self.first_day = min(dates)

    # ------------------------------------------------------------------------ states
    def subscription_state(self, subscription_id: str, day: dt.date) -> dict[str, Any] | None:
        """The change in force on `day` (None before the first change)."""
        candidates = [c for c in self.subscriptions[subscription_id] if c["_effective"] <= day]
        if not candidates:
            return None
        return max(candidates, key=lambda c: (c["_effective"], c["_at"], c["event_id"]))

    def mrr(self, change: Mapping[str, Any]) -> Decimal:
        """MRR in USD of an active state, at the rate of its effective date."""
        value = (
            Decimal(change["quantity"])
            * Decimal(str(change["unit_price"]))
            * self.rates.rate(change["_effective"], change["currency"])
        )
        if change["billing_period"] == "annual":
            value = value / Decimal(12)
        return _round(value)

    def attributes(self, customer_id: str, day: dt.date) -> tuple[str, str]:
        """(region, segment) of the customer on `day`."""
        events = self.customer_events[customer_id]
        first_day = min(e["_effective"] for e in events)
        pool = [e for e in events if e["_effective"] <= max(day, first_day)]
        event = max(pool, key=lambda e: (e["_effective"], e["_at"], e["event_id"]))
        return event["region"], event["customer_segment"]

    def customer_day(self, customer_id: str, day: dt.date) -> tuple[Decimal, str]:
        """(total MRR, region) of a customer on `day`."""
        total = ZERO
        for subscription_id in {e["subscription_id"] for e in self.customer_events[customer_id]}:
            state = self.subscription_state(subscription_id, day)
            if state is not None and state["action"] in ACTIVE:
                total += self.mrr(state)
        return total, self.attributes(customer_id, day)[0]

    # ----------------------------------------------------------------------- metrics
    def days(self) -> list[dt.date]:
        """Every day from the first business date through the as-of date."""
        count = (self.as_of - self.first_day).days + 1
        return [self.first_day + dt.timedelta(days=i) for i in range(count)]

    def compute(self, regions: Iterable[str]) -> Truth:
        """Daily MRR, revenue, costs, monthly movements and churn."""
        truth = Truth()
        region_list = sorted(set(regions))
        customers = sorted(self.customer_events)
        timeline: dict[str, dict[dt.date, tuple[Decimal, str]]] = {c: {} for c in customers}
        for day in self.days():
            for region in region_list:
                truth.mrr_daily[(day, region)] = ZERO
                truth.active_daily[(day, region)] = 0
            for subscription_id in self.subscriptions:
                state = self.subscription_state(subscription_id, day)
                if state is None or state["action"] not in ACTIVE:
                    continue
                region = self.attributes(state["customer_id"], day)[0]
                truth.mrr_daily[(day, region)] = truth.mrr_daily.get(
                    (day, region), ZERO
                ) + self.mrr(state)
                truth.active_daily[(day, region)] = truth.active_daily.get((day, region), 0) + 1
            for customer_id in customers:
                timeline[customer_id][day] = self.customer_day(customer_id, day)
        self._movements(truth, timeline, region_list)
        self._churn(truth, timeline, region_list)
        self._revenue(truth)
        for cost in self.costs:
            day = dt.date.fromisoformat(cost["incurred_date"])
            if day > self.as_of:
                continue
            usd = _round(Decimal(str(cost["amount"])) * self.rates.rate(day, cost["currency"]))
            key = (day, cost["region"])
            truth.costs_daily[key] = truth.costs_daily.get(key, ZERO) + usd
        return truth

    def _movements(
        self,
        truth: Truth,
        timeline: Mapping[str, Mapping[dt.date, tuple[Decimal, str]]],
        regions: list[str],
    ) -> None:
        kinds = ("new", "expansion", "contraction", "churn", "reactivation", "transfer")
        days = self.days()
        for month in sorted({_month(d) for d in days}):
            for region in regions:
                bucket = dict.fromkeys(kinds, ZERO)
                opening_day = month - dt.timedelta(days=1)
                closing_day = min(
                    self.as_of,
                    (month + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1),
                )
                bucket["opening"] = self._region_total(timeline, opening_day, region)
                bucket["closing"] = self._region_total(timeline, closing_day, region)
                truth.movements[(month, region)] = bucket
        for by_day in timeline.values():
            had_mrr = False
            prev_mrr, prev_region = ZERO, None
            for day in days:
                mrr, region = by_day[day]
                moves: list[tuple[str, str, Decimal]] = []
                if prev_mrr > 0 and mrr > 0 and prev_region is not None and region != prev_region:
                    moves += [(prev_region, "transfer", -prev_mrr), (region, "transfer", prev_mrr)]
                    if mrr != prev_mrr:
                        kind = "expansion" if mrr > prev_mrr else "contraction"
                        moves.append((region, kind, mrr - prev_mrr))
                elif prev_mrr == 0 and mrr > 0:
                    moves.append((region, "reactivation" if had_mrr else "new", mrr))
                elif prev_mrr > 0 and mrr == 0:
                    moves.append((prev_region or region, "churn", -prev_mrr))
                elif mrr != prev_mrr:
                    kind = "expansion" if mrr > prev_mrr else "contraction"
                    moves.append((region, kind, mrr - prev_mrr))
                for move_region, kind, amount in moves:
                    truth.movements[(_month(day), move_region)][kind] += amount
                had_mrr = had_mrr or mrr > 0
                prev_mrr, prev_region = mrr, region

    def _region_total(
        self,
        timeline: Mapping[str, Mapping[dt.date, tuple[Decimal, str]]],
        day: dt.date,
        region: str,
    ) -> Decimal:
        total = ZERO
        for by_day in timeline.values():
            if day in by_day and by_day[day][1] == region:
                total += by_day[day][0]
        return total

    def _churn(
        self,
        truth: Truth,
        timeline: Mapping[str, Mapping[dt.date, tuple[Decimal, str]]],
        regions: list[str],
    ) -> None:
        for month in sorted({_month(d) for d in self.days()}):
            opening_day = month - dt.timedelta(days=1)
            closing_day = min(
                self.as_of, (month + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
            )
            rows: dict[str, dict[str, Any]] = {
                region: {
                    "opening_customers": 0,
                    "churned_customers": 0,
                    "voluntary_churned_customers": 0,
                    "involuntary_churned_customers": 0,
                    "opening_mrr_usd": ZERO,
                    "retained_mrr_usd": ZERO,
                    "cohort_closing_mrr_usd": ZERO,
                }
                for region in regions
            }
            for customer_id, by_day in timeline.items():
                if opening_day not in by_day or by_day[opening_day][0] <= 0:
                    continue
                opening, region = by_day[opening_day]
                closing = by_day[closing_day][0]
                row = rows[region]
                row["opening_customers"] += 1
                row["opening_mrr_usd"] += opening
                row["retained_mrr_usd"] += min(opening, closing)
                row["cohort_closing_mrr_usd"] += closing
                if closing == 0:
                    row["churned_customers"] += 1
                    reason = self._last_cancel_reason(customer_id, opening_day, closing_day)
                    if reason == "voluntary":
                        row["voluntary_churned_customers"] += 1
                    elif reason == "involuntary":
                        row["involuntary_churned_customers"] += 1
            for region, row in rows.items():
                opening_mrr = row["opening_mrr_usd"]
                row["logo_churn_rate"] = (
                    row["churned_customers"] / row["opening_customers"]
                    if row["opening_customers"]
                    else None
                )
                row["grr"] = row["retained_mrr_usd"] / opening_mrr if opening_mrr else None
                row["nrr"] = row["cohort_closing_mrr_usd"] / opening_mrr if opening_mrr else None
                truth.churn[(month, region)] = row

    def _last_cancel_reason(self, customer_id: str, after: dt.date, until: dt.date) -> str | None:
        cancellations = [
            e
            for e in self.customer_events[customer_id]
            if e["action"] == "cancelled"
            and after < e["_effective"] <= until
            and e.get("cancel_reason")
        ]
        if not cancellations:
            return None
        last = max(cancellations, key=lambda e: (e["_effective"], e["_at"], e["event_id"]))
        return str(last["cancel_reason"])

    def _plan_on(self, subscription_id: str | None, day: dt.date) -> str:
        if not subscription_id or not self.subscriptions.get(subscription_id):
            return "unassigned"
        state = self.subscription_state(subscription_id, day)
        if state is None:  # before its first change: its first plan
            first = min(
                self.subscriptions[subscription_id],
                key=lambda c: (c["_effective"], c["_at"], c["event_id"]),
            )
            return str(first["plan_id"])
        return str(state["plan_id"])

    def _revenue(self, truth: Truth) -> None:
        succeeded = [p for p in self.payments if p["status"] == "succeeded"]
        for payment in self.payments:
            day = _utc_date(payment["event_time"])
            if day > self.as_of:
                continue
            amount = Decimal(str(payment["amount"]))
            source = payment
            if payment["status"] == "refunded":
                source = self._refunded(payment, succeeded) or payment
            source_day = _utc_date(source["event_time"])
            usd = _round(amount * self.rates.rate(source_day, payment["currency"]))
            region = self.attributes(payment["customer_id"], source_day)[0]
            plan = self._plan_on(source.get("subscription_id"), source_day)
            bucket = truth.revenue_daily.setdefault(
                (day, region), {"gross": ZERO, "refunds": ZERO, "failed": ZERO}
            )
            month_key = (_month(day), plan)
            if payment["status"] == "succeeded":
                bucket["gross"] += usd
                truth.revenue_plan_monthly[month_key] = (
                    truth.revenue_plan_monthly.get(month_key, ZERO) + usd
                )
            elif payment["status"] == "refunded":
                bucket["refunds"] += usd
                truth.revenue_plan_monthly[month_key] = (
                    truth.revenue_plan_monthly.get(month_key, ZERO) - usd
                )
            else:
                bucket["failed"] += usd

    @staticmethod
    def _refunded(
        refund: Mapping[str, Any], succeeded: list[Mapping[str, Any]]
    ) -> Mapping[str, Any] | None:
        at = dt.datetime.fromisoformat(refund["event_time"])
        same = [
            p
            for p in succeeded
            if p["invoice_id"] == refund["invoice_id"] and p["currency"] == refund["currency"]
        ]
        before = [p for p in same if dt.datetime.fromisoformat(p["event_time"]) <= at]
        if before:
            return max(
                before, key=lambda p: (dt.datetime.fromisoformat(p["event_time"]), p["event_id"])
            )
        if same:
            return min(
                same, key=lambda p: (dt.datetime.fromisoformat(p["event_time"]), p["event_id"])
            )
        return None
