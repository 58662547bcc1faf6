"""Fixtures of the API tests: an app on a temporary local landing zone and sample events."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.app import create_admin_app, create_app
from bronze.objectstore import LocalObjectStore
from conf.settings import Settings
from tests.catalog_schemas import spark_schema
from tests.integration.test_trino_lake import (  # noqa: F401
    EMPTY_CHURN_ROW,
    MISSING_CHURN_ROW,
    served_lake,
    trino_server,
)

INGEST_KEY = "test-ingest-key-7f3a9c2e5b8d4f01"
READ_KEY = "test-read-key-7f3a9c2e5b8d4f01aa"
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
    """TestClient of the public app on the local landing zone."""
    with TestClient(create_app(api_settings, store)) as test_client:
        yield test_client


@pytest.fixture
def admin_client(client: TestClient) -> Iterator[TestClient]:
    """TestClient of the admin app (metrics, OpenAPI, docs) of `client`'s app."""
    app = client.app
    assert isinstance(app, FastAPI)
    with TestClient(create_admin_app(app)) as test_client:
        yield test_client


@pytest.fixture
def event_factory() -> Callable[..., dict[str, Any]]:
    """`make_event` as a fixture."""
    return make_event


# --------------------------------------------------------------- served lake, v2 SaaS marts
MOVEMENTS_V2 = spark_schema("gold.mrr_movements_monthly")


@pytest.fixture(scope="session")
def metrics_lake(
    served_lake: dict[str, str],  # noqa: F811
    trino_server: Settings,  # noqa: F811
) -> dict[str, str]:
    """The served tiny lake (its SaaS marts carry transfers and customer-level churn)."""
    return served_lake
