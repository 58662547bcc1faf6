"""Liveness and readiness probes with minimal bodies (no paths, hosts or OS errors)."""

from __future__ import annotations

import logging

from fastapi import APIRouter, status
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from api.deps import StoreDep
from api.models import Health
from bronze.objectstore import ObjectStoreUnavailable, Pingable

log = logging.getLogger("finlake.api.health")
router = APIRouter(tags=["operations"])


@router.get("/healthz", response_model=Health)
async def healthz() -> Health:
    """The process is alive."""
    return Health(status="ok")


@router.get(
    "/readyz",
    response_model=Health,
    responses={503: {"model": Health, "description": "Landing store unavailable"}},
)
async def readyz(store: StoreDep) -> JSONResponse:
    """Ready when the landing-zone object store can be reached (details go to the log)."""
    try:
        if isinstance(store, Pingable):
            await run_in_threadpool(store.ping)
        else:
            await run_in_threadpool(store.exists, "_readyz")
    except ObjectStoreUnavailable as exc:
        log.warning("readiness: landing store unavailable", extra={"error": str(exc)})
        return JSONResponse(
            Health(status="unavailable").model_dump(),
            status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
        )
    return JSONResponse(Health(status="ready").model_dump())
