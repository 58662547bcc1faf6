"""Tiny inline Silver frames for Gold transform tests (hand-written events, hand-derived truth)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from pyspark.sql import DataFrame, SparkSession

from jobs.lake import Lake
from silver.reference import to_fx_daily


def day(d: int, month: int = 3) -> dt.date:
    """A date in March 2026 (or `month`)."""
    return dt.date(2026, month, d)


@dataclass
class Sub:
    """One subscription event, Silver-shaped (only what Gold reads)."""

    subscription_id: str
    customer_id: str
    action: str
    on: dt.date
    unit_price: str = "100.00"
    quantity: int = 1
    plan_id: str = "pro_monthly"
    region: str = "EMEA"
    segment: str = "smb"
    currency: str = "USD"
    billing_period: str = "monthly"
    effective: dt.date | None = None
    cancel_reason: str | None = None
    hour: int = 12

    def row(self, index: int) -> tuple[Any, ...]:
        """Row in the order of `SUB_SCHEMA`."""
        at = dt.datetime.combine(self.on, dt.time(self.hour, 0, index % 60))
        return (
            f"e{index:04d}",
            at,
            self.on,
            self.effective or self.on,
            self.subscription_id,
            self.customer_id,
            self.plan_id,
            self.action,
            self.quantity,
            Decimal(self.unit_price),
            self.currency,
            self.billing_period,
            self.region,
            self.segment,
            "DE",
            self.cancel_reason,
        )


SUB_SCHEMA = (
    "event_id string, event_time timestamp, event_date date, effective_date date, "
    "subscription_id string, customer_id string, plan_id string, action string, quantity bigint, "
    "unit_price decimal(18,4), currency string, billing_period string, region string, "
    "customer_segment string, customer_country string, cancel_reason string"
)
PAY_SCHEMA = (
    "event_id string, event_time timestamp, event_date date, payment_id string, "
    "customer_id string, subscription_id string, invoice_id string, amount decimal(18,4), "
    "currency string, status string"
)
FX_SCHEMA = "rate_date date, currency string, rate_to_usd decimal(38,24)"


def subs_df(spark: SparkSession, *events: Sub) -> DataFrame:
    """Silver subscription frame from events (event ids in order)."""
    return spark.createDataFrame([e.row(i) for i, e in enumerate(events)], SUB_SCHEMA)


def pay(
    index: int,
    on: dt.date,
    customer: str,
    subscription: str,
    invoice: str,
    amount: str,
    status: str = "succeeded",
    currency: str = "USD",
    hour: int = 12,
) -> tuple[Any, ...]:
    """A Silver payment row."""
    at = dt.datetime.combine(on, dt.time(hour))
    return (
        f"p{index}",
        at,
        on,
        f"pay{index}",
        customer,
        subscription,
        invoice,
        Decimal(amount),
        currency,
        status,
    )


def fx_df(spark: SparkSession, *rates: tuple[dt.date, str, str]) -> DataFrame:
    """silver.fx_rates rows."""
    return spark.createDataFrame([(d, c, Decimal(r)) for d, c, r in rates], FX_SCHEMA)


@pytest.fixture(scope="session")
def empty_fx(spark: SparkSession) -> DataFrame:
    """The dense as-of FX table of a feed without rates (USD only)."""
    return to_fx_daily(spark.createDataFrame([], FX_SCHEMA), dt.date(2026, 12, 31))


@pytest.fixture(scope="session")
def lake_schema(spark: SparkSession, settings: Any) -> Lake:
    """A Lake for declared schemas."""
    return Lake(spark, settings)
