"""API keys: kept only as SHA-256 digests (secrets), long enough, known scopes, no placeholder."""

from __future__ import annotations

import hashlib
import json

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from api.app import create_app
from bronze.objectstore import LocalObjectStore
from conf.settings import (
    MIN_API_KEY_LENGTH,
    PLACEHOLDER_API_KEY,
    Settings,
)
from tests.api.conftest import make_event

KEY = "k3y-for-the-digest-tests-0123456789abcdef"


@pytest.fixture(autouse=True)
def _no_keys_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings merge dict-valued inputs with FINLAKE_API_KEYS (set for the whole test run)."""
    monkeypatch.delenv("FINLAKE_API_KEYS", raising=False)


def test_settings_keep_only_masked_digests(tmp_path: object) -> None:
    settings = Settings(api_keys={KEY: ["ingest"]})
    (entry,) = settings.api_keys
    assert entry.digest.get_secret_value() == hashlib.sha256(KEY.encode()).hexdigest()
    assert entry.scopes == frozenset({"ingest"})
    for text in (repr(settings), str(settings), json.dumps(settings.model_dump(mode="json"))):
        assert KEY not in text and KEY[-8:] not in text
        assert entry.digest.get_secret_value() not in text


def test_keys_come_from_the_environment_as_json(monkeypatch: pytest.MonkeyPatch) -> None:
    digest = hashlib.sha256(b"x" * 40).hexdigest()
    monkeypatch.setenv(
        "FINLAKE_API_KEYS", json.dumps({KEY: ["read"], f"sha256:{digest}": ["ingest"]})
    )
    settings = Settings()
    assert {k.digest.get_secret_value(): k.scopes for k in settings.api_keys} == {
        hashlib.sha256(KEY.encode()).hexdigest(): frozenset({"read"}),
        digest: frozenset({"ingest"}),
    }


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        ({"s3cret-but-short": ["ingest"]}, f"shorter than {MIN_API_KEY_LENGTH}"),
        ({" " + KEY: ["ingest"]}, "whitespace"),
        ({KEY: ["admin"]}, "unknown scopes ['admin']"),
        ({KEY: []}, "non-empty list of scopes"),
        ({KEY: "ingest"}, "non-empty list of scopes"),
        ({"sha256:abc": ["read"]}, "64 hex"),
        (
            {KEY: ["read"], f"sha256:{hashlib.sha256(KEY.encode()).hexdigest()}": ["ingest"]},
            "same key",
        ),
    ],
)
def test_bad_keys_are_refused_without_echoing_them(keys: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError) as refused:
        Settings(env="test", api_keys=keys)
    text = str(refused.value)
    assert message in text
    for key in keys:
        assert key.strip() not in text and key.strip()[-6:] not in text


def test_the_placeholder_key_only_works_in_the_local_profile() -> None:
    assert Settings(env="local").has_placeholder_key
    for profile in ("test", "prod"):
        with pytest.raises(ValidationError, match="placeholder"):
            Settings(
                env=profile,
                lake_root="s3a://bucket/lake",
                api_keys={PLACEHOLDER_API_KEY: ["ingest"]},
            )
    assert not Settings(env="local", api_keys={KEY: ["read"]}).has_placeholder_key


def test_a_digest_entry_authenticates_the_key_it_hashes(tmp_path: object) -> None:
    digest = hashlib.sha256(KEY.encode()).hexdigest()
    settings = Settings(lake_root=str(tmp_path), api_keys={f"sha256:{digest}": ["ingest"]})
    with TestClient(create_app(settings, LocalObjectStore(settings.landing))) as client:
        ok = client.post("/v1/events/usage", json=make_event("usage"), headers={"X-API-Key": KEY})
        wrong = client.post(
            "/v1/events/usage", json=make_event("usage"), headers={"X-API-Key": digest}
        )
    assert ok.status_code == 202
    assert wrong.status_code == 401  # the digest itself is not a key


def test_prod_reaches_a_remote_trino_only_over_tls_with_a_password() -> None:
    common = {"env": "prod", "lake_root": "s3a://b/lake", "api_keys": {KEY: ["read"]}}
    with pytest.raises(ValidationError, match="https with a password"):
        Settings(**common, trino_host="trino.internal")
    with pytest.raises(ValidationError, match="needs FINLAKE_TRINO_SCHEME=https"):
        Settings(**common, trino_host="trino.internal", trino_password="pw")
    ok = Settings(**common, trino_host="trino.internal", trino_scheme="https", trino_password="pw")
    assert ok.trino_password is not None and "pw" not in repr(ok)
    assert Settings(**common).trino_scheme == "http"  # loopback Trino may stay open
