"""Event ingestion: parse, validate structurally, and land write-once JSONL objects.

The route layer stays thin; everything that decides what is accepted and what is stored lives
here so it can be tested without HTTP.

Durability and idempotency (``Idempotency-Key``):

1. The batch is parsed and validated; an invalid batch raises `InvalidBatch` and touches
   nothing in the store.
2. Without an idempotency key the batch is written as one write-once object and acknowledged.
3. With a key, an *intent record* ``_idempotency/{client}/{sha256(key)}.json`` is written first
   (write-once) naming the object key the batch will have and a fingerprint of the batch; only
   then is the batch written. A retry finds the record: if the object exists it answers the
   original response, if not (the first attempt crashed or the store failed in between, so it
   was never acknowledged) it writes the object at the recorded key and answers the original
   response. Concurrent retries race on write-once puts of the same key and content, so the
   batch lands exactly once and nothing is acknowledged before its data is stored.

What is stored is the canonical form of each validated event (`canonical_event`): trimmed
strings, lower-case event ids, ISO timestamps, decimals in plain notation. Numbers are parsed
as `Decimal`, so money never goes through float. Bodies are bounded before decoding
(`check_shape`): no valid body nests deeper than three levels or holds more values than
`max_events` flat events can, so junk is refused without building large object trees.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final

from bronze.contracts import EVENT_MODELS, EVENT_TYPES, EventType
from bronze.landing import event_key
from bronze.objectstore import ObjectStore
from bronze.validation import (
    InvalidBatch,
    clip,
    to_jsonl,
    validate_events,
)

IDEMPOTENCY_PREFIX: Final = "_idempotency"
MAX_IDEMPOTENCY_KEY_LENGTH: Final = 255


class IdempotencyKeyReused(ValueError):
    """An idempotency key was sent again with a different batch."""


@dataclass(frozen=True)
class Accepted:
    """What the API acknowledges for an accepted batch."""

    accepted: int
    object_key: str
    received_at: str
    replayed: bool = False
    landed: bool = True

    def body(self) -> dict[str, Any]:
        """JSON body of the 202 response."""
        return {
            "accepted": self.accepted,
            "object_key": self.object_key,
            "received_at": self.received_at,
        }


MAX_DEPTH: Final = 3  # {"events": [ {event} ]}: no valid body nests deeper
MAX_FIELDS_PER_EVENT: Final = 64  # far above the widest contract; bounds objects cheaply
# The tokens the shape check looks at: a whole string literal (skipped: brackets and commas
# inside strings do not count), or one bracket or comma.
_TOKEN = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[{}\[\],]')
_QUOTE, _COMMA, _BRACKET = ord('"'), ord(","), ord("[")
_OPEN = frozenset(b"{[")


def check_shape(raw: bytes, max_events: int) -> None:
    """Refuse nesting and element counts no valid body has, before any JSON value is built.

    A body is at most `{"events": [ {flat event}, ... ]}`: three levels deep, arrays of at
    most `max_events` items, objects of at most `MAX_FIELDS_PER_EVENT` members. The scan
    walks string literals, brackets and commas lazily and stops at the first excess, so a
    5 MB array or a 600-level nesting costs a bounded number of regex steps and no allocation
    (no giant object tree, no RecursionError in the JSON decoder).
    """
    token_budget = (max_events + 1) * (3 * MAX_FIELDS_PER_EVENT + 2)
    open_containers: list[int] = []  # the opening byte of each enclosing container
    items: list[int] = []
    for tokens, match in enumerate(_TOKEN.finditer(raw)):
        if tokens > token_budget:
            raise InvalidBatch(f"request body has more than {token_budget} JSON tokens")
        char = raw[match.start()]
        if char == _QUOTE:
            continue
        if char in _OPEN:
            if len(open_containers) == MAX_DEPTH:
                raise InvalidBatch(
                    f"request body nests deeper than {MAX_DEPTH} levels; events are flat objects"
                )
            open_containers.append(char)
            items.append(1)
        elif char == _COMMA:
            if items:
                items[-1] += 1
                limit = max_events if open_containers[-1] == _BRACKET else MAX_FIELDS_PER_EVENT
                if items[-1] > limit and open_containers[-1] == _BRACKET:
                    raise InvalidBatch(
                        f"too many items: a JSON array in the body has more than {limit} "
                        f"(at most {max_events} events per request)"
                    )
                if items[-1] > limit:
                    raise InvalidBatch(f"an object in the body has more than {limit} members")
        elif open_containers:
            open_containers.pop()
            items.pop()


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _unique_members(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        raise ValueError("an object repeats a member name")
    return obj


_DECODER = json.JSONDecoder(
    parse_float=Decimal, parse_constant=_reject_constant, object_pairs_hook=_unique_members
)


def parse_events(raw: bytes, max_events: int) -> list[Any]:
    """Decode one event or `{"events": [...]}` into a list of raw JSON values."""
    if not raw.strip():
        raise InvalidBatch("empty request body")
    check_shape(raw, max_events)
    try:
        document = _DECODER.decode(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise InvalidBatch(f"request body is not valid JSON: {clip(str(exc), 200)}") from None
    if not isinstance(document, dict):
        raise InvalidBatch("request body must be a JSON object (one event or {'events': [...]})")
    if "events" not in document:
        return [document]
    events = document["events"]
    if set(document) != {"events"}:
        raise InvalidBatch("a batch envelope carries only the 'events' list")
    if not isinstance(events, list):
        raise InvalidBatch("'events' must be a JSON array")
    if not events:
        raise InvalidBatch("'events' is empty")
    if len(events) > max_events:
        raise InvalidBatch(f"too many events: {len(events)} > {max_events} per request")
    return events


def format_received_at(received_at: dt.datetime) -> str:
    """RFC 3339 UTC timestamp with microseconds and a `Z`."""
    return received_at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def check_idempotency_key(value: str) -> str:
    """Validate an `Idempotency-Key` header value (1-255 visible ASCII characters)."""
    if not 0 < len(value) <= MAX_IDEMPOTENCY_KEY_LENGTH or not all(
        "!" <= ch <= "~" for ch in value
    ):
        raise ValueError(
            f"Idempotency-Key must be 1-{MAX_IDEMPOTENCY_KEY_LENGTH} visible ASCII characters"
        )
    return value


def idempotency_record_key(client_id: str, idempotency_key: str) -> str:
    """Store key of the idempotency record of one client's key."""
    digest = hashlib.sha256(idempotency_key.encode("ascii")).hexdigest()
    return f"{IDEMPOTENCY_PREFIX}/{client_id}/{digest}.json"


