"""Prometheus labels come from closed sets: random methods and paths cannot grow /metrics."""

from __future__ import annotations

import random
import string
import uuid

from fastapi.testclient import TestClient

from api.telemetry import method_label


def _series(admin_client: TestClient) -> set[str]:
    """Sample names with their labels (no values) of the exposition."""
    text = admin_client.get("/metrics").text
    return {line.rsplit(" ", 1)[0] for line in text.splitlines() if line and line[0] != "#"}


def test_random_methods_and_paths_do_not_grow_the_exposition(
    client: TestClient, admin_client: TestClient
) -> None:
    rng = random.Random(17)

    def one_round(method: str) -> None:
        client.request(method, "/v1/events/usage")
        client.request(method, f"/{uuid.uuid4().hex}/{uuid.uuid4().hex}")
        client.get(f"/v1/events/{uuid.uuid4().hex}")

    one_round("PROPFIND")  # the first non-standard method creates the OTHER series
    baseline = _series(admin_client)
    size = len(admin_client.get("/metrics").text)

    for _ in range(300):
        one_round("".join(rng.choices(string.ascii_uppercase, k=rng.randint(3, 20))))

    assert _series(admin_client) == baseline
    text = admin_client.get("/metrics").text
    assert len(text) < size * 1.1  # only counter values changed
    assert 'method="OTHER",route="/v1/events/{event_type}"' in text
    assert 'method="OTHER",route="unmatched"' in text
    assert "PROPFIND" not in text


def test_method_labels_are_standard_or_other() -> None:
    assert method_label("GET") == "GET"
    assert method_label("get") == "OTHER"  # methods are case-sensitive tokens
    assert method_label("X" * 1000) == "OTHER"
