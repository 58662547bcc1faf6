"""HTTP behaviour of `POST /v1/events/{event_type}` on a local landing zone."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient

from bronze.contracts import EVENT_TYPES
from bronze.landing import parse_event_key
from bronze.objectstore import LocalObjectStore
from tests.api.conftest import INGEST_HEADERS, READ_KEY, make_event

EventFactory = Callable[..., dict[str, Any]]


def landed_keys(store: LocalObjectStore) -> list[str]:
    """Event objects in the landing zone."""
    return list(store.list("events/"))


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_single_event_lands_as_one_jsonl_object(
    client: TestClient, store: LocalObjectStore, event_type: str
) -> None:
    event = make_event(event_type)
    response = client.post(f"/v1/events/{event_type}", json=event, headers=INGEST_HEADERS)

    assert response.status_code == 202
    body = response.json()
    assert body["accepted"] == 1
    assert landed_keys(store) == [body["object_key"]]
    lineage = parse_event_key(body["object_key"])
    assert (lineage.event_type, lineage.source, lineage.ext) == (event_type, "api", "jsonl")
    assert body["received_at"].endswith("Z")
    lines = store.get(body["object_key"]).decode().splitlines()
    assert [json.loads(line) for line in lines] == [event]


def test_batch_lands_each_event_normalized_and_compact(
    client: TestClient, store: LocalObjectStore
) -> None:
    events = [make_event("payment", payment_id=f"pay-{i}") for i in range(3)]
    sent = [dict(e) for e in events]
    sent[1]["payment_method"] = "  card  "  # validated trimmed, so stored trimmed
    sent[2]["event_id"] = events[2]["event_id"].upper()  # stored canonical: lower-case
    sent[2]["amount"] = "149.9700"  # a decimal string is stored as a JSON number
    raw = json.dumps({"events": sent}, indent=2).encode()

    response = client.post(
        "/v1/events/payment",
        content=raw,
        headers={**INGEST_HEADERS, "Content-Type": "application/json"},
    )

    assert response.status_code == 202
    assert response.json()["accepted"] == 3
    payload = store.get(response.json()["object_key"]).decode()
    lines = payload.splitlines()
    assert payload.endswith("\n")
    stored = [json.loads(line, parse_float=Decimal) for line in lines]
    assert [s["event_id"] for s in stored] == [e["event_id"] for e in events]
    assert stored[1]["payment_method"] == "card"
    assert stored[2]["amount"] == Decimal("149.9700")
    assert '"amount":149.9700' in lines[2]
    assert all(": " not in line and ", " not in line for line in lines)


def test_money_text_is_kept_exactly(client: TestClient, store: LocalObjectStore) -> None:
    event = make_event("payment")
    event["amount"] = "__AMOUNT__"
    raw = json.dumps(event).replace('"__AMOUNT__"', "12345678901234.5678").encode()

    response = client.post(
        "/v1/events/payment",
        content=raw,
        headers={**INGEST_HEADERS, "Content-Type": "application/json"},
    )

    assert response.status_code == 202
    line = store.get(response.json()["object_key"]).decode()
    assert '"amount":12345678901234.5678' in line
    assert json.loads(line, parse_float=Decimal)["amount"] == Decimal("12345678901234.5678")


def test_unknown_event_type_is_404(client: TestClient, store: LocalObjectStore) -> None:
    response = client.post("/v1/events/refund", json=make_event("payment"), headers=INGEST_HEADERS)

    assert response.status_code == 404
    assert "refund" in response.json()["detail"]
    assert landed_keys(store) == []


def test_missing_or_unknown_key_is_401(client: TestClient) -> None:
    event = make_event("usage")
    assert client.post("/v1/events/usage", json=event).status_code == 401
    response = client.post("/v1/events/usage", json=event, headers={"X-API-Key": "nope"})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "ApiKey"


def test_key_without_ingest_scope_is_403(client: TestClient, store: LocalObjectStore) -> None:
    response = client.post(
        "/v1/events/usage", json=make_event("usage"), headers={"X-API-Key": READ_KEY}
    )

    assert response.status_code == 403
    assert landed_keys(store) == []


def test_invalid_batch_is_422_with_per_index_errors_and_lands_nothing(
    client: TestClient, store: LocalObjectStore
) -> None:
    good = make_event("subscription")
    bad_type = make_event("subscription", quantity="three")
    missing = make_event("subscription")
    del missing["customer_id"]
    naive_time = make_event("subscription", event_time="2026-11-25T10:00:00")

    response = client.post(
        "/v1/events/subscription",
        json={"events": [good, bad_type, missing, naive_time, 7]},
        headers=INGEST_HEADERS,
    )

    assert response.status_code == 422
    errors = {item["index"]: item for item in response.json()["errors"]}
    assert sorted(errors) == [1, 2, 3, 4]
    assert errors[1]["event_id"] == bad_type["event_id"]
    assert [e["field"] for e in errors[1]["errors"]] == ["quantity"]
    assert [e["type"] for e in errors[2]["errors"]] == ["missing"]
    assert [e["field"] for e in errors[3]["errors"]] == ["event_time"]
    assert errors[4]["event_id"] is None
    assert landed_keys(store) == []


def test_business_rules_are_not_api_rules(client: TestClient) -> None:
    """Out-of-range values are Silver's business: the API lands them for quarantine."""
    event = make_event("subscription", quantity=-5, action="teleported", currency="XXX")
    response = client.post("/v1/events/subscription", json=event, headers=INGEST_HEADERS)
    assert response.status_code == 202


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        (b"", "empty"),
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "JSON object"),
        (b'{"events": []}', "empty"),
        (b'{"events": {}}', "array"),
        (b'{"events": [], "extra": 1}', "only"),
        (b'{"amount": NaN}', "not valid JSON"),
    ],
)
def test_malformed_bodies_are_422(
    client: TestClient, store: LocalObjectStore, raw: bytes, fragment: str
) -> None:
    response = client.post(
        "/v1/events/payment",
        content=raw,
        headers={**INGEST_HEADERS, "Content-Type": "application/json"},
    )

    assert response.status_code == 422
    assert fragment in response.json()["detail"]
    assert landed_keys(store) == []


