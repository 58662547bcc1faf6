"""Layout of the landing zone: write-once objects whose key carries their lineage.

Event objects live at
``events/{event_type}/received_date={YYYY-MM-DD}/{received_at}_{source}_{object_id}.{ext}``
where ``received_at`` is ``YYYYMMDDTHHMMSSffffffZ`` (UTC). The key alone tells Bronze the
event type, when the object arrived and from which source, so lineage needs no side table and
is identical on a local folder and on S3. Reference data lives under ``reference/{name}/``;
ingested reference files are named ``{received_at}_{source}_{sha256}.{ext}`` so that, sorted
by key, the latest file wins.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Literal, get_args

from bronze.contracts import EVENT_TYPES, EventType

# `backfill`: a history load (`finlake ingest --historical`): rows are classified by business
# date and never `too_late`. `replay`: corrected or re-submitted quarantined rows (kept at their
# original received_at).
Source = Literal["api", "batch", "backfill", "replay"]
SOURCES: tuple[Source, ...] = get_args(Source)
FORMATS = ("jsonl", "csv", "parquet")
REFERENCE_NAMES = ("plans", "fx_rates")

_KEY_RE = re.compile(
    r"^events/(?P<event_type>[a-z_]+)/received_date=(?P<date>\d{4}-\d{2}-\d{2})/"
    r"(?P<ts>\d{8}T\d{12}Z)_(?P<source>" + "|".join(SOURCES) + r")_"
    r"(?P<object_id>[0-9A-Za-z-]+)\.(?P<ext>jsonl|csv|parquet)$"
)
_TS_FORMAT = "%Y%m%dT%H%M%S%fZ"


@dataclass(frozen=True)
class LandingKey:
    """Parsed lineage of one landing object."""

    event_type: EventType
    received_at: dt.datetime
    source: Source
    object_id: str
    ext: str

    @property
    def key(self) -> str:
        """The object key relative to the landing root."""
        ts = self.received_at.astimezone(dt.UTC).strftime(_TS_FORMAT)
        day = self.received_at.astimezone(dt.UTC).date().isoformat()
        return (
            f"events/{self.event_type}/received_date={day}/"
            f"{ts}_{self.source}_{self.object_id}.{self.ext}"
        )


def event_key(
    event_type: EventType,
    received_at: dt.datetime,
    source: Source,
    object_id: str,
    ext: str = "jsonl",
) -> str:
    """Key of a new event object."""
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {event_type!r}")
    if ext not in FORMATS:
        raise ValueError(f"unsupported landing format {ext!r}")
    if received_at.tzinfo is None:
        raise ValueError("received_at must be timezone-aware")
    return LandingKey(event_type, received_at, source, object_id, ext).key


def parse_event_key(key: str) -> LandingKey:
    """Lineage encoded in an event object key (raises ValueError if it is not one)."""
    match = _KEY_RE.match(key)
    if match is None or match["event_type"] not in EVENT_TYPES:
        raise ValueError(f"not a landing event key: {key!r}")
    received_at = dt.datetime.strptime(match["ts"], _TS_FORMAT).replace(tzinfo=dt.UTC)
    return LandingKey(
        event_type=match["event_type"],
        received_at=received_at,
        source=match["source"],  # type: ignore[arg-type]
        object_id=match["object_id"],
        ext=match["ext"],
    )


def reference_key(name: str, object_id: str, ext: str = "csv") -> str:
    """Key of a reference-data object (plan catalog, FX rates) placed by hand or a generator."""
    if name not in REFERENCE_NAMES:
        raise ValueError(f"unknown reference data set {name!r}")
    return f"reference/{name}/{object_id}.{ext}"


def ingested_reference_key(
    name: str, received_at: dt.datetime, source: Source, object_id: str, ext: str
) -> str:
    """Key of an ingested reference object; keys sort by arrival, so the latest file wins."""
    if ext not in FORMATS:
        raise ValueError(f"unsupported reference format {ext!r}")
    stamp = received_at.astimezone(dt.UTC).strftime(_TS_FORMAT)
    return reference_key(name, f"{stamp}_{source}_{object_id}", ext)
