"""Liveness and readiness on the public app; metrics, OpenAPI and docs on the admin app only."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from bronze.objectstore import LocalObjectStore
from conf.settings import Settings


def test_healthz(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}


def test_readyz_checks_the_store_and_says_nothing_else(client: TestClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready"}


def test_readyz_is_503_without_paths_or_os_errors(
    api_settings: Settings, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with TestClient(create_app(api_settings, LocalObjectStore(blocker / "landing"))) as client:
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable"}
    assert str(tmp_path) not in response.text
    # the detail is for operators: it goes to the log
    assert any("landing store unavailable" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("path", ["/metrics", "/docs", "/openapi.json", "/redoc"])
def test_operator_endpoints_are_not_on_the_public_app(client: TestClient, path: str) -> None:
    assert client.get(path).status_code == 404


def test_admin_app_documents_ingest_body_and_errors(admin_client: TestClient) -> None:
    spec = admin_client.get("/openapi.json").json()
    post = spec["paths"]["/v1/events/{event_type}"]["post"]
    schema = post["requestBody"]["content"]["application/json"]["schema"]
    assert schema["oneOf"][1]["properties"]["events"]["maxItems"] == 50
    assert {"202", "401", "403", "404", "413", "422", "503"} <= set(post["responses"])
    assert "/metrics" not in spec["paths"]  # the document describes the public app only
    docs = admin_client.get("/docs")
    assert docs.status_code == 200 and "/openapi.json" in docs.text


def test_admin_metrics_expose_the_public_app(client: TestClient, admin_client: TestClient) -> None:
    client.get("/healthz")
    response = admin_client.get("/metrics")
    assert response.headers["content-type"].startswith("text/plain")
    assert 'finlake_api_requests_total{method="GET",route="/healthz",status="200"}' in response.text
    assert admin_client.get("/readyz").json() == {"status": "ready"}
