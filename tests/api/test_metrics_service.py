"""The metrics service without a server: version-keyed cache, version TTL, DQ summary, 503s."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.metrics_deps import Freshness, MetricsService, summarise_dq, to_json_value
from api.routes.metrics import pick_run
from api.trino_client import API_TABLES, StoreUnavailableError, table_ref
from conf.settings import Settings

READ = {"X-API-Key": "test-read-key-7f3a9c2e5b8d4f01aa"}


class FakeStore:
    """A `MetricsStore` with settable versions that counts its queries."""

    def __init__(self) -> None:
        self.versions = dict.fromkeys(sorted(API_TABLES), 1)
        self.fetches: list[str] = []
        self.version_reads = 0
        self.is_down = False

    def fetch(self, sql: str, params: Sequence[object] = ()) -> list[dict[str, Any]]:
        if self.is_down:
            raise StoreUnavailableError("Trino at 127.0.0.1:1 is not reachable")
        self.fetches.append(sql)
        if "dq_results" in sql:
            return []
        if "max_date" in sql:
            return [{"max_date": dt.date(2026, 3, 31), "last_run_finished_at": None}]
        return [{"value": Decimal("1.5000"), "n": len(self.fetches)}]

    def table_versions(self, tables: Sequence[str]) -> dict[str, int | None]:
        if self.is_down:
            raise StoreUnavailableError("Trino at 127.0.0.1:1 is not reachable")
        self.version_reads += 1
        return {t: self.versions.get(t) for t in tables}

    def available_tables(self) -> frozenset[str]:
        return frozenset(t for t, v in self.versions.items() if v is not None)


def _respond(service: MetricsService, query: dict[str, Any]) -> dict[str, Any]:
    return service.respond(
        "test",
        query,
        ["gold.mrr_daily"],
        Freshness("gold.mrr_daily", "metric_date"),
        lambda store: store.fetch("SELECT 1 AS value"),
    )


def test_cache_is_keyed_on_table_versions() -> None:
    store = FakeStore()
    service = MetricsService(store, "delta", version_ttl_s=0)
    first = _respond(service, {"a": 1})
    second = _respond(service, {"a": 1})
    assert first["provenance"]["cached"] is False and second["provenance"]["cached"] is True
    assert second["data"] == first["data"] == [{"value": "1.5000", "n": 1}]
    store.versions["gold.mrr_daily"] = 2
    third = _respond(service, {"a": 1})
    assert third["provenance"]["cached"] is False
    assert third["provenance"]["tables"]["gold.mrr_daily"] == 2
    store.versions["ops.dq_results"] = 7  # provenance tables take part in the key too
    assert _respond(service, {"a": 1})["provenance"]["cached"] is False


def test_versions_are_reused_within_the_ttl() -> None:
    store = FakeStore()
    service = MetricsService(store, "delta", version_ttl_s=60)
    _respond(service, {"a": 1})
    _respond(service, {"a": 2})
    assert store.version_reads == 1
    service.version_ttl_s = 0
    _respond(service, {"a": 2})
    assert store.version_reads == 2


def test_expired_versions_are_served_stale_while_one_background_refresh_runs() -> None:
    store = FakeStore()
    service = MetricsService(store, "delta", version_ttl_s=0.05)
    assert _respond(service, {"a": 1})["provenance"]["tables"]["gold.mrr_daily"] == 1
    store.versions["gold.mrr_daily"] = 2
    time.sleep(0.06)
    stale = _respond(service, {"a": 1})  # expired: answered from the last read, refresh starts
    assert stale["provenance"]["tables"]["gold.mrr_daily"] == 1
    assert stale["provenance"]["cached"] is True
    deadline = time.monotonic() + 5
    fresh = stale
    while fresh["provenance"]["tables"]["gold.mrr_daily"] == 1 and time.monotonic() < deadline:
        time.sleep(0.01)
        fresh = _respond(service, {"a": 1})
    assert fresh["provenance"]["tables"]["gold.mrr_daily"] == 2  # the refresh landed
    assert fresh["provenance"]["cached"] is False
    assert store.version_reads >= 2


def test_provenance_is_reused_across_queries_of_the_same_versions() -> None:
    store = FakeStore()
    service = MetricsService(store, "delta", version_ttl_s=0)
    _respond(service, {"a": 1})
    before = len(store.fetches)
    _respond(service, {"a": 2})  # new query: data fetched, provenance from cache
    assert len(store.fetches) == before + 1


def test_memo_is_reused_until_a_table_it_read_changes() -> None:
    store = FakeStore()
    service = MetricsService(store, "delta", version_ttl_s=0)
    tables = ["gold.forecast_variance"]

    def lookup() -> list[dict[str, Any]]:
        return service.memo(("runs", "revenue/total"), tables, service.versions(), query)

    def query(s: Any) -> list[dict[str, Any]]:
        return list(s.fetch("SELECT run_id"))

    assert lookup() == lookup()
    assert len(store.fetches) == 1
    store.versions["gold.mrr_daily"] = 5  # a table the lookup does not read
    lookup()
    assert len(store.fetches) == 1
    store.versions["gold.forecast_variance"] = 2
    lookup()
    assert len(store.fetches) == 2


def _run(run_id: str, as_of: str, first: str, last: str, n: int | None = None) -> dict[str, Any]:
    first_date, last_date = dt.date.fromisoformat(first), dt.date.fromisoformat(last)
    n_dates = (last_date - first_date).days + 1 if n is None else n
    return {
        "run_id": run_id,
        "as_of_date": dt.date.fromisoformat(as_of),
        "first_date": first_date,
        "last_date": last_date,
        "n_dates": n_dates,
    }


def test_pick_run_takes_the_latest_run_with_actuals_in_the_window() -> None:
    runs = [
        _run("run-jan", "2026-01-31", "2026-02-01", "2026-03-02"),
        _run("run-feb", "2026-02-28", "2026-03-01", "2026-03-30"),
        _run("run-feb-b", "2026-02-28", "2026-03-01", "2026-03-30"),
    ]
    day = dt.date.fromisoformat
    assert pick_run(runs, day("2026-03-01"), day("2026-04-30")) == ("run-feb-b", True)
    assert pick_run(runs, day("2026-02-01"), day("2026-02-27")) == ("run-jan", True)
    assert pick_run(runs, day("2026-03-31"), day("2026-04-30")) == (None, True)
    assert pick_run([], day("2026-03-01"), day("2026-03-02")) == (None, True)


def test_pick_run_defers_to_the_table_when_a_run_has_gaps() -> None:
    day = dt.date.fromisoformat
    gappy = [_run("run-gap", "2026-01-31", "2026-02-01", "2026-03-02", n=10)]
    assert pick_run(gappy, day("2026-02-10"), day("2026-02-12")) == (None, False)
    assert pick_run(gappy, day("2026-04-01"), day("2026-04-02")) == (None, True)  # no overlap


def test_unpublished_table_is_reported() -> None:
    store = FakeStore()
    store.versions["gold.mrr_daily"] = None
    service = MetricsService(store, "delta", version_ttl_s=0)
    with pytest.raises(LookupError, match=r"gold\.mrr_daily"):
        _respond(service, {})


def test_dq_summary_levels() -> None:
    at = dt.datetime(2026, 4, 1, tzinfo=dt.UTC)
    ok = {"run_id": "r", "table_name": "t", "rule_name": "a", "severity": "critical"}
    passed = summarise_dq([{**ok, "status": "passed", "failed_rows": 0, "checked_at": at}])
    assert passed["status"] == "passed" and passed["checked_at"] == at.isoformat()
    warn = summarise_dq(
        [{**ok, "severity": "warn", "status": "failed", "failed_rows": 3, "checked_at": at}]
    )
    assert warn["status"] == "warning" and warn["rules_failed"] == 1
    failed = summarise_dq([{**ok, "status": "failed", "failed_rows": 1, "checked_at": at}])
    assert failed["status"] == "failed"
    assert summarise_dq([])["status"] == "unknown"


def test_money_renders_as_strings() -> None:
    assert to_json_value({"x": [Decimal("10.1000"), dt.date(2026, 1, 2)]}) == {
        "x": ["10.1000", "2026-01-02"]
    }


def test_table_ref_only_takes_served_tables() -> None:
    assert table_ref("delta", "gold.mrr_daily", "$history") == '"delta"."gold"."mrr_daily$history"'
    with pytest.raises(ValueError, match="not served"):
        table_ref("delta", "gold.secret; DROP TABLE x")
    with pytest.raises(ValueError, match="suffix"):
        table_ref("delta", "gold.mrr_daily", "$files")


def test_store_down_is_503_and_validation_needs_no_store(tmp_path: Any) -> None:
    store = FakeStore()
    store.is_down = True
    app = create_app(Settings(lake_root=str(tmp_path / "lake")))
    app.state.metrics_store = store
    with TestClient(app) as client:
        params = {"start": "2026-01-01", "end": "2026-01-31"}
        down = client.get("/v1/metrics/revenue", params=params, headers=READ)
        assert down.status_code == 503
        assert down.json()["error"] == "metrics_store_unavailable"
        bad = client.get("/v1/metrics/revenue", params={**params, "region": "MOON"}, headers=READ)
        assert bad.status_code == 422
        assert bad.json()["allowed"] == ["NA", "EMEA", "APAC", "LATAM"]
