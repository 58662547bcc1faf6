"""Structural validation of events against their contracts and their canonical stored form.

Shared by every way in: the REST API, `finlake ingest` files and quarantine replays. An
invalid batch raises `InvalidBatch` with per-index errors (bounded) and nothing is landed.
"""

from __future__ import annotations

import json
from collections import defaultdict
from decimal import Decimal
from typing import Any, Final

from pydantic import TypeAdapter, ValidationError

from bronze.contracts import EVENT_MODELS, EventBase, EventType, canonical_event

MAX_REPORTED_ERRORS: Final = 1000
MAX_ERRORS_PER_EVENT: Final = 20
MAX_ECHOED_CHARS: Final = 64

BATCH_ADAPTERS: dict[EventType, TypeAdapter[list[EventBase]]] = {
    event_type: TypeAdapter(list[model])  # type: ignore[valid-type]
    for event_type, model in EVENT_MODELS.items()
}


class InvalidBatch(ValueError):
    """The request body is not a structurally valid event or batch; nothing was landed."""

    def __init__(self, message: str, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.errors = errors or []


def clip(text: str, limit: int = MAX_ECHOED_CHARS) -> str:
    """`text` cut to `limit` characters (with an ellipsis) for echoing in errors."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


def validate_events(event_type: EventType, events: list[Any]) -> list[EventBase]:
    """Check every event against its contract; raise `InvalidBatch` with per-index errors."""
    try:
        return BATCH_ADAPTERS[event_type].validate_python(events)
    except ValidationError as exc:
        by_index: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for error in exc.errors(include_url=False, include_input=False, include_context=False):
            loc = error["loc"]
            index = loc[0] if loc and isinstance(loc[0], int) else 0
            if len(by_index[index]) >= MAX_ERRORS_PER_EVENT:
                continue
            field = ".".join(clip(str(part)) for part in loc[1:]) or None
            by_index[index].append({"field": field, "type": error["type"], "msg": error["msg"]})
        errors = []
        for index in sorted(by_index)[:MAX_REPORTED_ERRORS]:
            event = events[index]
            event_id = event.get("event_id") if isinstance(event, dict) else None
            errors.append(
                {
                    "index": index,
                    "event_id": clip(event_id) if isinstance(event_id, str) else None,
                    "errors": by_index[index],
                }
            )
        raise InvalidBatch(
            f"{len(by_index)} of {len(events)} events are invalid; nothing was landed", errors
        ) from None


def _json_scalar(value: object) -> str:
    """JSON text of one stored scalar; Decimals in plain notation (no float round trip)."""
    if value is None:
        return "null"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return int.__repr__(value)
    if isinstance(value, Decimal):
        return format(value, "f")
    raise TypeError(f"unexpected value of type {type(value).__name__} in a stored event")


def to_jsonl(events: list[EventBase]) -> bytes:
    """One compact JSON line per event in its canonical (normalized) form, UTF-8."""
    lines = (
        "{"
        + ",".join(
            f"{json.dumps(name)}:{_json_scalar(value)}"
            for name, value in canonical_event(event).items()
        )
        + "}"
        for event in events
    )
    return ("\n".join(lines) + "\n").encode("utf-8")
