"""Dependencies of the metrics routes: the metrics service (store + provenance + cache) and auth.

Every metrics response is `{"data": ..., "query": ..., "provenance": ...}`; provenance says the
Delta versions of the tables read, the data freshness (max business date, last successful
`ops.pipeline_runs` finish) and the latest data-quality status from `ops.dq_results`. Responses
are cached per (endpoint, parameters, table versions): a new Delta commit on any table read
changes the key. Versions are re-read at most every `FINLAKE_METRICS_VERSION_TTL_S` seconds
(default 2; 0 checks on every request); once expired they are refreshed in the background
while requests keep using the last read (stale-while-revalidate), so no request waits for the
check after the first one and a new commit is seen about one TTL plus one check after it lands.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request

from api.deps import Principal, require_scope
from api.trino_client import (
    API_TABLES,
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
log = logging.getLogger("finlake.api.metrics")
DEFAULT_VERSION_TTL_S = float(os.environ.get("FINLAKE_METRICS_VERSION_TTL_S", "2.0"))

ReadPrincipal = Annotated[Principal, Depends(require_scope("read"))]
T = TypeVar("T")


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


class _Lru:
    """A small thread-safe LRU map."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[str, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> Any:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: str, value: Any) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


def _key(*parts: Any) -> str:
    return json.dumps(to_json_value(list(parts)), sort_keys=True, default=str)


class MetricsService:
    """Runs metric queries through a `MetricsStore`, adds provenance and caches by version.

    Table versions are read for every served table in one `$history` query and reused for
    `version_ttl_s` seconds (0 = check on every request), so a new Delta commit is seen at
    most that long after it lands; responses and provenance are cached by those versions.
    """

    def __init__(
        self,
        store: MetricsStore,
        catalog: str,
        cache_size: int = 512,
        version_ttl_s: float = DEFAULT_VERSION_TTL_S,
    ) -> None:
        """Wrap `store`; keep at most `cache_size` responses."""
        self.store = store
        self.catalog = catalog
        self.version_ttl_s = version_ttl_s
        self._responses = _Lru(cache_size)
        self._provenance = _Lru(cache_size)
        self._memo = _Lru(cache_size)
        self._versions: tuple[float, dict[str, int | None]] | None = None
        self._versions_lock = threading.Lock()
        self._refreshing = False
        self._pool = ThreadPoolExecutor(max_workers=3, thread_name_prefix="metrics")
        self._refresher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="versions")

    def clear_cache(self) -> None:
        """Forget cached responses, provenance, lookups and versions."""
        self._responses.clear()
        self._provenance.clear()
        self._memo.clear()
        self._versions = None

    def versions(self) -> dict[str, int | None]:
        """Delta version of every served table (None: not registered), TTL-cached.

        An expired read is returned while one background refresh runs (TTL 0: read now).
        """
        cached = self._versions
        if cached is not None and time.monotonic() - cached[0] < self.version_ttl_s:
            return cached[1]
        if cached is not None and self.version_ttl_s > 0:
            with self._versions_lock:
                start_refresh = not self._refreshing
                self._refreshing = True
            if start_refresh:
                self._refresher.submit(self._refresh_versions)
            return cached[1]
        with self._versions_lock:
            cached = self._versions
            if cached is not None and time.monotonic() - cached[0] < self.version_ttl_s:
                return cached[1]
            versions = self.store.table_versions(sorted(API_TABLES))
            self._versions = (time.monotonic(), versions)
        return versions

    def _refresh_versions(self) -> None:
        try:
            versions = self.store.table_versions(sorted(API_TABLES))
            self._versions = (time.monotonic(), versions)
        except Exception:  # the next request retries; errors surface on synchronous reads
            log.warning("background table-version refresh failed", exc_info=True)
        finally:
            self._refreshing = False

    def memo(
        self,
        key: Sequence[Any],
        tables: Sequence[str],
        versions: Mapping[str, int | None],
        compute: Callable[[MetricsStore], T],
    ) -> T:
        """`compute(store)` cached under `key` and the `versions` of `tables` it reads.

        For helper lookups shared by many responses (e.g. the forecast runs of a series):
        pass the same `versions` snapshot the response is cached under, so a lookup from an
        older table version is never served under a newer one.
        """
        memo_key = _key("memo", list(key), sorted((t, versions.get(t)) for t in tables))
        hit: tuple[T] | None = self._memo.get(memo_key)
        if hit is not None:
            return hit[0]
        value = compute(self.store)
        self._memo.put(memo_key, (value,))
        return value

    def respond(
        self,
        endpoint: str,
        query: dict[str, Any],
        tables: Sequence[str],
        freshness: Freshness,
        compute: Callable[[MetricsStore], Any],
        versions: Mapping[str, int | None] | None = None,
    ) -> dict[str, Any]:
        """The response body of one metrics query (cached per table versions).

        `versions` is a snapshot from `versions()` when the caller already read one (so the
        response and any `memo` lookups it used share it); by default it is read here.
        """
        all_versions = self.versions() if versions is None else versions
        missing = [t for t in tables if all_versions.get(t) is None]
        if missing:
            self._versions = None  # re-check soon: the table may just have been registered
            raise TableUnavailableError(f"table(s) not published yet: {', '.join(missing)}")
        read = {t: all_versions.get(t) for t in (*tables, *PROVENANCE_TABLES)}
        key = _key(endpoint, query, sorted(read.items()))
        cached = self._responses.get(key)
        if cached is not None:
            return {**cached, "provenance": {**cached["provenance"], "cached": True}}
        data_future = self._pool.submit(compute, self.store)
        provenance = self._cached_provenance(freshness, read)
        body = {
            "data": to_json_value(data_future.result()),
            "query": to_json_value(query),
            "provenance": {"tables": read, **provenance, "cached": False},
        }
        self._responses.put(key, body)
        return body

    def _cached_provenance(
        self, freshness: Freshness, versions: dict[str, int | None]
    ) -> dict[str, Any]:
        key = _key(
            freshness.table,
            freshness.date_column,
            versions.get(freshness.table),
            versions.get(PIPELINE_RUNS),
            versions.get(DQ_RESULTS),
        )
        provenance: dict[str, Any] | None = self._provenance.get(key)
        if provenance is None:
            fresh_future = self._pool.submit(self._freshness, freshness, versions)
            dq = self._dq_status(versions)
            provenance = {"freshness": fresh_future.result(), "dq": dq}
            self._provenance.put(key, provenance)
        return provenance

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
