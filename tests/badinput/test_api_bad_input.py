"""Junk that producers (or attackers holding an ingest key) send: always a 4xx, never 202 or 5xx.

Every case of the security review (issue 17) is here, against the real app on a local landing
zone: what is refused lands nothing, and what is accepted is stored in its normalized form.
"""

from __future__ import annotations

import json
import tracemalloc
import uuid
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.ingestion import check_shape, parse_events
from bronze.objectstore import LocalObjectStore
from bronze.validation import InvalidBatch
from conf.settings import Settings
from tests.api.conftest import INGEST_HEADERS, make_event

pytestmark = pytest.mark.badinput

JSON = {**INGEST_HEADERS, "Content-Type": "application/json"}


@pytest.fixture
def lake(tmp_path: Path) -> Iterator[tuple[TestClient, LocalObjectStore]]:
    """The app with production limits (1000 events, 5 MB bodies) on a temporary lake."""
    settings = Settings(lake_root=str(tmp_path / "lake"))
    store = LocalObjectStore(settings.landing)
    with TestClient(create_app(settings, store), raise_server_exceptions=False) as client:
        yield client, store


def _with_extra(event: dict[str, Any], raw_value: str) -> bytes:
    """The event's JSON with one more member whose value is `raw_value` (JSON text)."""
    return (json.dumps(event)[:-1] + f', "extra": {raw_value}}}').encode()


def _refused(
    lake: tuple[TestClient, LocalObjectStore], body: bytes, event_type: str = "usage"
) -> dict[str, Any]:
    client, store = lake
    response = client.post(f"/v1/events/{event_type}", content=body, headers=JSON)
    assert 400 <= response.status_code < 500, (response.status_code, response.text[:300])
    assert list(store.list("events/")) == [], "a refused request landed data"
    body_json: dict[str, Any] = response.json()
    return body_json


JUNK_VALUES: dict[str, Callable[[], str]] = {
    "600-level nested object": lambda: '{"x":' * 600 + "1" + "}" * 600,
    "600-level nested array": lambda: "[" * 600 + "]" * 600,
    "300k-element array": lambda: "[" + ",".join(["0"] * 300_000) + "]",
    "a string": lambda: '"hello"',
    "a number": lambda: "1",
    "null": lambda: "null",
}


@pytest.mark.parametrize("junk", JUNK_VALUES, ids=list(JUNK_VALUES))
def test_unknown_fields_are_refused_whatever_they_hold(
    lake: tuple[TestClient, LocalObjectStore], junk: str
) -> None:
    body = _refused(lake, _with_extra(make_event("usage"), JUNK_VALUES[junk]()))
    assert body["detail"]


def test_unknown_field_error_names_the_field(lake: tuple[TestClient, LocalObjectStore]) -> None:
    body = _refused(lake, json.dumps(make_event("usage", promo_code="X")).encode())
    (event,) = body["errors"]
    assert [(e["field"], e["type"]) for e in event["errors"]] == [("promo_code", "extra_forbidden")]


def test_a_huge_unknown_field_name_is_not_echoed(lake: tuple[TestClient, LocalObjectStore]) -> None:
    event = make_event("usage")
    event["k" * 100_000] = 1
    body = _refused(lake, json.dumps(event).encode())
    assert len(json.dumps(body)) < 2_000


BAD_FIELDS: list[tuple[str, str, Any]] = [
    ("event_id of 32 dashes", "event_id", "-" * 32),
    ("event_id with surrounding spaces", "event_id", f"  {uuid.uuid4()}  "),
    ("event_id 32 hex digits without dashes", "event_id", uuid.uuid4().hex),
    ("event_id in braces", "event_id", "{" + str(uuid.uuid4()) + "}"),
    ("event_id urn", "event_id", "urn:uuid:" + str(uuid.uuid4())),
    ("nil event_id", "event_id", "00000000-0000-0000-0000-000000000000"),
    ("event_id as a number", "event_id", 12345),
    ("event_time as epoch seconds", "event_time", 1764065700),
    ("event_time as epoch string", "event_time", "1764065700"),
    ("event_time without offset", "event_time", "2026-11-25T10:15:00"),
    ("event_time date only", "event_time", "2026-11-25"),
    ("event_time with a space", "event_time", "2026-11-25 10:15:00Z"),
    ("event_time with a compact offset", "event_time", "2026-11-25T10:15:00+0100"),
    ("event_time without seconds", "event_time", "2026-11-25T10:15Z"),
    ("event_time out of range", "event_time", "2026-13-45T10:15:00Z"),
    ("schema_version true", "schema_version", True),
    ("schema_version 2.0", "schema_version", Decimal("2.0")),
    ("schema_version as a string", "schema_version", "2"),
    ("quantity as a boolean", "quantity", True),
    ("quantity with underscores", "quantity", "1_000"),
    ("quantity as hex", "quantity", "0x10"),
    ("quantity as Infinity", "quantity", "Infinity"),
    ("quantity with 5 decimals", "quantity", "1.00001"),
    ("metric with a NUL byte", "metric", "api\x00calls"),
    ("metric as a number", "metric", 7),
    ("metric too long", "metric", "m" * 65),
    ("metric blank", "metric", "   "),
    ("customer_id as an object", "customer_id", {"id": 1}),
    ("customer_id as a list", "customer_id", ["c1"]),
]


