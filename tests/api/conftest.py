"""Fixtures of the API tests: an app on a temporary local landing zone and sample events."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pyspark.sql import SparkSession
from pyspark.sql import types as T

from api.app import create_app
from bronze.objectstore import LocalObjectStore
from conf.settings import Settings
from tests.integration.test_trino_lake import served_lake, trino_server  # noqa: F401

INGEST_KEY = "test-ingest-key"
READ_KEY = "test-read-key"
INGEST_HEADERS = {"X-API-Key": INGEST_KEY}


def make_event(event_type: str, **overrides: Any) -> dict[str, Any]:
    """A structurally valid event of `event_type` (JSON-ready; money as JSON numbers)."""
    base: dict[str, Any] = {
        "event_id": str(uuid.uuid4()),
        "event_time": "2026-11-25T10:15:00+01:00",
    }
    specific: dict[str, dict[str, Any]] = {
        "subscription": {
            "subscription_id": "sub-1",
            "customer_id": "cus-1",
            "plan_id": "pro-monthly",
            "action": "activated",
            "quantity": 3,
            "unit_price": 49.99,
            "currency": "USD",
            "billing_period": "monthly",
            "region": "EMEA",
            "customer_segment": "smb",
            "customer_country": "DE",
        },
        "payment": {
            "payment_id": "pay-1",
            "customer_id": "cus-1",
            "subscription_id": None,
            "invoice_id": "inv-1",
            "amount": 149.97,
            "currency": "USD",
            "status": "succeeded",
            "payment_method": "card",
        },
        "usage": {
            "customer_id": "cus-1",
            "subscription_id": "sub-1",
            "metric": "api_calls",
            "quantity": 1200,
        },
        "operational_cost": {
            "cost_id": "cost-1",
            "cost_center": "infrastructure",
            "vendor": "cloud-co",
            "amount": -12.5,
            "currency": "EUR",
            "region": "EMEA",
            "incurred_date": "2026-11-24",
        },
    }
    return {**base, **specific[event_type], **overrides}


@pytest.fixture
def api_settings(tmp_path: Path) -> Settings:
    """Test-profile settings with a per-test lake and small limits."""
    return Settings(
        lake_root=str(tmp_path / "lake"), max_events_per_request=50, max_body_bytes=64_000
    )


@pytest.fixture
def store(api_settings: Settings) -> LocalObjectStore:
    """The local landing zone of the test app."""
    return LocalObjectStore(api_settings.landing)


@pytest.fixture
def client(api_settings: Settings, store: LocalObjectStore) -> Iterator[TestClient]:
    """TestClient of an app on the local landing zone."""
    with TestClient(create_app(api_settings, store)) as test_client:
        yield test_client


@pytest.fixture
def event_factory() -> Callable[..., dict[str, Any]]:
    """`make_event` as a fixture."""
    return make_event


# --------------------------------------------------------------- served lake, v2 SaaS marts

MONEY = T.DecimalType(18, 4)
MOVEMENTS_V2 = T.StructType(
    [
        T.StructField("month_start_date", T.DateType(), False),
        T.StructField("region", T.StringType(), False),
        *(
            T.StructField(name, MONEY, False)
            for name in (
                "opening_mrr_usd",
                "new_mrr_usd",
                "expansion_mrr_usd",
                "contraction_mrr_usd",
                "churn_mrr_usd",
                "reactivation_mrr_usd",
                "transfer_mrr_usd",
                "closing_mrr_usd",
            )
        ),
    ]
)
CHURN_V2 = T.StructType(
    [
        T.StructField("month_start_date", T.DateType(), False),
        T.StructField("region", T.StringType(), False),
        *(
            T.StructField(name, T.LongType(), False)
            for name in (
                "opening_customers",
                "churned_customers",
                "voluntary_churned_customers",
                "involuntary_churned_customers",
            )
        ),
        *(
            T.StructField(name, MONEY, False)
            for name in ("opening_mrr_usd", "retained_mrr_usd", "cohort_closing_mrr_usd")
        ),
        *(
            T.StructField(name, T.DoubleType(), True)
            for name in (
                "logo_churn_rate",
                "grr",
                "nrr",
                "gross_revenue_churn_rate",
                "net_revenue_churn_rate",
            )
        ),
    ]
)
MONTHS = (dt.date(2026, 1, 1), dt.date(2026, 2, 1), dt.date(2026, 3, 1))
V2_REGIONS = ("NA", "EMEA", "APAC")
MISSING_CHURN_ROW = (dt.date(2026, 2, 1), "APAC")  # a month without a row: answered as zeros
EMPTY_CHURN_ROW = (dt.date(2026, 3, 1), "APAC")  # no opening customers: rates null
D = Decimal


def movement_rows_v2() -> list[tuple[Any, ...]]:
    """Per-region bridges whose transfers (NA gains what EMEA loses) sum to 0 every month."""
    rows = []
    for r, region in enumerate(V2_REGIONS):
        opening = D("10000.0000") + 1000 * r
        for m, month in enumerate(MONTHS):
            new, exp = D("1200.5000") + 10 * m, D("300.2500")
            con, churn, react = D("-150.1250"), D("-400.0000") - 5 * r, D("50.0000")
            transfer = {"NA": D("25.5000"), "EMEA": D("-25.5000"), "APAC": D(0)}[region] * (m + 1)
            closing = opening + new + exp + con + churn + react + transfer
            rows.append((month, region, opening, new, exp, con, churn, react, transfer, closing))
            opening = closing
    return rows


def _rate(numerator: Decimal, denominator: Decimal) -> float | None:
    return float(numerator / denominator) if denominator else None


def churn_rows_v2() -> list[tuple[Any, ...]]:
    """Customer-level churn rows whose rates follow from their components.

    APAC has no opening customers in March (rates null) and no row at all in February.
    """
    rows = []
    for r, region in enumerate(V2_REGIONS):
        for m, month in enumerate(MONTHS):
            if (month, region) == MISSING_CHURN_ROW:
                continue
            empty = (month, region) == EMPTY_CHURN_ROW
            opening, churned = (0, 0) if empty else (100 + 10 * r + m, 3 + r + m)
            opening_mrr = D(0) if empty else D("20000.0000") + D("1000.5000") * r
            retained = D(0) if empty else opening_mrr - D("950.2500") - 100 * m
            closing = D(0) if empty else retained + D("1400.7500") + 50 * r
            grr, nrr = _rate(retained, opening_mrr), _rate(closing, opening_mrr)
            rows.append(
                (month, region, opening, churned, max(churned - 1, 0), min(churned, 1),
                 opening_mrr, retained, closing, _rate(D(churned), D(opening)), grr, nrr,
                 None if grr is None else 1 - grr, None if nrr is None else 1 - nrr)
            )  # fmt: skip
    return rows


@pytest.fixture(scope="session")
def metrics_lake(
    spark: SparkSession,
    served_lake: dict[str, str],  # noqa: F811
    trino_server: Settings,  # noqa: F811
) -> dict[str, str]:
    """The served tiny lake with the v2 columns of the SaaS marts (issue #19).

    `gold.mrr_movements_monthly` gains `transfer_mrr_usd` and `gold.churn_monthly` the
    customer-level components (opening/retained/cohort-closing MRR). The tables are rewritten
    here only while the shared lake builder still writes the v1 columns.
    """
    for table, schema, rows, marker in (
        ("gold.mrr_movements_monthly", MOVEMENTS_V2, movement_rows_v2, "transfer_mrr_usd"),
        ("gold.churn_monthly", CHURN_V2, churn_rows_v2, "retained_mrr_usd"),
    ):
        path = served_lake[table]
        if marker in spark.read.format("delta").load(path).columns:
            continue
        (
            spark.createDataFrame(rows(), schema)
            .write.format("delta")
            .mode("overwrite")
            .option("overwriteSchema", "true")
            .save(path)
        )
    return served_lake
