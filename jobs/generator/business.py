"""A seeded simulation of a SaaS business that emits contract events and its ground truth.

The simulation walks day by day. Every subscription change is an event; its USD MRR is fixed
at the FX rate of the change's effective date (ChartMogul convention: converted at the date of
the change), so MRR in USD moves only on events and the monthly bridge is exact. The ground
truth is computed from the simulation's own state, never from the emitted events, so tests can
recompute it independently from the landing files.

Conventions shared with Gold (see DESIGN.md section 4):
- business date = UTC date of ``event_time``; ``effective_date`` defaults to it;
- MRR of a subscription = round_half_up(quantity * unit_price * rate / (12 if annual), 4);
- a subscription is active (counted, MRR-bearing) after activated/upgraded/downgraded/renewed/
  reactivated, and not after trial_started/cancelled;
- net revenue = succeeded payments - refunds, each converted at its event date, rounded to
  4 places per payment;
- movements are daily changes of each customer's MRR, classified new / expansion /
  contraction / churn / reactivation and summed per month and region.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

FOUR = Decimal("0.0001")
ACTIVE_ACTIONS = frozenset({"activated", "upgraded", "downgraded", "renewed", "reactivated"})

REGIONS: dict[str, list[tuple[str, str, str]]] = {
    # region: [(country, currency, utc offset)]
    "NA": [("US", "USD", "-05:00"), ("CA", "USD", "-05:00")],
    "EMEA": [("DE", "EUR", "+01:00"), ("FR", "EUR", "+01:00"), ("GB", "GBP", "+00:00")],
    "APAC": [("AU", "USD", "+10:00"), ("SG", "USD", "+08:00"), ("JP", "USD", "+09:00")],
    "LATAM": [("BR", "BRL", "-03:00"), ("MX", "USD", "-06:00")],
}
REGION_WEIGHTS = {"NA": 0.4, "EMEA": 0.3, "APAC": 0.18, "LATAM": 0.12}
SEGMENTS = ("smb", "mid_market", "enterprise")
SEGMENT_WEIGHTS = (0.65, 0.27, 0.08)
CURRENCIES = ("EUR", "GBP", "BRL")
FX_START = {"EUR": Decimal("1.085000"), "GBP": Decimal("1.265000"), "BRL": Decimal("0.198000")}
PRICE_BOOK = {
    "USD": Decimal("1"),
    "EUR": Decimal("0.92"),
    "GBP": Decimal("0.79"),
    "BRL": Decimal("5.00"),
}
MOVE_PROBABILITY = 0.0015  # per customer and day: the customer moves region
QUICK_CHURN_PROBABILITY = 0.06  # a directly activated customer leaves within weeks
PRORATION_REFUND_PROBABILITY = 0.3  # an upgrade refunds part of the last payment
COST_CENTERS = ("infrastructure", "support", "sales", "marketing", "r_and_d", "g_and_a")


@dataclass(frozen=True)
class Plan:
    """A plan of the catalog (list price in USD per billing period)."""

    plan_id: str
    plan_name: str
    tier: str
    billing_period: str
    list_price: Decimal


PLANS: tuple[Plan, ...] = (
    Plan("starter_monthly", "Starter (monthly)", "starter", "monthly", Decimal("29.00")),
    Plan("starter_annual", "Starter (annual)", "starter", "annual", Decimal("290.00")),
    Plan("pro_monthly", "Pro (monthly)", "pro", "monthly", Decimal("99.00")),
    Plan("pro_annual", "Pro (annual)", "pro", "annual", Decimal("990.00")),
    Plan("enterprise_monthly", "Enterprise (monthly)", "enterprise", "monthly", Decimal("499.00")),
    Plan("enterprise_annual", "Enterprise (annual)", "enterprise", "annual", Decimal("4990.00")),
)
PLAN_BY_ID = {p.plan_id: p for p in PLANS}
TIERS = ("starter", "pro", "enterprise")


def mrr_usd(quantity: int, unit_price: Decimal, billing_period: str, rate: Decimal) -> Decimal:
    """MRR in USD of one subscription state, rounded half-up to 4 places."""
    value = Decimal(quantity) * unit_price * rate
    if billing_period == "annual":
        value = value / Decimal(12)
    return value.quantize(FOUR, rounding=ROUND_HALF_UP)


def to_usd(amount: Decimal, rate: Decimal) -> Decimal:
    """Amount converted to USD, rounded half-up to 4 places."""
    return (amount * rate).quantize(FOUR, rounding=ROUND_HALF_UP)


@dataclass
class Customer:
    """Simulated customer (region and country never change; segment may)."""

    customer_id: str
    region: str
    country: str
    currency: str
    offset: str
    segment: str
    signup_date: dt.date
    subscriptions: list[str] = field(default_factory=list)


@dataclass
class Subscription:
    """Simulated subscription state."""

    subscription_id: str
    customer_id: str
    plan: Plan
    quantity: int
    unit_price: Decimal
    status: str = "trial"  # trial | active | cancelled
    mrr_usd: Decimal = Decimal("0.0000")
    period_start: dt.date | None = None
    scheduled_cancel: dt.date | None = None
    trial_end: dt.date | None = None
    failed_attempts: int = 0
    retry_on: dt.date | None = None
    cancelled_on: dt.date | None = None
    cancel_reason: str | None = None
    reactivation_on: dt.date | None = None
    invoice_id: str | None = None
    last_event_day: dt.date | None = None
    quick_cancel_on: dt.date | None = None
    quick_upgrade_on: dt.date | None = None
    last_payment: PaymentRecord | None = None


@dataclass
class PaymentRecord:
    """A succeeded payment as a later refund needs it: date, region, rate and end-of-day plan."""

    subscription_id: str
    invoice_id: str
    amount: Decimal
    currency: str
    day: dt.date
    region: str
    rate: Decimal
    plan_id: str = ""


@dataclass
class Event:
    """One emitted event: payload as a dict plus simulation metadata."""

    event_type: str
    payload: dict[str, Any]
    business_date: dt.date
    received_date: dt.date


@dataclass
class Simulation:
    """Outputs of a run: events, published reference data and the simulation's own truth.

    The truth here is the simulation's state (daily MRR and active subscriptions per region,
    revenue per region and per plan); movements and churn come from the independent reference
    implementation (`jobs.generator.reference`) over the emitted events.
    """

    events: list[Event]
    fx_rates: dict[tuple[dt.date, str], Decimal]
    mrr_daily: dict[tuple[dt.date, str], Decimal]
    active_daily: dict[tuple[dt.date, str], int]
    revenue_daily: dict[tuple[dt.date, str], dict[str, Decimal]]
    revenue_plan_monthly: dict[tuple[dt.date, str], Decimal]
    start: dt.date
    days: int


class BusinessSimulator:
    """Day-by-day SaaS simulation driven by one seeded RNG."""

    def __init__(
        self, seed: int, start: dt.date, days: int, customers: int, fx_weekends: bool = True
    ) -> None:
        self.rng = random.Random(seed)
        self.fx_weekends = fx_weekends
        self.start = start
        self.days = days
        self.target_customers = customers
        self.customers: dict[str, Customer] = {}
        self.subs: dict[str, Subscription] = {}
        self.events: list[Event] = []
        self.fx: dict[tuple[dt.date, str], Decimal] = {}
        self.revenue: dict[tuple[dt.date, str], dict[str, Decimal]] = defaultdict(
            lambda: {"gross": Decimal(0), "refunds": Decimal(0), "failed": Decimal(0)}
        )
        self.refund_queue: dict[dt.date, list[tuple[PaymentRecord, Decimal]]] = defaultdict(list)
        self.today_payments: list[PaymentRecord] = []
        self.refunds_by_plan: list[tuple[dt.date, PaymentRecord, Decimal]] = []
        # net USD of today's payments per subscription, attributed to the plan held at day end
        self.day_net: dict[str, Decimal] = defaultdict(Decimal)
        self.revenue_plan: dict[tuple[dt.date, str], Decimal] = defaultdict(Decimal)
        self._ids = 0

    # ----------------------------------------------------------------- helpers
    def _uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def _next_id(self, prefix: str) -> str:
        self._ids += 1
        return f"{prefix}_{self._ids:07d}"

    def rate(self, day: dt.date, currency: str) -> Decimal:
        """USD per unit of currency on a day: the latest published rate on or before it."""
        if currency == "USD":
            return Decimal(1)
        for back in range(8):
            rate = self.fx.get((day - dt.timedelta(days=back), currency))
            if rate is not None:
                return rate
        raise KeyError(f"no {currency} rate within a week of {day}")

    def _event_time(self, day: dt.date, offset: str) -> str:
        seconds = self.rng.randint(60, 86_340)
        instant = dt.datetime.combine(day, dt.time(), dt.UTC) + dt.timedelta(seconds=seconds)
        sign = 1 if offset[0] == "+" else -1
        hours, minutes = int(offset[1:3]), int(offset[4:6])
        tz = dt.timezone(sign * dt.timedelta(hours=hours, minutes=minutes))
        return instant.astimezone(tz).isoformat()

    def _emit(self, event_type: str, day: dt.date, payload: dict[str, Any]) -> dict[str, Any]:
        self.events.append(Event(event_type, payload, day, day))
        return payload

    # -------------------------------------------------------------- simulation
    def _simulate_fx(self) -> None:
        for currency in CURRENCIES:
            rate = FX_START[currency]
            for i in range(-7, self.days + 400):
                day = self.start + dt.timedelta(days=i)
                if self.fx_weekends or day.weekday() < 5:  # real feeds publish no weekend rates
                    self.fx[(day, currency)] = rate
                step = Decimal(str(round(self.rng.gauss(0, 0.004), 6)))
                rate = max(Decimal("0.01"), (rate * (1 + step)).quantize(Decimal("0.000001")))

    def _new_customer(self, day: dt.date) -> None:
        region = self.rng.choices(list(REGION_WEIGHTS), weights=list(REGION_WEIGHTS.values()))[0]
        country, currency, offset = self.rng.choice(REGIONS[region])
        segment = self.rng.choices(SEGMENTS, weights=SEGMENT_WEIGHTS)[0]
        customer = Customer(self._next_id("cus"), region, country, currency, offset, segment, day)
        self.customers[customer.customer_id] = customer
        self._new_subscription(customer, day, is_first=True)

    def _price(self, plan: Plan, currency: str) -> Decimal:
        return (plan.list_price * PRICE_BOOK[currency]).quantize(Decimal("0.01"))

    def _new_subscription(self, customer: Customer, day: dt.date, is_first: bool) -> None:
        tier_weights = {
            "smb": (0.7, 0.27, 0.03),
            "mid_market": (0.3, 0.6, 0.1),
            "enterprise": (0.05, 0.45, 0.5),
        }[customer.segment]
        tier = self.rng.choices(TIERS, weights=tier_weights)[0]
        period = "annual" if self.rng.random() < 0.3 else "monthly"
        plan = PLAN_BY_ID[f"{tier}_{period}"]
        quantity = self.rng.randint(
            1, {"smb": 3, "mid_market": 15, "enterprise": 60}[customer.segment]
        )
        sub = Subscription(
            self._next_id("sub"),
            customer.customer_id,
            plan,
            quantity,
            self._price(plan, customer.currency),
        )
        self.subs[sub.subscription_id] = sub
        customer.subscriptions.append(sub.subscription_id)
        if is_first and self.rng.random() < 0.6:
            sub.trial_end = day + dt.timedelta(days=14)
            self._sub_event(sub, day, "trial_started")
        else:
            self._activate(sub, day, "activated")
            if is_first and self.rng.random() < QUICK_CHURN_PROBABILITY:
                sub.quick_cancel_on = day + dt.timedelta(days=self.rng.randint(8, 20))
                if self.rng.random() < 0.5:
                    sub.quick_upgrade_on = day + dt.timedelta(days=self.rng.randint(2, 7))

    def _sub_event(
        self,
        sub: Subscription,
        day: dt.date,
        action: str,
        effective: dt.date | None = None,
        cancel_reason: str | None = None,
    ) -> None:
        customer = self.customers[sub.customer_id]
        payload: dict[str, Any] = {
            "event_id": self._uuid(),
            "event_time": self._event_time(day, customer.offset),
            "schema_version": 1,
            "subscription_id": sub.subscription_id,
            "customer_id": customer.customer_id,
            "plan_id": sub.plan.plan_id,
            "action": action,
            "quantity": sub.quantity,
            "unit_price": f"{sub.unit_price:.2f}",
            "currency": customer.currency,
            "billing_period": sub.plan.billing_period,
            "region": customer.region,
            "customer_segment": customer.segment,
            "customer_country": customer.country,
        }
        if effective is not None:
            payload["effective_date"] = effective.isoformat()
        if cancel_reason is not None:
            payload["cancel_reason"] = cancel_reason
        sub.last_event_day = day
        self._emit("subscription", day, payload)

    def _set_mrr(self, sub: Subscription, day: dt.date) -> None:
        customer = self.customers[sub.customer_id]
        sub.mrr_usd = mrr_usd(
            sub.quantity,
            sub.unit_price,
            sub.plan.billing_period,
            self.rate(day, customer.currency),
        )

    def _activate(self, sub: Subscription, day: dt.date, action: str) -> None:
        sub.status = "active"
        sub.period_start = day
        sub.trial_end = None
        sub.failed_attempts = 0
        sub.retry_on = None
        self._set_mrr(sub, day)
        self._sub_event(sub, day, action)
        self._charge(sub, day)

    def _charge(self, sub: Subscription, day: dt.date) -> None:
        customer = self.customers[sub.customer_id]
        amount = Decimal(sub.quantity) * sub.unit_price
        failed = self.rng.random() < (0.06 if sub.failed_attempts == 0 else 0.5)
        if sub.failed_attempts == 0:
            sub.invoice_id = self._next_id("inv")
        payload: dict[str, Any] = {
            "event_id": self._uuid(),
            "event_time": self._event_time(day, customer.offset),
            "schema_version": 1,
            "payment_id": self._next_id("pay"),
            "customer_id": customer.customer_id,
            "subscription_id": sub.subscription_id,
            "invoice_id": sub.invoice_id,
            "amount": f"{amount:.2f}",
            "currency": customer.currency,
            "status": "failed" if failed else "succeeded",
            "payment_method": self.rng.choice(["card", "card", "card", "sepa_debit", "ach", "pix"]),
        }
        rate = self.rate(day, customer.currency)
        bucket = self.revenue[(day, customer.region)]
        if failed:
            payload["failure_code"] = self.rng.choice(
                ["card_declined", "insufficient_funds", "expired_card"]
            )
            bucket["failed"] += to_usd(amount, rate)
            sub.failed_attempts += 1
            sub.retry_on = day + dt.timedelta(days=3)
        else:
            paid_usd = to_usd(amount, rate)
            bucket["gross"] += paid_usd
            self.day_net[sub.subscription_id] += paid_usd
            sub.failed_attempts = 0
            sub.retry_on = None
            record = PaymentRecord(
                sub.subscription_id,
                str(payload["invoice_id"]),
                amount,
                customer.currency,
                day,
                customer.region,
                rate,
            )
            self.today_payments.append(record)
            sub.last_payment = record
            if self.rng.random() < 0.03:
                refund_day = day + dt.timedelta(days=self.rng.randint(2, 20))
                partial = self.rng.random() < 0.4
                refund_amount = (amount / 2).quantize(Decimal("0.01")) if partial else amount
                self.refund_queue[refund_day].append((record, refund_amount))
        self._emit("payment", day, payload)

    def _refund(self, day: dt.date, original: PaymentRecord, amount: Decimal) -> None:
        """Refund (part of) a payment: booked on `day` with the original's plan, region, rate."""
        sub = self.subs[original.subscription_id]
        customer = self.customers[sub.customer_id]
        self._emit(
            "payment",
            day,
            {
                "event_id": self._uuid(),
                "event_time": self._event_time(day, customer.offset),
                "schema_version": 1,
                "payment_id": self._next_id("pay"),
                "customer_id": customer.customer_id,
                "subscription_id": sub.subscription_id,
                "invoice_id": original.invoice_id,
                "amount": f"{amount:.2f}",
                "currency": original.currency,
                "status": "refunded",
                "payment_method": "card",
            },
        )
        refund_usd = to_usd(amount, original.rate)
        self.revenue[(day, original.region)]["refunds"] += refund_usd
        self.refunds_by_plan.append((day, original, refund_usd))

    def _cancel(
        self, sub: Subscription, day: dt.date, reason: str, effective: dt.date | None
    ) -> None:
        self._sub_event(sub, day, "cancelled", effective=effective, cancel_reason=reason)
        if effective is None or effective <= day:
            self._apply_cancel(sub, day, reason)
        else:
            sub.scheduled_cancel = effective
            sub.cancel_reason = reason

    def _apply_cancel(self, sub: Subscription, day: dt.date, reason: str) -> None:
        sub.status = "cancelled"
        sub.mrr_usd = Decimal("0.0000")
        sub.cancelled_on = day
        sub.scheduled_cancel = None
        sub.retry_on = None
        sub.cancel_reason = reason
        if self.rng.random() < 0.25:
            sub.reactivation_on = day + dt.timedelta(days=self.rng.randint(10, 60))

    def _period_due(self, sub: Subscription, day: dt.date) -> bool:
        assert sub.period_start is not None
        if sub.plan.billing_period == "annual":
            return (day - sub.period_start).days >= 365
        months = (day.year - sub.period_start.year) * 12 + day.month - sub.period_start.month
        return months >= 1 and day.day == min(sub.period_start.day, 28)

    def _step_subscription(self, sub: Subscription, day: dt.date, weekday_factor: float) -> None:
        customer = self.customers[sub.customer_id]
        rng = self.rng
        if sub.status == "trial":
            if sub.trial_end is not None and day >= sub.trial_end:
                if rng.random() < 0.7:
                    self._activate(sub, day, "activated")
                else:
                    self._cancel(sub, day, "voluntary", None)
                    sub.reactivation_on = None
            return
        if sub.status == "cancelled":
            if sub.reactivation_on is not None and day >= sub.reactivation_on:
                sub.reactivation_on = None
                self._activate(sub, day, "reactivated")
            return
        # active
        if sub.quick_upgrade_on is not None and day >= sub.quick_upgrade_on:
            sub.quick_upgrade_on = None
            self._change_plan(sub, day, customer, up=True)
            return
        if sub.quick_cancel_on is not None and day >= sub.quick_cancel_on:
            sub.quick_cancel_on = None
            self._cancel(sub, day, "voluntary", None)
            sub.reactivation_on = None
            return
        if sub.scheduled_cancel is not None:
            if day >= sub.scheduled_cancel:
                self._apply_cancel(sub, day, sub.cancel_reason or "voluntary")
            return
        if sub.retry_on is not None and day >= sub.retry_on:
            if sub.failed_attempts >= 3:
                self._cancel(sub, day, "involuntary", None)
            else:
                self._charge(sub, day)
            return
        if self._period_due(sub, day):
            sub.period_start = day
            if sub.plan.billing_period == "annual":
                if rng.random() < 0.3:
                    sub.unit_price = (sub.unit_price * Decimal("1.05")).quantize(Decimal("0.01"))
                self._set_mrr(sub, day)
                self._sub_event(sub, day, "renewed")
            self._charge(sub, day)
            return
        roll = rng.random() / weekday_factor
        if roll < 0.0025:
            self._change_plan(sub, day, customer, up=True)
        elif roll < 0.0035:
            self._change_plan(sub, day, customer, up=False)
        elif roll < 0.0047:
            if sub.plan.billing_period == "annual" or rng.random() < 0.5:
                assert sub.period_start is not None
                end = sub.period_start + dt.timedelta(
                    days=365 if sub.plan.billing_period == "annual" else 30
                )
                effective = max(end, day + dt.timedelta(days=1))
                self._cancel(sub, day, "voluntary", effective)
            else:
                self._cancel(sub, day, "voluntary", None)
        elif roll < 0.0052 and len(customer.subscriptions) < 3:
            self._new_subscription(customer, day, is_first=False)

    def _change_plan(self, sub: Subscription, day: dt.date, customer: Customer, up: bool) -> None:
        rng = self.rng
        if up:
            if rng.random() < 0.5 and sub.plan.tier != "enterprise":
                tier = TIERS[TIERS.index(sub.plan.tier) + 1]
                sub.plan = PLAN_BY_ID[f"{tier}_{sub.plan.billing_period}"]
                sub.unit_price = self._price(sub.plan, customer.currency)
            else:
                sub.quantity += rng.randint(1, max(1, sub.quantity // 2))
            if customer.segment == "smb" and sub.quantity >= 5:
                customer.segment = "mid_market"
            action = "upgraded"
        else:
            if sub.quantity > 1:
                sub.quantity -= rng.randint(1, max(1, sub.quantity // 3))
            elif sub.plan.tier != "starter":
                tier = TIERS[TIERS.index(sub.plan.tier) - 1]
                sub.plan = PLAN_BY_ID[f"{tier}_{sub.plan.billing_period}"]
                sub.unit_price = self._price(sub.plan, customer.currency)
            else:
                return
            action = "downgraded"
        self._set_mrr(sub, day)
        self._sub_event(sub, day, action)
        last = sub.last_payment
        if up and last is not None and rng.random() < PRORATION_REFUND_PROBABILITY:
            refund = (last.amount / 3).quantize(Decimal("0.01"))  # proration of the old plan
            self.refund_queue[day + dt.timedelta(days=rng.randint(1, 3))].append((last, refund))
            sub.last_payment = None

    def _usage(self, sub: Subscription, day: dt.date, weekday_factor: float) -> None:
        customer = self.customers[sub.customer_id]
        base = sub.quantity * 40 * weekday_factor
        calls = max(0, int(self.rng.gauss(base, base * 0.15)))
        self._emit(
            "usage",
            day,
            {
                "event_id": self._uuid(),
                "event_time": self._event_time(day, customer.offset),
                "schema_version": 1,
                "customer_id": customer.customer_id,
                "subscription_id": sub.subscription_id,
                "metric": "api_calls",
                "quantity": str(calls),
            },
        )
        if day.weekday() == 0:
            self._emit(
                "usage",
                day,
                {
                    "event_id": self._uuid(),
                    "event_time": self._event_time(day, customer.offset),
                    "schema_version": 1,
                    "customer_id": customer.customer_id,
                    "subscription_id": sub.subscription_id,
                    "metric": "storage_gb",
                    "quantity": f"{self.rng.uniform(0.5, 5.0) * sub.quantity:.3f}",
                },
            )

    def _costs(self, day: dt.date, scale: float) -> None:
        for region in REGION_WEIGHTS:
            amount = Decimal(
                str(round(self.rng.uniform(40, 60) * scale * REGION_WEIGHTS[region], 2))
            )
            self._cost(day, "infrastructure", "aws", amount, region)
        if day.weekday() == 0:
            self._cost(
                day, "support", "zendesk", Decimal(str(round(self.rng.uniform(300, 500), 2))), "NA"
            )
        if day.day == 1:
            for center, vendor, low, high in (
                ("sales", "salesforce", 2000, 3000),
                ("marketing", "google_ads", 1500, 4000),
                ("r_and_d", "github", 800, 1200),
                ("g_and_a", "deel", 1000, 1500),
            ):
                region = self.rng.choice(list(REGION_WEIGHTS))
                self._cost(
                    day, center, vendor, Decimal(str(round(self.rng.uniform(low, high), 2))), region
                )
            if self.rng.random() < 0.5:
                self._cost(day, "infrastructure", "aws", Decimal("-150.00"), "NA")  # credit

    def _cost(self, day: dt.date, center: str, vendor: str, amount: Decimal, region: str) -> None:
        currency = "EUR" if region == "EMEA" and center != "infrastructure" else "USD"
        self._emit(
            "operational_cost",
            day,
            {
                "event_id": self._uuid(),
                "event_time": self._event_time(day, "+00:00"),
                "schema_version": 1,
                "cost_id": self._next_id("cost"),
                "cost_center": center,
                "vendor": vendor,
                "amount": f"{amount:.2f}",
                "currency": currency,
                "region": region,
                "incurred_date": day.isoformat(),
            },
        )

    def _move_customer(self, customer: Customer, day: dt.date) -> None:
        """The customer moves to another region (billing currency unchanged): a `renewed` event
        of one active subscription carries the new attributes (its MRR re-priced today)."""
        active = [self.subs[s] for s in customer.subscriptions if self.subs[s].status == "active"]
        if not active:
            return
        region = self.rng.choice([r for r in REGION_WEIGHTS if r != customer.region])
        country, _currency, offset = self.rng.choice(REGIONS[region])
        customer.region, customer.country, customer.offset = region, country, offset
        sub = active[0]
        self._set_mrr(sub, day)
        self._sub_event(sub, day, "renewed")

    def _book_day(self, day: dt.date) -> None:
        """Revenue per plan of the day: payments on the plan held at the day's end, refunds on
        the plan the refunded payment was booked on."""
        month = day.replace(day=1)
        for sub_id, net in self.day_net.items():
            self.revenue_plan[(month, self.subs[sub_id].plan.plan_id)] += net
        self.day_net.clear()
        for record in self.today_payments:
            record.plan_id = self.subs[record.subscription_id].plan.plan_id
        self.today_payments.clear()
        for refund_day, original, refund_usd in self.refunds_by_plan:
            self.revenue_plan[(refund_day.replace(day=1), original.plan_id)] -= refund_usd
        self.refunds_by_plan.clear()

    def run(self) -> Simulation:
        """Simulate every day and return events plus the simulation's own truth."""
        self._simulate_fx()
        mrr_daily: dict[tuple[dt.date, str], Decimal] = {}
        active_daily: dict[tuple[dt.date, str], int] = {}
        # growth: arrivals per day rise linearly; weekdays sell more than weekends
        base_arrivals = self.target_customers / self.days
        for i in range(self.days):
            day = self.start + dt.timedelta(days=i)
            weekday_factor = 1.15 if day.weekday() < 5 else 0.6
            growth = 0.5 + i / max(1, self.days - 1)
            expected = base_arrivals * growth * weekday_factor
            arrivals = int(expected) + (1 if self.rng.random() < expected - int(expected) else 0)
            for customer in list(self.customers.values()):
                if self.rng.random() < MOVE_PROBABILITY:
                    self._move_customer(customer, day)
            for sub in list(self.subs.values()):
                if sub.last_event_day != day:  # one change per subscription and day
                    self._step_subscription(sub, day, weekday_factor)
            for _ in range(arrivals):
                self._new_customer(day)
            for original, amount in self.refund_queue.pop(day, []):
                self._refund(day, original, amount)
            for sub in self.subs.values():
                if sub.status == "active":
                    self._usage(sub, day, weekday_factor)
            self._costs(day, 1 + i / self.days)
            self._book_day(day)
            region_mrr: dict[str, Decimal] = defaultdict(Decimal)
            region_active: dict[str, int] = defaultdict(int)
            for sub in self.subs.values():
                if sub.status == "active":
                    region = self.customers[sub.customer_id].region
                    region_mrr[region] += sub.mrr_usd
                    region_active[region] += 1
            for region in REGION_WEIGHTS:
                mrr_daily[(day, region)] = region_mrr[region]
                active_daily[(day, region)] = region_active[region]
        return Simulation(
            events=self.events,
            fx_rates=self.fx,
            mrr_daily=mrr_daily,
            active_daily=active_daily,
            revenue_daily=dict(self.revenue),
            revenue_plan_monthly=dict(self.revenue_plan),
            start=self.start,
            days=self.days,
        )
