"""Response bodies of the API (documented in OpenAPI)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel


class IngestAccepted(BaseModel):
    """A batch was stored durably in the landing zone."""

    accepted: int
    object_key: str
    received_at: str


class FieldError(BaseModel):
    """One structural problem of one event."""

    field: str | None
    type: str
    msg: str


class EventErrors(BaseModel):
    """All problems of the event at `index` of the batch."""

    index: int
    event_id: str | None
    errors: list[FieldError]


class ValidationFailed(BaseModel):
    """The request was refused as a whole; nothing was landed."""

    detail: str
    errors: list[EventErrors] = []


class ErrorBody(BaseModel):
    """Generic error."""

    detail: str


class Health(BaseModel):
    """Liveness / readiness status (nothing else: probes are unauthenticated)."""

    status: Literal["ok", "ready", "unavailable"]
