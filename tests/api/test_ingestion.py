"""Landing and idempotency without HTTP, including a crash between intent and data."""

from __future__ import annotations

import json

import pytest

from api.ingestion import (
    IdempotencyKeyReused,
    idempotency_record_key,
    ingest_request,
    land_events,
)
from bronze.objectstore import LocalObjectStore, ObjectStoreUnavailable
from bronze.validation import InvalidBatch, to_jsonl, validate_events
from tests.api.conftest import make_event


class FlakyStore(LocalObjectStore):
    """A real local store whose puts of event objects fail while `down` is set."""

    down = True

    def put_if_absent(self, key: str, data: bytes) -> bool:
        if self.down and key.startswith("events/"):
            raise ObjectStoreUnavailable("disk unplugged")
        return super().put_if_absent(key, data)


def test_crash_after_intent_is_completed_by_the_retry_exactly_once(tmp_path: object) -> None:
    store = FlakyStore(str(tmp_path))
    payload = to_jsonl(validate_events("usage", [make_event("usage")]))

    with pytest.raises(ObjectStoreUnavailable):
        land_events(store, "usage", payload, 1, client_id="c1", idempotency_key="k1")
    assert list(store.list("events/")) == []  # intent recorded, nothing acknowledged
    assert store.exists(idempotency_record_key("c1", "k1"))

    store.down = False
    retry = land_events(store, "usage", payload, 1, client_id="c1", idempotency_key="k1")
    again = land_events(store, "usage", payload, 1, client_id="c1", idempotency_key="k1")

    assert retry.replayed and retry.landed
    assert again.replayed and not again.landed
    assert list(store.list("events/")) == [retry.object_key] == [again.object_key]
    assert store.get(retry.object_key) == payload


def test_keys_are_scoped_per_client(tmp_path: object) -> None:
    store = LocalObjectStore(str(tmp_path))
    payload = to_jsonl(validate_events("usage", [make_event("usage")]))
    first = land_events(store, "usage", payload, 1, client_id="a", idempotency_key="k")
    second = land_events(store, "usage", payload, 1, client_id="b", idempotency_key="k")
    assert first.object_key != second.object_key
    assert not second.replayed


def test_same_key_other_event_type_is_refused(tmp_path: object) -> None:
    store = LocalObjectStore(str(tmp_path))
    payload = to_jsonl(validate_events("usage", [make_event("usage")]))
    land_events(store, "usage", payload, 1, client_id="a", idempotency_key="k")
    with pytest.raises(IdempotencyKeyReused):
        land_events(store, "payment", payload, 1, client_id="a", idempotency_key="k")


def test_floats_are_refused_before_the_serializer() -> None:
    """The API parses numbers as Decimal; a float reaching the contract is refused, not rounded."""
    with pytest.raises(InvalidBatch) as refused:
        validate_events("usage", [make_event("usage", quantity=1.5)])
    assert [e["field"] for e in refused.value.errors[0]["errors"]] == ["quantity"]


def test_ingest_request_unicode_is_kept(tmp_path: object) -> None:
    store = LocalObjectStore(str(tmp_path))
    event = make_event("operational_cost", vendor="Société Générale ✓")
    raw = json.dumps({"events": [event]}, ensure_ascii=True).encode()
    result = ingest_request(store, "operational_cost", raw, max_events=10, client_id="a")
    line = store.get(result.object_key).decode("utf-8")
    assert "Société Générale ✓" in line
    assert json.loads(line) == event


def test_concurrent_retries_land_once(tmp_path: object) -> None:
    from concurrent.futures import ThreadPoolExecutor

    store = LocalObjectStore(str(tmp_path))
    payload = to_jsonl(validate_events("usage", [make_event("usage")]))

    def attempt(_: int) -> str:
        result = land_events(store, "usage", payload, 1, client_id="c", idempotency_key="race")
        return result.object_key

    with ThreadPoolExecutor(max_workers=4) as pool:
        keys = set(pool.map(attempt, range(8)))

    assert len(keys) == 1
    assert list(store.list("events/")) == list(keys)
