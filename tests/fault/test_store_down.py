"""Object store down during ingestion: 503, nothing acknowledged is lost or landed twice."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from bronze.objectstore import make_object_store
from tests.integration.conftest import MotoServer, S3Server

pytestmark = [pytest.mark.fault, pytest.mark.integration]

KEY = "fault-ingest-key-7f3a9c2e5b8d4f0"


def usage_batch(n: int) -> dict[str, Any]:
    """A batch of `n` valid usage events."""
    return {
        "events": [
            {
                "event_id": str(uuid.uuid4()),
                "event_time": "2026-11-25T10:00:00+00:00",
                "customer_id": "cus-1",
                "subscription_id": "sub-1",
                "metric": "api_calls",
                "quantity": i,
            }
            for i in range(n)
        ]
    }


def test_store_outage_answers_503_and_loses_nothing(
    disposable_s3_server: tuple[MotoServer, S3Server],
) -> None:
    """Acknowledged events are in landing exactly once after the store comes back."""
    moto, server = disposable_s3_server
    settings = server.settings(api_keys={KEY: ["ingest"]})
    store = make_object_store(settings)
    acknowledged: set[str] = set()
    pending: list[tuple[str, dict[str, Any]]] = []
    with TestClient(create_app(settings, store)) as client:

        def post(idem: str, batch: dict[str, Any]) -> int:
            response = client.post(
                "/v1/events/usage",
                json=batch,
                headers={"X-API-Key": KEY, "Idempotency-Key": idem},
            )
            if response.status_code == 202:
                acknowledged.update(e["event_id"] for e in batch["events"])
            return int(response.status_code)

        before = [(f"before-{i}", usage_batch(5)) for i in range(3)]
        assert [post(k, b) for k, b in before] == [202, 202, 202]

        moto.stop()
        try:
            for i in range(3):
                batch = (f"during-{i}", usage_batch(5))
                response = client.post(
                    "/v1/events/usage",
                    json=batch[1],
                    headers={"X-API-Key": KEY, "Idempotency-Key": batch[0]},
                )
                assert response.status_code == 503
                body = response.json()
                assert body["error"] == "store_unavailable"
                assert "retry" in body["detail"]
                assert response.headers["Retry-After"]
                pending.append(batch)
        finally:
            moto.start()

        # producers retry with the same keys; one acknowledged batch is also retried
        assert [post(k, b) for k, b in pending] == [202, 202, 202]
        assert post(*before[0]) == 202

    events: list[str] = []
    for key in store.list("events/"):
        for line in store.get(key).splitlines():
            events.append(json.loads(line)["event_id"])
    assert len(acknowledged) == 30
    assert sorted(events) == sorted(acknowledged), "lost or duplicated acknowledged events"