@pytest.mark.parametrize(
    ("field", "value"), [(f, v) for _, f, v in BAD_FIELDS], ids=[n for n, _, _ in BAD_FIELDS]
)
def test_structurally_wrong_values_are_422(
    lake: tuple[TestClient, LocalObjectStore], field: str, value: Any
) -> None:
    event = make_event("usage")
    event[field] = value
    body = _refused(lake, json.dumps(event, default=str).replace('"2.0"', "2.0").encode())
    (errors,) = body["errors"]
    assert [e["field"] for e in errors["errors"]] == [field]


@pytest.mark.parametrize("quantity", ["true", "2.0", "2.5", '"3"', "1e400"])
def test_subscription_quantity_is_a_json_integer(
    lake: tuple[TestClient, LocalObjectStore], quantity: str
) -> None:
    # replace the member, not the digits: a random UUID in the event may contain "999"
    event = json.dumps(make_event("subscription", quantity=999)).replace(
        '"quantity": 999', f'"quantity": {quantity}'
    )
    body = _refused(lake, event.encode(), "subscription")
    assert [e["field"] for e in body["errors"][0]["errors"]] == ["quantity"]


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        (b'{"events": [' + b"{}," * 1000 + b"{}]}", "more than"),
        (b'{"events": [[' + b"1," * 1000 + b"1]]}", "more than 1000"),
        (b'{"events": [{"a": {"b": 1}}]}', "nests deeper"),
        (("{" + "".join(f'"f{i}": 1,' for i in range(70)) + '"b": 2}').encode(), "64 members"),
        (b'{"event_id": 1, "event_id": 2}', "repeats a member"),
        (b'{"quantity": NaN}', "not valid JSON"),
        (b'{"quantity": -Infinity}', "not valid JSON"),
        (b'{"quantity": ' + b"9" * 5000 + b"}", "not valid JSON"),
        ("\ufeff{}".encode(), "not valid JSON"),
        (b'{"metric": "\xff"}', "not valid JSON"),
        (b'{"events": [1]} trailing', "not valid JSON"),
        (b'"just a string"', "JSON object"),
    ],
    ids=[
        "1001 events",
        "array in the events array",
        "object inside an event",
        "71 members",
        "duplicate member",
        "NaN",
        "-Infinity",
        "5000-digit integer",
        "byte order mark",
        "invalid UTF-8",
        "trailing data",
        "top-level string",
    ],
)
def test_malformed_bodies_are_refused_before_validation(
    lake: tuple[TestClient, LocalObjectStore], raw: bytes, fragment: str
) -> None:
    body = _refused(lake, raw)
    assert fragment in body["detail"]


def test_a_lone_surrogate_is_refused(lake: tuple[TestClient, LocalObjectStore]) -> None:
    raw = json.dumps(make_event("usage")).replace('"api_calls"', '"api\\ud800calls"').encode()
    body = _refused(lake, raw)
    assert [e["field"] for e in body["errors"][0]["errors"]] == ["metric"]


def test_a_refused_batch_lands_none_of_its_good_events(
    lake: tuple[TestClient, LocalObjectStore],
) -> None:
    good = [make_event("usage") for _ in range(5)]
    bad = make_event("usage", event_time=1764065700)
    body = _refused(lake, json.dumps({"events": [*good, bad]}).encode())
    assert [e["index"] for e in body["errors"]] == [5]


