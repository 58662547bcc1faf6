"""Event contracts v1: the single definition behind API validation and Spark schemas.

Only structure lives here (types and required fields). Business rules (ranges, accepted
values, referential checks, lateness) are declared in `conf/rules/silver_rules.yaml` and
enforced in Silver, so bad rows reach quarantine instead of being refused silently.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Literal, get_args

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

EventType = Literal["subscription", "payment", "usage", "operational_cost"]
EVENT_TYPES: tuple[EventType, ...] = get_args(EventType)

Id = Annotated[str, StringConstraints(min_length=1, max_length=128)]
Code = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Money = Annotated[Decimal, Field(max_digits=18, decimal_places=4, allow_inf_nan=False)]


class EventBase(BaseModel):
    """Fields common to every event."""

    model_config = ConfigDict(extra="allow", str_strip_whitespace=True, frozen=True)

    event_id: Annotated[str, StringConstraints(pattern=r"^[0-9a-fA-F-]{32,36}$")]
    event_time: AwareDatetime
    schema_version: int = 1


class SubscriptionEvent(EventBase):
    """A change in the life of a subscription."""

    subscription_id: Id
    customer_id: Id
    plan_id: Id
    action: Code
    quantity: int
    unit_price: Money
    currency: Code
    billing_period: Code
    region: Code
    customer_segment: Code
    customer_country: Code
    effective_date: dt.date | None = None
    cancel_reason: Code | None = None


class PaymentEvent(EventBase):
    """A payment attempt, success or refund."""

    payment_id: Id
    customer_id: Id
    subscription_id: Id | None = None
    invoice_id: Id
    amount: Money
    currency: Code
    status: Code
    payment_method: Code
    failure_code: Code | None = None


class UsageEvent(EventBase):
    """A metered usage reading."""

    customer_id: Id
    subscription_id: Id
    metric: Code
    quantity: Annotated[Decimal, Field(max_digits=18, decimal_places=4, allow_inf_nan=False)]


class OperationalCostEvent(EventBase):
    """An operating cost (negative amounts are credits)."""

    cost_id: Id
    cost_center: Code
    vendor: Id
    amount: Money
    currency: Code
    region: Code
    incurred_date: dt.date


EVENT_MODELS: dict[EventType, type[EventBase]] = {
    "subscription": SubscriptionEvent,
    "payment": PaymentEvent,
    "usage": UsageEvent,
    "operational_cost": OperationalCostEvent,
}

# Columns that identify the business object of each event type (used by Silver for keys).
BUSINESS_KEYS: dict[EventType, tuple[str, ...]] = {
    "subscription": ("subscription_id",),
    "payment": ("payment_id",),
    "usage": ("subscription_id", "metric"),
    "operational_cost": ("cost_id",),
}


class PlanRecord(BaseModel):
    """One row of the plan catalog (reference data, batch)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)

    plan_id: Id
    plan_name: Annotated[str, StringConstraints(min_length=1, max_length=256)]
    tier: Code
    billing_period: Literal["monthly", "annual"]
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
    list_price: Annotated[Money, Field(ge=0)]


class FxRateRecord(BaseModel):
    """One published FX rate: 1 unit of `currency` is `rate_to_usd` USD on `rate_date`.

    Rates keep up to 24 decimal places (18+ significant digits even for IDR/VND-style
    currencies, whose rates are around 0.00006).
    """

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)

    rate_date: dt.date
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
    rate_to_usd: Annotated[
        Decimal, Field(gt=0, max_digits=38, decimal_places=24, allow_inf_nan=False)
    ]
