"""The S3 object store, the ingest API and `finlake ingest` against a real moto S3 server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client import generate_latest

from api.app import create_app
from bronze.landing import parse_event_key
from bronze.objectstore import (
    LocalObjectStore,
    ObjectStoreUnavailable,
    S3ObjectStore,
    make_object_store,
)
from conf.settings import Settings
from jobs.ingest import ingest_file, marker_key
from tests.api.conftest import INGEST_HEADERS, make_event
from tests.integration.conftest import MotoServer, S3Server

pytestmark = pytest.mark.integration


def s3_store(server: S3Server, prefix: str, **kwargs: object) -> S3ObjectStore:
    """An S3ObjectStore on `server` built by the finlake factory."""
    store = make_object_store(server.settings(prefix), **kwargs)  # type: ignore[arg-type]
    assert isinstance(store, S3ObjectStore)
    return store


def raw_keys(server: S3Server, prefix: str) -> list[str]:
    """Keys under a prefix, read with a plain boto3 client (not through finlake)."""
    response = server.client().list_objects_v2(Bucket=server.bucket, Prefix=prefix)
    return sorted(obj["Key"] for obj in response.get("Contents", []))


def test_store_is_write_once_and_lists_relative_keys(s3_server: S3Server) -> None:
    store = s3_store(s3_server, "t-write-once")

    assert store.put_if_absent("events/a/1.jsonl", b"first\n") is True
    assert store.put_if_absent("events/a/1.jsonl", b"second\n") is False
    assert store.put_if_absent("events/b/2.jsonl", b"x\n") is True

    assert store.get("events/a/1.jsonl") == b"first\n"
    assert store.exists("events/a/1.jsonl")
    assert not store.exists("events/a/missing.jsonl")
    assert list(store.list("events/")) == ["events/a/1.jsonl", "events/b/2.jsonl"]
    assert raw_keys(s3_server, "t-write-once/landing/") == [
        "t-write-once/landing/events/a/1.jsonl",
        "t-write-once/landing/events/b/2.jsonl",
    ]
    with pytest.raises(FileNotFoundError):
        store.get("events/a/missing.jsonl")
    with pytest.raises(ValueError):
        store.put_if_absent("../escape", b"")


def test_uri_is_s3a_for_spark(s3_server: S3Server) -> None:
    store = s3_store(s3_server, "t-uri")
    assert store.uri("events/x.jsonl") == f"s3a://{s3_server.bucket}/t-uri/landing/events/x.jsonl"
    assert store.uri() == f"s3a://{s3_server.bucket}/t-uri/landing"


def test_factory_picks_store_by_landing_root(tmp_path: Path) -> None:
    local = make_object_store(Settings(lake_root=str(tmp_path)))
    assert isinstance(local, LocalObjectStore)
    assert local.uri() == str(tmp_path / "landing")
    s3 = make_object_store(Settings(lake_root="s3://bucket/some/prefix"))
    assert isinstance(s3, S3ObjectStore)
    assert (s3.bucket, s3.prefix) == ("bucket", "some/prefix/landing/")


def test_ping_reports_missing_bucket(s3_server: S3Server) -> None:
    s3_store(s3_server, "t-ping").ping()
    missing = S3ObjectStore(
        "no-such-bucket",
        endpoint_url=s3_server.endpoint,
        access_key=s3_server.access_key,
        secret_key=s3_server.secret_key,
    )
    with pytest.raises(ObjectStoreUnavailable):
        missing.ping()


@pytest.fixture
def s3_client_app(s3_settings: Settings) -> Iterator[TestClient]:
    """The ingest API with its landing zone on the shared S3 server."""
    with TestClient(create_app(s3_settings)) as client:
        yield client


def test_api_lands_batches_on_s3(
    s3_client_app: TestClient, s3_server: S3Server, s3_settings: Settings
) -> None:
    events = [make_event("subscription"), make_event("subscription")]
    headers = {**INGEST_HEADERS, "Idempotency-Key": "s3-batch-1"}

    first = s3_client_app.post("/v1/events/subscription", json={"events": events}, headers=headers)
    retry = s3_client_app.post("/v1/events/subscription", json={"events": events}, headers=headers)

    assert first.status_code == retry.status_code == 202
    assert retry.json() == first.json()
    key = first.json()["object_key"]
    assert parse_event_key(key).source == "api"
    landing_prefix = s3_settings.landing.split("/", 3)[3] + "/"
    assert raw_keys(s3_server, landing_prefix + "events/") == [landing_prefix + key]
    body = s3_server.client().get_object(Bucket=s3_server.bucket, Key=landing_prefix + key)
    lines = body["Body"].read().decode().splitlines()
    assert [json.loads(line) for line in lines] == events
    assert s3_client_app.get("/readyz").json()["status"] == "ready"


def test_store_down_is_503_and_retry_lands_exactly_once(
    disposable_s3_server: tuple[MotoServer, S3Server],
) -> None:
    moto, server = disposable_s3_server
    settings = server.settings("reliability")
    store = make_object_store(settings)
    assert isinstance(store, S3ObjectStore)
    fast_store = S3ObjectStore(
        server.bucket,
        store.prefix,
        endpoint_url=server.endpoint,
        access_key=server.access_key,
        secret_key=server.secret_key,
        connect_timeout=1,
        read_timeout=2,
        max_attempts=1,
    )
    event = make_event("payment")
    headers = {**INGEST_HEADERS, "Idempotency-Key": "pay-run-7"}

    with TestClient(create_app(settings, fast_store)) as client:
        moto.stop()
        down = client.post("/v1/events/payment", json=event, headers=headers)
        not_ready = client.get("/readyz")
        moto.start()  # same port, same (in-memory) bucket: the store recovered
        assert raw_keys(server, "reliability/") == []  # nothing was stored or acknowledged
        recovered = client.post("/v1/events/payment", json=event, headers=headers)
        replay = client.post("/v1/events/payment", json=event, headers=headers)
        # /metrics is on the admin listener only (create_admin_app)
        metrics = generate_latest(client.app.state.metrics.registry).decode()

    assert down.status_code == 503
    assert down.json()["error"] == "store_unavailable"
    assert "Retry-After" in down.headers
    assert not_ready.status_code == 503
    assert recovered.status_code == replay.status_code == 202
    assert replay.json() == recovered.json()
    assert raw_keys(server, "reliability/landing/events/") == [
        "reliability/landing/" + recovered.json()["object_key"]
    ]
    assert "finlake_objectstore_unavailable_total 1.0" in metrics
    assert 'finlake_ingest_events_accepted_total{event_type="payment"} 1.0' in metrics


def test_ingest_file_to_s3_is_content_addressed_and_once(
    s3_server: S3Server, tmp_path: Path
) -> None:
    store = s3_store(s3_server, "t-ingest")
    source = tmp_path / "payments.csv"
    source.write_text("payment_id,amount\np-1,10.0000\n")

    first = ingest_file(store, source, "payment")
    second = ingest_file(store, source, "payment")

    assert first.outcome == "landed"
    assert second.outcome == "already_ingested"
    assert second.object_key == first.object_key
    lineage = parse_event_key(first.object_key)
    assert (lineage.object_id, lineage.source, lineage.ext) == (first.sha256, "batch", "csv")
    assert store.get(first.object_key) == source.read_bytes()
    assert list(store.list("events/")) == [first.object_key]
    assert store.exists(marker_key(first.sha256))
