"""Property-based fuzzing of the ingest API from its own OpenAPI document: never a 5xx."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.generation import GenerationMode

from api.app import create_admin_app, create_app
from bronze.objectstore import LocalObjectStore
from conf.settings import Settings

pytestmark = pytest.mark.badinput

INGEST_KEY = "fuzz-ingest-key-0123456789abcdef0123"
# ingestion plus the probes that do not need Trino (the metrics routes read through Trino)
INGEST_PATHS = r"^/(v1/events/|healthz$|readyz$)"


LANDING = Path(tempfile.mkdtemp(prefix="finlake-fuzz-"))
APP_SETTINGS = Settings(
    lake_root=str(LANDING / "lake"),
    api_keys={INGEST_KEY: ["ingest"], "fuzz-read-key-0123456789abcdef012345": ["read"]},
    max_events_per_request=20,
    max_body_bytes=64_000,
)
APP = create_app(APP_SETTINGS, LocalObjectStore(APP_SETTINGS.landing))
# The document is served by the admin app only; the requests go to the public app.
schema = schemathesis.openapi.from_asgi("/openapi.json", create_admin_app(APP))
schema.app = APP
schema = schema.include(path_regex=INGEST_PATHS)
schema.config.generation.update(
    modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE], max_examples=50
)


@pytest.fixture(scope="module", autouse=True)
def _remove_landing() -> Iterator[None]:
    yield
    shutil.rmtree(LANDING, ignore_errors=True)


@schema.parametrize()
@settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_ingest_api_never_answers_5xx(case: Any) -> None:
    """Valid and invalid generated requests (with and without a key) never get a 5xx."""
    response = case.call(headers={"X-API-Key": INGEST_KEY})
    assert response.status_code < 500, (response.status_code, response.text[:500])
    anonymous = case.call()
    assert anonymous.status_code < 500, (anonymous.status_code, anonymous.text[:500])
