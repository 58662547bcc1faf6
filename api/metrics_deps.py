"""Dependencies of the metrics routes: the metrics service (store + provenance + cache) and auth.

Every metrics response is `{"data": ..., "query": ..., "provenance": ...}`; provenance says the
Delta versions of the tables read, the data freshness (max business date, last successful
`ops.pipeline_runs` finish) and the latest data-quality status from `ops.dq_results`. Responses
are cached per (endpoint, parameters, table versions): a new Delta commit on any table read
changes the key, so stale entries are never served.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any

from fastapi import Depends, Request

from api.deps import Principal, require_scope
from api.trino_client import (
    MetricsStore,
    Row,
    TableUnavailableError,
    TrinoMetricsStore,
    table_ref,
)

PIPELINE_RUNS = "ops.pipeline_runs"
DQ_RESULTS = "ops.dq_results"
PROVENANCE_TABLES: tuple[str, ...] = (PIPELINE_RUNS, DQ_RESULTS)
SUCCEEDED = "succeeded"
_PASSED = frozenset({"pass", "passed", "success", "succeeded", "ok"})
_BLOCKING = frozenset({"error", "critical", "fatal", "blocker"})
_COLUMN = re.compile(r"^[a-z_][a-z0-9_]*$")

ReadPrincipal = Annotated[Principal, Depends(require_scope("read"))]


def to_json_value(value: Any) -> Any:
    """JSON-safe value: decimals as strings (money is never a float), dates as ISO text."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: to_json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_json_value(v) for v in value]
    return value


@dataclass(frozen=True)
class Freshness:
    """Which business-date column says how fresh a table is."""

    table: str
    date_column: str


class MetricsService:
    """Runs metric queries through a `MetricsStore`, adds provenance and caches by version."""

    def __init__(self, store: MetricsStore, catalog: str, cache_size: int = 512) -> None:
        """Wrap `store`; keep at most `cache_size` responses."""
        self.store = store
        self.catalog = catalog
        self.cache_size = cache_size
        self._cache: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=3, thread_name_prefix="metrics")
        self.hits = 0
        self.misses = 0

    def _cache_get(self, key: str) -> dict[str, Any] | None:
        with self._lock:
            entry = self._cache.get(key)
            if entry is not None:
                self._cache.move_to_end(key)
                self.hits += 1
            return entry

    def _cache_put(self, key: str, value: dict[str, Any]) -> None:
        with self._lock:
            self.misses += 1
            self._cache[key] = value
            self._cache.move_to_end(key)
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)

    def clear_cache(self) -> None:
        """Forget every cached response."""
        with self._lock:
            self._cache.clear()

    def respond(
        self,
        endpoint: str,
        query: dict[str, Any],
        tables: Sequence[str],
        freshness: Freshness,
        compute: Callable[[MetricsStore], Any],
    ) -> dict[str, Any]:
        """The response body of one metrics query (cached per table versions)."""
        versions = self.store.table_versions([*tables, *PROVENANCE_TABLES])
        missing = [t for t in tables if versions.get(t) is None]
        if missing:
            raise TableUnavailableError(f"table(s) not published yet: {', '.join(missing)}")
        key = json.dumps(
            [endpoint, to_json_value(query), sorted(versions.items(), key=lambda kv: kv[0])],
            sort_keys=True,
            default=str,
        )
        cached = self._cache_get(key)
        if cached is not None:
            return {**cached, "provenance": {**cached["provenance"], "cached": True}}
        data_future = self._pool.submit(compute, self.store)
        fresh_future = self._pool.submit(self._freshness, freshness, versions)
        dq = self._dq_status(versions)
        body = {
            "data": to_json_value(data_future.result()),
            "query": to_json_value(query),
            "provenance": {
                "tables": {t: versions[t] for t in (*tables, *PROVENANCE_TABLES)},
                "freshness": fresh_future.result(),
                "dq": dq,
                "cached": False,
            },
        }
        self._cache_put(key, body)
        return body

    def _freshness(self, freshness: Freshness, versions: dict[str, int | None]) -> dict[str, Any]:
        if not _COLUMN.match(freshness.date_column):
            raise ValueError(f"bad column {freshness.date_column!r}")
        parts = [
            f"(SELECT max({freshness.date_column}) FROM "
            f"{table_ref(self.catalog, freshness.table)}) AS max_date"
        ]
        params: list[object] = []
        if versions.get(PIPELINE_RUNS) is not None:
            parts.append(
                f"(SELECT max(finished_at) FROM {table_ref(self.catalog, PIPELINE_RUNS)} "
                "WHERE status = ?) AS last_run_finished_at"
            )
            params.append(SUCCEEDED)
        row = self.store.fetch(f"SELECT {', '.join(parts)}", params)[0]
        result: dict[str, Any] = to_json_value(
            {
                "table": freshness.table,
                "max_date": row.get("max_date"),
                "last_pipeline_run_finished_at": row.get("last_run_finished_at"),
            }
        )
        return result

    def _dq_status(self, versions: dict[str, int | None]) -> dict[str, Any]:
        if versions.get(DQ_RESULTS) is None:
            return {"status": "unknown", "detail": "ops.dq_results not published"}
        ref = table_ref(self.catalog, DQ_RESULTS)
        rows: list[Row] = self.store.fetch(
            "SELECT run_id, table_name, rule_name, severity, failed_rows, status, checked_at "
            f"FROM {ref} WHERE run_id = (SELECT max_by(run_id, checked_at) FROM {ref})"
        )
        return summarise_dq(rows)


def _rule_key(row: Row) -> tuple[str, str]:
    return str(row.get("table_name")), str(row.get("rule_name"))


def summarise_dq(rows: Sequence[Row]) -> dict[str, Any]:
    """Overall status of one DQ run: failed (blocking rule failed), warning, passed or unknown."""
    if not rows:
        return {"status": "unknown", "detail": "no data-quality results yet"}
    failed = [r for r in rows if str(r.get("status", "")).lower() not in _PASSED]
    blocking = [r for r in failed if str(r.get("severity", "")).lower() in _BLOCKING]
    status = "failed" if blocking else "warning" if failed else "passed"
    summary: dict[str, Any] = to_json_value(
        {
            "status": status,
            "run_id": rows[0].get("run_id"),
            "checked_at": max(r["checked_at"] for r in rows if r.get("checked_at") is not None)
            if any(r.get("checked_at") is not None for r in rows)
            else None,
            "rules_checked": len(rows),
            "rules_failed": len(failed),
            "failed_rules": [
                {
                    "table_name": r.get("table_name"),
                    "rule_name": r.get("rule_name"),
                    "severity": r.get("severity"),
                    "failed_rows": r.get("failed_rows"),
                }
                for r in sorted(failed, key=_rule_key)
            ],
        }
    )
    return summary


_service_lock = threading.Lock()


def get_metrics_service(request: Request) -> MetricsService:
    """The app's metrics service (created on first use; tests may preset `metrics_store`)."""
    service: MetricsService | None = getattr(request.app.state, "metrics_service", None)
    if service is not None:
        return service
    with _service_lock:
        service = getattr(request.app.state, "metrics_service", None)
        if service is None:
            settings = request.app.state.settings
            store: MetricsStore | None = getattr(request.app.state, "metrics_store", None)
            if store is None:
                store = TrinoMetricsStore(settings)
            service = MetricsService(store, settings.trino_catalog)
            request.app.state.metrics_service = service
    return service


MetricsServiceDep = Annotated[MetricsService, Depends(get_metrics_service)]
