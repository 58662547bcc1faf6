"""`POST /v1/events/{event_type}`: land one event or a batch in the landing zone."""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Header, HTTPException, Path, Request, status
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from api.deps import IngestPrincipal, LimitedBody, SettingsDep, StoreDep
from api.ingestion import (
    IdempotencyKeyReused,
    check_idempotency_key,
    ingest_request,
)
from api.models import ErrorBody, IngestAccepted, ValidationFailed
from api.telemetry import ApiMetrics
from bronze.contracts import EVENT_TYPES, EventType
from bronze.validation import InvalidBatch

log = logging.getLogger("finlake.api.ingest")
router = APIRouter(prefix="/v1", tags=["ingest"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "Malformed header"},
    401: {"model": ErrorBody, "description": "Missing or unknown API key"},
    403: {"model": ErrorBody, "description": "API key without the `ingest` scope"},
    404: {"model": ErrorBody, "description": "Unknown event type"},
    413: {"model": ErrorBody, "description": "Body larger than `max_body_bytes`"},
    415: {"model": ErrorBody, "description": "Body is not JSON (media types are case-insensitive)"},
    422: {"model": ValidationFailed, "description": "Invalid batch; nothing was landed"},
    429: {
        "model": ErrorBody,
        "description": "Too many concurrent ingest bytes in this process; retry after "
        "Retry-After seconds",
    },
    503: {"model": ErrorBody, "description": "Object store unavailable; nothing was accepted"},
}


@router.post(
    "/events/{event_type}",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=IngestAccepted,
    responses=_ERRORS,
    summary="Land events of one type",
)
async def post_events(
    request: Request,
    event_type: Annotated[str, Path(description=f"one of {', '.join(EVENT_TYPES)}")],
    principal: IngestPrincipal,
    settings: SettingsDep,
    store: StoreDep,
    body: LimitedBody,
    idempotency_key: Annotated[
        str | None,
        Header(alias="Idempotency-Key", description="retries with the same key land once"),
    ] = None,
) -> JSONResponse:
    """Validate structurally, store as one write-once JSONL object, then answer 202.

    The body is one event or `{"events": [...]}` (see the request schema). An invalid batch is
    refused whole with per-index errors; an accepted batch is stored before the answer.
    """
    metrics: ApiMetrics = request.app.state.metrics
    if event_type not in EVENT_TYPES:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            detail=f"unknown event type {event_type[:64]!r}; expected one of {list(EVENT_TYPES)}",
        )
    typed: EventType = event_type
    if idempotency_key is not None:
        try:
            check_idempotency_key(idempotency_key)
        except ValueError as exc:
            raise HTTPException(status.HTTP_400_BAD_REQUEST, detail=str(exc)) from exc
    try:
        result = await run_in_threadpool(
            ingest_request,
            store,
            typed,
            body,
            max_events=settings.max_events_per_request,
            client_id=principal.client_id,
            idempotency_key=idempotency_key,
        )
    except InvalidBatch as exc:
        metrics.batches_rejected.labels(typed, "invalid").inc()
        return JSONResponse(
            {"detail": exc.message, "errors": exc.errors},
            status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
        )
    except IdempotencyKeyReused as exc:
        metrics.batches_rejected.labels(typed, "idempotency_key_reused").inc()
        return JSONResponse(
            {"detail": str(exc), "errors": []}, status_code=status.HTTP_422_UNPROCESSABLE_CONTENT
        )
    if result.landed:
        metrics.events_accepted.labels(typed).inc(result.accepted)
    headers = {}
    if result.replayed:
        metrics.idempotent_replays.labels(typed).inc()
        headers["Idempotent-Replayed"] = "true"
    log.info(
        "events landed" if result.landed else "idempotent replay",
        extra={
            "event_type": typed,
            "accepted": result.accepted,
            "object_key": result.object_key,
            "client_id": principal.client_id,
        },
    )
    return JSONResponse(result.body(), status_code=status.HTTP_202_ACCEPTED, headers=headers)
