"""Trino down: the metrics API answers 503 with a clear body (and ingestion still works)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from bronze.objectstore import LocalObjectStore
from conf.settings import Settings

pytestmark = [pytest.mark.fault]

READ_KEY = "fault-read-key-7f3a9c2e5b8d4f01a"


def closed_port() -> int:
    """A loopback port nobody listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize(
    "path",
    [
        "/v1/metrics/mrr?start=2024-01-01&end=2024-01-31",
        "/v1/metrics/churn?start=2024-01-01&end=2024-03-31",
        "/v1/metrics/revenue?start=2024-01-01&end=2024-01-31",
    ],
)
def test_metrics_api_answers_503_when_trino_is_down(tmp_path: Path, path: str) -> None:
    """A clear 503 naming the metrics store, with Retry-After; never a 500."""
    settings = Settings(
        lake_root=str(tmp_path / "lake"),
        api_keys={READ_KEY: ["read"]},
        trino_port=closed_port(),
    )
    app = create_app(settings, LocalObjectStore(settings.landing))
    with TestClient(app) as client:
        response = client.get(path, headers={"X-API-Key": READ_KEY})
        assert response.status_code == 503, response.text
        body = response.json()
        assert body["error"] == "metrics_store_unavailable"
        assert "Trino" in body["detail"]
        assert response.headers["Retry-After"]
        assert client.get("/healthz").status_code == 200
