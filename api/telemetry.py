"""Prometheus metrics of the API: one registry per app, a pure ASGI timing middleware.

Every label value comes from a closed set, so no request can grow the exposition: methods
outside the standard HTTP methods are counted as `OTHER`, paths as their route template
(`unmatched` when no route matched).
"""

from __future__ import annotations

import time
from typing import Final

from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

HTTP_METHODS: Final = frozenset(
    {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE"}
)
UNMATCHED_ROUTE: Final = "unmatched"


def method_label(method: str) -> str:
    """The request method as a bounded label value (`OTHER` for anything non-standard)."""
    return method if method in HTTP_METHODS else "OTHER"


def route_label(scope: Scope) -> str:
    """Route template of the matched route (never the raw path)."""
    route = scope.get("route")
    template = getattr(route, "path", None)
    return template if isinstance(template, str) and template else UNMATCHED_ROUTE


class ApiMetrics:
    """Request counts and latencies, events accepted and rejected, store errors."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.requests = Counter(
            "finlake_api_requests_total",
            "HTTP requests by route template and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "finlake_api_request_duration_seconds",
            "HTTP request latency by route template",
            ["method", "route"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=self.registry,
        )
        self.events_accepted = Counter(
            "finlake_ingest_events_accepted_total",
            "Events landed in the landing zone",
            ["event_type"],
            registry=self.registry,
        )
        self.batches_rejected = Counter(
            "finlake_ingest_requests_rejected_total",
            "Ingest requests refused (nothing landed) by reason",
            ["event_type", "reason"],
            registry=self.registry,
        )
        self.idempotent_replays = Counter(
            "finlake_ingest_idempotent_replays_total",
            "Ingest requests answered from an idempotency record",
            ["event_type"],
            registry=self.registry,
        )
        self.store_errors = Counter(
            "finlake_objectstore_unavailable_total",
            "Requests that failed because the object store was unavailable",
            registry=self.registry,
        )


class MetricsMiddleware:
    """Count and time every HTTP request, labelled by route template (bounded cardinality)."""

    def __init__(self, app: ASGIApp, metrics: ApiMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Wrap the downstream app, recording the status of the response start."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status_code = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status_code
            if message["type"] == "http.response.start":
                status_code = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            template = route_label(scope)
            method = method_label(scope["method"])
            self.metrics.latency.labels(method, template).observe(time.perf_counter() - started)
            self.metrics.requests.labels(method, template, str(status_code)).inc()
