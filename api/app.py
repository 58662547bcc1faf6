"""The finlake HTTP API: `create_app()` (public) and `create_admin_app()` (operators only).

The public app serves ingestion, the metrics API, the dashboard and minimal health probes.
Prometheus metrics, the OpenAPI document and the interactive docs are on a separate admin app
that `finlake serve` binds to a loopback address (`--admin-host/--admin-port`); the load
balancer only routes the public listener.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request, Response, status
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from api.deps import BodyBudget, build_key_index
from api.ingestion import request_body_schema
from api.routes import health, ingest, metrics
from api.telemetry import ApiMetrics, MetricsMiddleware
from bronze.objectstore import ObjectStore, ObjectStoreUnavailable, make_object_store
from conf.settings import Settings, get_settings

log = logging.getLogger("finlake.api")

INGEST_PATH = "/v1/events/{event_type}"
STORE_RETRY_AFTER_SECONDS = 5
API_DESCRIPTION = (
    "**Ingestion** (`ingest` scope): `POST /v1/events/{event_type}` lands events write-once in "
    "the landing zone. **Metrics** (`read` scope): `/v1/metrics/*` reads Gold through Trino; "
    "every response carries the Delta versions read, data freshness and the latest "
    "data-quality status. Money is a USD decimal string. Authenticate with `X-API-Key`. "
    "The dashboard is at `/dashboard`."
)


def create_app(settings: Settings | None = None, store: ObjectStore | None = None) -> FastAPI:
    """The public app (settings and store default to the process settings)."""
    settings = settings or get_settings()
    app = FastAPI(
        title="finlake API",
        version="1.0.0",
        summary="Event ingestion and SaaS finance metrics (MRR, movements, churn, GRR/NRR, "
        "revenue, forecast vs actual) of the finlake lakehouse",
        description=API_DESCRIPTION,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,  # served by the admin app only
    )
    app.state.settings = settings
    app.state.store = store if store is not None else make_object_store(settings)
    app.state.api_keys = build_key_index(settings)
    app.state.metrics = ApiMetrics()
    app.state.body_budget = BodyBudget(settings.max_inflight_body_bytes)
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics)
    app.add_exception_handler(ObjectStoreUnavailable, _store_unavailable)
    app.include_router(health.router)
    app.include_router(ingest.router)
    app.include_router(metrics.router)  # metrics API (read scope) + /dashboard

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = FastAPI.openapi(app)
            schema["paths"][INGEST_PATH]["post"]["requestBody"] = {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": request_body_schema(settings.max_events_per_request)
                    }
                },
            }
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app


def create_admin_app(public: FastAPI) -> FastAPI:
    """Operator endpoints of a public app: `/metrics`, `/openapi.json`, `/docs`, probes.

    Unauthenticated by design, so it must only be bound to loopback or a private port that
    the load balancer does not route (`finlake serve --admin-host/--admin-port`).
    """
    admin = FastAPI(title="finlake API (admin)", docs_url=None, redoc_url=None, openapi_url=None)
    api_metrics: ApiMetrics = public.state.metrics
    admin.state.settings = public.state.settings
    admin.state.store = public.state.store
    admin.include_router(health.router)

    @admin.get("/metrics", include_in_schema=False)
    async def prometheus_metrics() -> Response:
        """Prometheus exposition of the public app's metrics."""
        return Response(generate_latest(api_metrics.registry), media_type=CONTENT_TYPE_LATEST)

    @admin.get("/openapi.json", include_in_schema=False)
    async def openapi_document() -> JSONResponse:
        """OpenAPI document of the public app."""
        return JSONResponse(public.openapi())

    @admin.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        """Interactive documentation of the public app."""
        return get_swagger_ui_html(openapi_url="/openapi.json", title="finlake API docs")

    return admin


async def _store_unavailable(request: Request, exc: Exception) -> JSONResponse:
    """503 with a clear body: the store failed, so nothing was acknowledged."""
    metrics: ApiMetrics = request.app.state.metrics
    metrics.store_errors.inc()
    log.error("object store unavailable", extra={"path": request.url.path, "error": str(exc)})
    return JSONResponse(
        {
            "detail": "object store unavailable; nothing was accepted, retry later "
            "(with the same Idempotency-Key)",
            "error": "store_unavailable",
        },
        status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
        headers={"Retry-After": str(STORE_RETRY_AFTER_SECONDS)},
    )
