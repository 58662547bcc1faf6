"""Liveness, readiness, metrics and docs endpoints."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from api.app import create_app
from bronze.objectstore import LocalObjectStore
from conf.settings import Settings


def test_healthz(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}


def test_readyz_checks_the_store(client: TestClient, store: LocalObjectStore) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "store": store.uri()}


def test_readyz_is_503_when_the_landing_root_is_unusable(
    api_settings: Settings, tmp_path: Path
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with TestClient(create_app(api_settings, LocalObjectStore(blocker / "landing"))) as client:
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"


def test_openapi_documents_ingest_body_and_errors(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    post = spec["paths"]["/v1/events/{event_type}"]["post"]
    schema = post["requestBody"]["content"]["application/json"]["schema"]
    assert schema["oneOf"][1]["properties"]["events"]["maxItems"] == 50
    assert {"202", "401", "403", "404", "413", "422", "503"} <= set(post["responses"])
    assert client.get("/docs").status_code == 200


def test_metrics_exposition(client: TestClient) -> None:
    client.get("/healthz")
    response = client.get("/metrics")
    assert response.headers["content-type"].startswith("text/plain")
    assert 'finlake_api_requests_total{method="GET",route="/healthz",status="200"}' in response.text