def test_junk_is_rejected_without_building_it() -> None:
    """A 5 MB junk array or a deep nesting is refused by the shape scan with no allocation."""
    event = make_event("usage")
    junk = [
        _with_extra(event, "[" + ",".join(["0"] * 2_400_000) + "]"),
        _with_extra(event, "[" + ",".join(['{"a":[1,2,3]}'] * 350_000) + "]"),
        _with_extra(event, "[" + ",".join(['"s"'] * 1_200_000) + "]"),
        _with_extra(event, '{"x":' * 300_000 + "1" + "}" * 300_000),
    ]
    for body in junk:
        assert len(body) > 1_000_000
        tracemalloc.start()
        try:
            with pytest.raises(InvalidBatch):
                parse_events(body, 1000)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert peak < 1_000_000, f"{peak} bytes allocated to refuse {len(body)} bytes of junk"


def test_the_shape_scan_accepts_every_valid_body() -> None:
    events = [make_event(t) for t in ("subscription", "payment", "usage", "operational_cost")]
    check_shape(json.dumps(events[0]).encode(), 1)
    batch = {"events": [make_event("usage", metric='a[b]{c},d\\"') for _ in range(1000)]}
    check_shape(json.dumps(batch).encode(), 1000)
    assert len(parse_events(json.dumps(batch).encode(), 1000)) == 1000


MEDIA_TYPES = [
    "application/json",
    "APPLICATION/JSON",
    "Application/Json; Charset=UTF-8",
    'application/json; charset="utf-8"',
    "application/vnd.finlake+json",
]


@pytest.mark.parametrize("media_type", MEDIA_TYPES)
def test_json_media_types_are_case_insensitive(
    lake: tuple[TestClient, LocalObjectStore], media_type: str
) -> None:
    client, _ = lake
    response = client.post(
        "/v1/events/usage",
        content=json.dumps(make_event("usage")).encode(),
        headers={**INGEST_HEADERS, "Content-Type": media_type},
    )
    assert response.status_code == 202, response.text


@pytest.mark.parametrize(
    "media_type", ["text/plain", "application/json; charset=latin-1", "application/jsonx", "json"]
)
def test_other_media_types_are_415(
    lake: tuple[TestClient, LocalObjectStore], media_type: str
) -> None:
    client, store = lake
    response = client.post(
        "/v1/events/usage",
        content=json.dumps(make_event("usage")).encode(),
        headers={**INGEST_HEADERS, "Content-Type": media_type},
    )
    assert response.status_code == 415
    assert list(store.list("events/")) == []


def test_accepted_values_are_stored_normalized(lake: tuple[TestClient, LocalObjectStore]) -> None:
    client, store = lake
    event_id = str(uuid.uuid4())
    event = make_event(
        "operational_cost",
        event_id=event_id.upper(),
        event_time="2026-11-25t10:15:00.5z",
        vendor="  Cloud Co  ",
        incurred_date=" 2026-11-24 ",
    )
    raw = json.dumps(event).replace('"amount": -12.5', '"amount": "-1.25E+1"').encode()
    response = client.post("/v1/events/operational_cost", content=raw, headers=JSON)
    assert response.status_code == 202, response.text
    line = store.get(response.json()["object_key"]).decode().strip()
    stored = json.loads(line, parse_float=Decimal)
    assert stored["event_id"] == event_id
    assert stored["event_time"] == "2026-11-25T10:15:00.500000+00:00"
    assert stored["vendor"] == "Cloud Co"
    assert stored["incurred_date"] == "2026-11-24"
    assert '"amount":-12.5' in line and stored["amount"] == Decimal("-12.5")


def test_no_junk_gets_a_5xx(lake: tuple[TestClient, LocalObjectStore]) -> None:
    """Odd headers and paths around the ingest route: 4xx, never 5xx."""
    client, store = lake
    event = json.dumps(make_event("usage")).encode()
    cases = [
        client.post("/v1/events/usage", content=event, headers={**JSON, "Content-Length": "-1"}),
        client.post("/v1/events/" + "x" * 5000, content=event, headers=JSON),
        client.post(
            "/v1/events/usage", content=event, headers={**JSON, "Idempotency-Key": "é".encode()}
        ),
        client.post(
            "/v1/events/usage",
            content=event,
            headers={"X-API-Key": "\u00ff".encode("latin-1") * 40},
        ),
        client.request("BREW", "/v1/events/usage", content=event, headers=JSON),
        client.put("/v1/events/usage", content=event, headers=JSON),
        client.get("/v1/events/usage", headers=JSON),
    ]
    for response in cases:
        assert 400 <= response.status_code < 500, (response.status_code, response.text[:200])
    assert list(store.list("events/")) == []
