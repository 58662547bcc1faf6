"""Liveness, readiness (checks the object store) and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.concurrency import run_in_threadpool

from api.deps import StoreDep
from api.models import Health
from api.telemetry import ApiMetrics
from bronze.objectstore import ObjectStoreUnavailable, Pingable

router = APIRouter(tags=["operations"])


@router.get("/healthz", response_model=Health, response_model_exclude_none=True)
async def healthz() -> Health:
    """The process is alive."""
    return Health(status="ok")


@router.get(
    "/readyz",
    response_model=Health,
    responses={503: {"model": Health, "description": "Object store unavailable"}},
)
async def readyz(store: StoreDep) -> JSONResponse:
    """Ready when the landing-zone object store can be reached."""
    try:
        if isinstance(store, Pingable):
            await run_in_threadpool(store.ping)
        else:
            await run_in_threadpool(store.exists, "_readyz")
    except ObjectStoreUnavailable as exc:
        body = Health(status="unavailable", store=store.uri(), detail=str(exc))
        return JSONResponse(body.model_dump(), status_code=status.HTTP_503_SERVICE_UNAVAILABLE)
    return JSONResponse(Health(status="ready", store=store.uri()).model_dump(exclude_none=True))


@router.get("/metrics", response_class=Response, include_in_schema=True)
async def metrics(request: Request) -> Response:
    """Prometheus exposition of the API metrics."""
    api_metrics: ApiMetrics = request.app.state.metrics
    return Response(generate_latest(api_metrics.registry), media_type=CONTENT_TYPE_LATEST)