def land_events(
    store: ObjectStore,
    event_type: EventType,
    payload: bytes,
    count: int,
    *,
    client_id: str,
    idempotency_key: str | None = None,
    now: dt.datetime | None = None,
) -> Accepted:
    """Store one JSONL object durably (exactly once per idempotency key) and describe it."""
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {event_type!r}")
    received_at = now or dt.datetime.now(dt.UTC)
    key = event_key(event_type, received_at, "api", uuid.uuid4().hex)
    accepted = Accepted(count, key, format_received_at(received_at))
    if idempotency_key is None:
        store.put_if_absent(key, payload)  # fresh random key: False can only mean our own retry
        return accepted

    fingerprint = hashlib.sha256(event_type.encode() + b"\n" + payload).hexdigest()
    record_key = idempotency_record_key(client_id, idempotency_key)
    record = {
        "version": 1,
        "event_type": event_type,
        "fingerprint": fingerprint,
        "created_at": accepted.received_at,
        **accepted.body(),
    }
    if store.put_if_absent(record_key, json.dumps(record, sort_keys=True).encode()):
        # False only if a concurrent retry already completed this very object (same bytes).
        landed = store.put_if_absent(key, payload)
        return Accepted(accepted.accepted, key, accepted.received_at, False, landed)

    stored = json.loads(store.get(record_key))
    if stored.get("fingerprint") != fingerprint:
        raise IdempotencyKeyReused(
            "this Idempotency-Key was already used with a different batch or event type"
        )
    object_key = str(stored["object_key"])
    # If the object is missing, the first attempt recorded its intent but never stored (nor
    # acknowledged) the data: store it now, at the recorded key, exactly once.
    landed = not store.exists(object_key) and store.put_if_absent(object_key, payload)
    return Accepted(int(stored["accepted"]), object_key, str(stored["received_at"]), True, landed)


def ingest_request(
    store: ObjectStore,
    event_type: EventType,
    raw: bytes,
    *,
    max_events: int,
    client_id: str,
    idempotency_key: str | None = None,
) -> Accepted:
    """Parse, validate and land one request body (blocking; run it off the event loop)."""
    events = validate_events(event_type, parse_events(raw, max_events))
    return land_events(
        store,
        event_type,
        to_jsonl(events),
        len(events),
        client_id=client_id,
        idempotency_key=idempotency_key,
    )


def request_body_schema(max_events: int) -> dict[str, Any]:
    """OpenAPI schema of the ingest body: one event or `{"events": [...]}`."""
    one_of_events = {
        "anyOf": [model.model_json_schema() for model in EVENT_MODELS.values()],
        "description": "an event of the type named in the path",
    }
    batch = {
        "type": "object",
        "title": "Batch",
        "required": ["events"],
        "additionalProperties": False,
        "properties": {
            "events": {
                "type": "array",
                "minItems": 1,
                "maxItems": max_events,
                "items": one_of_events,
            }
        },
    }
    return {"oneOf": [one_of_events, batch]}
