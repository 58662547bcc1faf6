"""The finlake HTTP API: `create_app()` wires settings, object store, routes and metrics."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request, status
from fastapi.responses import JSONResponse

from api.deps import build_key_index
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
    """A configured FastAPI app (settings and store default to the process settings)."""
    settings = settings or get_settings()
    app = FastAPI(
        title="finlake API",
        version="1.0.0",
        summary="Event ingestion and SaaS finance metrics (MRR, movements, churn, GRR/NRR, "
        "revenue, forecast vs actual) of the finlake lakehouse",
        description=API_DESCRIPTION,
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.store = store if store is not None else make_object_store(settings)
    app.state.api_keys = build_key_index(settings)
    app.state.metrics = ApiMetrics()
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