def test_too_many_events_is_422(client: TestClient, store: LocalObjectStore) -> None:
    events = [make_event("usage") for _ in range(51)]  # the fixture allows 50
    response = client.post("/v1/events/usage", json={"events": events}, headers=INGEST_HEADERS)

    assert response.status_code == 422
    assert "more than 50" in response.json()["detail"]
    assert landed_keys(store) == []


def test_body_over_limit_is_413(client: TestClient, store: LocalObjectStore) -> None:
    event = make_event("usage", note="x" * 70_000)  # the fixture allows 64 kB
    response = client.post("/v1/events/usage", json=event, headers=INGEST_HEADERS)

    assert response.status_code == 413
    assert landed_keys(store) == []


def test_body_over_limit_without_content_length_is_413(
    client: TestClient, store: LocalObjectStore
) -> None:
    def chunks() -> Any:
        yield b'{"events": ['
        for _ in range(20):
            yield b'"' + b"x" * 5_000 + b'",'
        yield b"1]}"

    response = client.post(
        "/v1/events/usage",
        content=chunks(),
        headers={**INGEST_HEADERS, "Content-Type": "application/json"},
    )

    assert "content-length" not in {k.lower() for k in response.request.headers}
    assert response.status_code == 413
    assert landed_keys(store) == []


def test_non_json_content_type_is_415(client: TestClient) -> None:
    response = client.post(
        "/v1/events/usage", content=b"a,b\n", headers={**INGEST_HEADERS, "Content-Type": "text/csv"}
    )
    assert response.status_code == 415


def test_idempotent_retry_returns_first_response_and_lands_once(
    client: TestClient, store: LocalObjectStore
) -> None:
    headers = {**INGEST_HEADERS, "Idempotency-Key": "order-42"}
    batch = {"events": [make_event("payment"), make_event("payment")]}

    first = client.post("/v1/events/payment", json=batch, headers=headers)
    retry = client.post("/v1/events/payment", json=batch, headers=headers)

    assert first.status_code == retry.status_code == 202
    assert retry.json() == first.json()
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert landed_keys(store) == [first.json()["object_key"]]
    assert len(list(store.list("_idempotency/"))) == 1


def test_idempotency_key_reused_with_other_batch_is_422(
    client: TestClient, store: LocalObjectStore
) -> None:
    headers = {**INGEST_HEADERS, "Idempotency-Key": "order-43"}
    assert (
        client.post("/v1/events/usage", json=make_event("usage"), headers=headers).status_code
        == 202
    )

    response = client.post("/v1/events/usage", json=make_event("usage"), headers=headers)

    assert response.status_code == 422
    assert "Idempotency-Key" in response.json()["detail"]
    assert len(landed_keys(store)) == 1


def test_idempotency_survives_a_restart(api_settings: Any, store: LocalObjectStore) -> None:
    from api.app import create_app

    headers = {**INGEST_HEADERS, "Idempotency-Key": "restart-1"}
    event = make_event("usage")
    with TestClient(create_app(api_settings, store)) as first_process:
        first = first_process.post("/v1/events/usage", json=event, headers=headers)
    with TestClient(create_app(api_settings, LocalObjectStore(api_settings.landing))) as second:
        retry = second.post("/v1/events/usage", json=event, headers=headers)

    assert retry.json() == first.json()
    assert len(landed_keys(store)) == 1


def test_invalid_idempotency_key_is_400(client: TestClient) -> None:
    headers = {**INGEST_HEADERS, "Idempotency-Key": "x" * 300}
    response = client.post("/v1/events/usage", json=make_event("usage"), headers=headers)
    assert response.status_code == 400


def test_metrics_count_requests_and_events(client: TestClient, admin_client: TestClient) -> None:
    client.post(
        "/v1/events/usage",
        json={"events": [make_event("usage"), make_event("usage")]},
        headers=INGEST_HEADERS,
    )
    client.post("/v1/events/usage", json={"events": [{}]}, headers=INGEST_HEADERS)

    text = admin_client.get("/metrics").text

    assert 'finlake_ingest_events_accepted_total{event_type="usage"} 2.0' in text
    assert 'finlake_ingest_requests_rejected_total{event_type="usage",reason="invalid"} 1.0' in text
    assert (
        'finlake_api_requests_total{method="POST",route="/v1/events/{event_type}",status="202"} 1.0'
        in text
    )
    assert "finlake_api_request_duration_seconds_bucket" in text
