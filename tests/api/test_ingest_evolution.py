"""Schema evolution through the API: a field is accepted once the contract declares it.

Undeclared fields are refused (strict contract); declaring an optional field in the contract
(as tests/integration/test_schema_evolution.py does for Silver) is the evolution path.
"""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from pydantic import TypeAdapter

from bronze import validation
from bronze.contracts import Code, PaymentEvent
from bronze.objectstore import LocalObjectStore
from tests.api.conftest import INGEST_HEADERS, make_event


class PaymentEventV2(PaymentEvent):
    """Payment contract with a new optional field."""

    discount_code: Code | None = None


def test_a_new_field_is_refused_until_the_contract_declares_it(
    client: TestClient, store: LocalObjectStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    with_code = make_event("payment", discount_code="SPRING24")
    refused = client.post("/v1/events/payment", json=with_code, headers=INGEST_HEADERS)
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["errors"][0]["type"] == "extra_forbidden"

    monkeypatch.setitem(validation.BATCH_ADAPTERS, "payment", TypeAdapter(list[PaymentEventV2]))
    batch = {"events": [with_code, make_event("payment", payment_id="pay-2")]}
    accepted = client.post("/v1/events/payment", json=batch, headers=INGEST_HEADERS)

    assert accepted.status_code == 202
    lines = store.get(accepted.json()["object_key"]).decode().splitlines()
    stored = [json.loads(line) for line in lines]
    assert stored[0]["discount_code"] == "SPRING24"
    assert "discount_code" not in stored[1]  # optional and not sent: not invented
