"""The metrics API describes itself: response models, one error model, enums, formulas."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_admin_app, create_app
from api.routes.metrics import churn_total
from conf.settings import Settings

METRICS_PATHS = (
    "/v1/metrics/dimensions",
    "/v1/metrics/mrr",
    "/v1/metrics/mrr/movements",
    "/v1/metrics/churn",
    "/v1/metrics/revenue",
    "/v1/metrics/forecast",
)


@pytest.fixture(scope="module")
def spec(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    lake = tmp_path_factory.mktemp("openapi-lake")
    public = create_app(Settings(lake_root=str(lake)))
    with TestClient(create_admin_app(public)) as client:  # the spec is on the admin listener
        body: dict[str, Any] = client.get("/openapi.json").json()
    return body


def _schema(spec: dict[str, Any], ref: str) -> dict[str, Any]:
    schema: dict[str, Any] = spec["components"]["schemas"][ref.rsplit("/", 1)[-1]]
    return schema


def test_every_metrics_route_declares_its_model_and_the_error_model(spec: dict[str, Any]) -> None:
    for path in METRICS_PATHS:
        responses = spec["paths"][path]["get"]["responses"]
        ok = responses["200"]["content"]["application/json"]["schema"]["$ref"]
        assert ok.endswith("Response"), path
        for code in ("401", "403", "422", "503"):
            ref = responses[code]["content"]["application/json"]["schema"]["$ref"]
            assert ref == "#/components/schemas/MetricsError", (path, code)


def test_money_is_a_string_and_filters_are_enums(spec: dict[str, Any]) -> None:
    movement = _schema(spec, "MovementMonth")["properties"]
    assert movement["transfer_mrr_usd"]["type"] == "string"
    assert movement["transfer_mrr_usd"]["examples"]
    params = {p["name"]: p for p in spec["paths"]["/v1/metrics/mrr"]["get"]["parameters"]}
    region = params["region"]["schema"]["anyOf"][0]["$ref"]
    assert _schema(spec, region)["enum"] == ["NA", "EMEA", "APAC", "LATAM"]
    segment = params["segment"]["schema"]["anyOf"][0]["$ref"]
    assert _schema(spec, segment)["enum"] == ["smb", "mid_market", "enterprise"]
    error = _schema(spec, "MetricsError")["properties"]["error"]["$ref"]
    assert "metrics_store_unavailable" in _schema(spec, error)["enum"]


def test_churn_formulas_are_documented(spec: dict[str, Any]) -> None:
    text = spec["paths"]["/v1/metrics/churn"]["get"]["description"]
    for formula in (
        "logo_churn_rate = churned_customers / opening_customers",
        "grr = retained_mrr_usd / opening_mrr_usd",
        "nrr = cohort_closing_mrr_usd / opening_mrr_usd",
        "gross_revenue_churn_rate = 1 - grr",
        "net_revenue_churn_rate = 1 - nrr",
    ):
        assert formula in text
    assert "total" in text and "recompute" in text


def test_api_title_covers_metrics(spec: dict[str, Any]) -> None:
    info = spec["info"]
    assert "metrics" in info["summary"].lower() and "ingestion" in info["summary"].lower()


def test_churn_totals_recompute_rates_from_summed_components() -> None:
    march = dt.date(2026, 3, 1)
    rows = [
        # NA: two opening customers (200 + 100); the second expanded to 150, none churned.
        {"month_start_date": march, "region": "NA", "opening_customers": 2,
         "churned_customers": 0, "voluntary_churned_customers": 0,
         "involuntary_churned_customers": 0, "opening_mrr_usd": Decimal("300.0000"),
         "retained_mrr_usd": Decimal("300.0000"), "cohort_closing_mrr_usd": Decimal("350.0000")},
        # EMEA: one opening customer (100) who churned.
        {"month_start_date": march, "region": "EMEA", "opening_customers": 1,
         "churned_customers": 1, "voluntary_churned_customers": 1,
         "involuntary_churned_customers": 0, "opening_mrr_usd": Decimal("100.0000"),
         "retained_mrr_usd": Decimal("0.0000"), "cohort_closing_mrr_usd": Decimal("0.0000")},
    ]  # fmt: skip
    (total,) = churn_total(rows)
    assert total["opening_customers"] == 3 and total["churned_customers"] == 1
    assert total["opening_mrr_usd"] == Decimal("400.0000")
    assert total["logo_churn_rate"] == 1 / 3
    assert total["grr"] == 0.75  # 300 / 400
    assert total["nrr"] == 0.875  # 350 / 400
    assert total["gross_revenue_churn_rate"] == 0.25
    assert total["net_revenue_churn_rate"] == 0.125


def test_churn_totals_of_an_empty_month_have_null_rates() -> None:
    row = {
        "month_start_date": dt.date(2026, 3, 1),
        "opening_customers": 0,
        "churned_customers": 0,
        "voluntary_churned_customers": 0,
        "involuntary_churned_customers": 0,
        "opening_mrr_usd": Decimal(0),
        "retained_mrr_usd": Decimal(0),
        "cohort_closing_mrr_usd": Decimal(0),
    }
    (total,) = churn_total([row])
    assert total["logo_churn_rate"] is None and total["grr"] is None and total["nrr"] is None
