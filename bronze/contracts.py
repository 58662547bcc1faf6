"""Event contracts v1: the single definition behind API validation and Spark schemas.

Only structure lives here (types and required fields). Business rules (ranges, accepted
values, referential checks, lateness) are declared in `conf/rules/silver_rules.yaml` and
enforced in Silver, so bad rows reach quarantine instead of being refused silently.

The event models are strict: a field that is not declared is refused (declared optional
fields are the schema-evolution path), identifiers are canonical UUIDs, integers are JSON
integers (never `true` or `2.0`), timestamps are RFC 3339 strings with an offset (never epoch
numbers), dates are `YYYY-MM-DD` strings and decimals are JSON numbers or decimal strings that
never go through float. `canonical_event` gives the normalized form that is stored (lower-case
event ids, trimmed text, ISO timestamps).
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Annotated, Any, Final, Literal, get_args

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictInt,
    StringConstraints,
)

EventType = Literal["subscription", "payment", "usage", "operational_cost"]
EVENT_TYPES: tuple[EventType, ...] = get_args(EventType)

Id = Annotated[str, StringConstraints(min_length=1, max_length=128)]
Code = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Money = Annotated[Decimal, Field(max_digits=18, decimal_places=4, allow_inf_nan=False)]

# --- strict scalar types of the event contracts --------------------------------------------
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_NIL_UUIDS: Final = frozenset(
    {"00000000-0000-0000-0000-000000000000", "ffffffff-ffff-ffff-ffff-ffffffffffff"}
)
# RFC 3339 date-time: `T` (or `t`) separator, seconds, optional fraction, mandatory offset.
_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DECIMAL_TEXT = re.compile(r"^-?(0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?$")
_NO_CONTROL_CHARS = r"^[^\x00-\x1f\x7f]*$"
INT64_MIN: Final = -(2**63)
INT64_MAX: Final = 2**63 - 1


def _uuid_text(value: object) -> object:
    """A UUID in 8-4-4-4-12 form, stored lower-case; padding and the nil UUIDs are refused.

    The event id is the idempotency key of the event, so it is never guessed at: surrounding
    whitespace is an error (422), not something to trim.
    """
    if not isinstance(value, str):
        return value  # the str validator reports the type error
    text = value.lower()
    if not _UUID.match(text):
        raise ValueError("must be a UUID in 8-4-4-4-12 hex form")
    if text in _NIL_UUIDS:
        raise ValueError("the nil UUID is not an event id")
    return text


def _rfc3339_text(value: object) -> object:
    """Only RFC 3339 strings with an offset reach the datetime parser (no epoch numbers)."""
    if not isinstance(value, str) or not _RFC3339.match(value.strip()):
        raise ValueError("must be an RFC 3339 timestamp with offset, e.g. 2026-11-25T10:15:00Z")
    return value.strip()


def _date_text(value: object) -> object:
    """Only `YYYY-MM-DD` strings reach the date parser (no numbers, no datetimes)."""
    if not isinstance(value, str) or not _DATE.match(value.strip()):
        raise ValueError("must be a date string YYYY-MM-DD")
    return value.strip()


def _decimal_input(value: object) -> object:
    """A JSON number (parsed as Decimal or int, never bool or float) or a decimal string."""
    if isinstance(value, bool | float):
        raise ValueError("must be a JSON number or a decimal string")
    if isinstance(value, Decimal | int):
        return value
    if isinstance(value, str) and _DECIMAL_TEXT.match(value.strip()):
        return Decimal(value.strip())
    raise ValueError("must be a JSON number or a decimal string")


EventId = Annotated[
    str,
    BeforeValidator(_uuid_text),
    StringConstraints(pattern=r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$"),
]
EventTimestamp = Annotated[AwareDatetime, BeforeValidator(_rfc3339_text)]
EventDate = Annotated[dt.date, BeforeValidator(_date_text)]
EventInt = Annotated[StrictInt, Field(ge=INT64_MIN, le=INT64_MAX)]
EventMoney = Annotated[
    Decimal,
    BeforeValidator(_decimal_input),
    Field(max_digits=18, decimal_places=4, allow_inf_nan=False),
]
EventText = Annotated[
    str, StringConstraints(min_length=1, max_length=128, pattern=_NO_CONTROL_CHARS)
]
EventCode = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=_NO_CONTROL_CHARS)
]


class EventBase(BaseModel):
    """Fields common to every event (strict: undeclared fields are refused)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)

    event_id: EventId
    event_time: EventTimestamp
    schema_version: EventInt = 1


class SubscriptionEvent(EventBase):
    """A change in the life of a subscription."""

    subscription_id: EventText
    customer_id: EventText
    plan_id: EventText
    action: EventCode
    quantity: EventInt
    unit_price: EventMoney
    currency: EventCode
    billing_period: EventCode
    region: EventCode
    customer_segment: EventCode
    customer_country: EventCode
    effective_date: EventDate | None = None
    cancel_reason: EventCode | None = None


class PaymentEvent(EventBase):
    """A payment attempt, success or refund."""

    payment_id: EventText
    customer_id: EventText
    subscription_id: EventText | None = None
    invoice_id: EventText
    amount: EventMoney
    currency: EventCode
    status: EventCode
    payment_method: EventCode
    failure_code: EventCode | None = None


class UsageEvent(EventBase):
    """A metered usage reading."""

    customer_id: EventText
    subscription_id: EventText
    metric: EventCode
    quantity: EventMoney


class OperationalCostEvent(EventBase):
    """An operating cost (negative amounts are credits)."""

    cost_id: EventText
    cost_center: EventCode
    vendor: EventText
    amount: EventMoney
    currency: EventCode
    region: EventCode
    incurred_date: EventDate


def canonical_event(event: EventBase) -> dict[str, Any]:
    """The stored form of a validated event: sent fields in declaration order, normalized."""
    out: dict[str, Any] = {}
    for name in type(event).model_fields:
        if name not in event.model_fields_set:
            continue
        value = getattr(event, name)
        if isinstance(value, dt.date):  # datetime is a date subclass: isoformat covers both
            value = value.isoformat()
        out[name] = value
    return out


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
