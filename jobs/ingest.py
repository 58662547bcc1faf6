"""`finlake ingest FILE... --type TYPE`: copy batch files immutably into the landing zone.

Each file keeps its format (JSONL, CSV or Parquet) and is stored content-addressed: the object
id is the sha256 of its bytes, so the landing key is
``events/{type}/received_date=.../{received_at}_{source}_{sha256}.{ext}`` where the source is
``batch``, or ``backfill`` for a history load (``--historical``: Silver classifies its rows by
business date and never as too late). Reference data (``--type plans`` or ``fx_rates``) is
validated row by row against its contract first and lands under ``reference/{type}/``; a bad
file lands nothing and the error names the row and field. A marker
``_ingested/{sha256}.json`` is written (write-once) *before* the data and names the key the
data gets, so a second ingest of the same content is a no-op that says so, and a run that died
between marker and data is completed at the recorded key by the next run: a file lands once.
Files are only sniffed (format signature), never parsed here; contracts run in Bronze/Silver.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from bronze.contracts import EVENT_TYPES
from bronze.landing import REFERENCE_NAMES, Source, event_key, ingested_reference_key
from bronze.objectstore import ObjectStore, ObjectStoreUnavailable
from bronze.reference_files import InvalidReferenceFile, validate_reference_file

log = logging.getLogger("finlake.ingest")

MARKER_PREFIX = "_ingested"
EXTENSIONS: dict[str, str] = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".csv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
}
PARQUET_MAGIC = b"PAR1"

Outcome = Literal["landed", "already_ingested", "completed"]


class UnsupportedFile(ValueError):
    """The file cannot be ingested (format unknown, empty or not what its name says)."""


@dataclass(frozen=True)
class IngestResult:
    """What happened to one file."""

    path: Path
    outcome: Outcome
    object_key: str
    sha256: str
    size: int
    ingested_at: str
    event_type: str

    def message(self, store: ObjectStore) -> str:
        """One human line about this file."""
        if self.outcome == "already_ingested":
            return (
                f"skipped {self.path}: same content already ingested as {self.event_type} "
                f"at {self.ingested_at}: {store.uri(self.object_key)}"
            )
        return f"landed {self.path} ({self.size} bytes) -> {store.uri(self.object_key)}"


def detect_format(path: Path, override: str | None = None) -> str:
    """Landing extension of a file: from `override` or its suffix."""
    if override:
        return override
    suffix = path.suffix.lower()
    if suffix not in EXTENSIONS:
        raise UnsupportedFile(
            f"{path}: unknown format {suffix or '(no suffix)'}; use .jsonl, .csv or .parquet "
            "or pass --format"
        )
    return EXTENSIONS[suffix]


def sniff(data: bytes, fmt: str, path: Path) -> None:
    """Cheap signature check so a mislabeled file never reaches the landing zone."""
    if not data.strip():
        raise UnsupportedFile(f"{path}: file is empty")
    if fmt == "parquet":
        if not (data.startswith(PARQUET_MAGIC) and data.endswith(PARQUET_MAGIC)):
            raise UnsupportedFile(f"{path}: not a Parquet file (missing PAR1 magic)")
        return
    head = data[:65536].lstrip(b"\xef\xbb\xbf \t\r\n")
    if fmt == "jsonl" and not head.startswith(b"{"):
        raise UnsupportedFile(f"{path}: JSONL must hold one JSON object per line")
    if fmt == "csv" and b"\n" not in head and len(data) > len(head):
        raise UnsupportedFile(f"{path}: CSV header line is longer than 64 KiB")


def marker_key(sha256: str) -> str:
    """Key of the marker that records one ingested content."""
    return f"{MARKER_PREFIX}/{sha256}.json"


def ingest_file(
    store: ObjectStore,
    path: Path,
    event_type: str,
    *,
    fmt: str | None = None,
    now: dt.datetime | None = None,
    historical: bool = False,
) -> IngestResult:
    """Land one file content-addressed and write-once; a repeated content is a no-op."""
    ext = detect_format(path, fmt)
    data = path.read_bytes()
    sniff(data, ext, path)
    digest = hashlib.sha256(data).hexdigest()
    received_at = now or dt.datetime.now(dt.UTC)
    source: Source = "backfill" if historical else "batch"
    if event_type in REFERENCE_NAMES:
        if historical:
            raise UnsupportedFile(f"{path}: --historical applies to event files, not {event_type}")
        try:
            validate_reference_file(path, event_type, ext)  # type: ignore[arg-type]
        except InvalidReferenceFile as exc:
            raise UnsupportedFile(str(exc)) from None
        key = ingested_reference_key(event_type, received_at, source, digest, ext)
    elif event_type in EVENT_TYPES:
        key = event_key(event_type, received_at, source, digest, ext)
    else:
        raise UnsupportedFile(f"unknown type {event_type!r}")
    stamp = received_at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    marker = {
        "sha256": digest,
        "object_key": key,
        "event_type": event_type,
        "source_file": path.name,
        "size": len(data),
        "ingested_at": stamp,
    }
    if store.put_if_absent(marker_key(digest), json.dumps(marker, sort_keys=True).encode()):
        store.put_if_absent(key, data)
        return IngestResult(path, "landed", key, digest, len(data), stamp, event_type)

    previous = json.loads(store.get(marker_key(digest)))
    previous_key = str(previous["object_key"])
    outcome: Outcome = "already_ingested"
    if not store.exists(previous_key):
        # An earlier run recorded the marker but died before the data: finish it at that key.
        store.put_if_absent(previous_key, data)
        outcome = "completed"
    return IngestResult(
        path,
        outcome,
        previous_key,
        digest,
        len(data),
        str(previous["ingested_at"]),
        str(previous["event_type"]),
    )


def _run(args: argparse.Namespace) -> int:
    from bronze.objectstore import make_object_store
    from conf.settings import get_settings

    settings = get_settings()
    store = make_object_store(settings, args.landing)
    failures = 0
    for position, name in enumerate(args.files, start=1):
        path = Path(name)
        try:
            result = ingest_file(
                store, path, args.type, fmt=args.format, historical=args.historical
            )
        except (OSError, UnsupportedFile, ObjectStoreUnavailable) as exc:
            failures += 1
            print(f"[{position}/{len(args.files)}] failed {path}: {exc}")
            log.error("ingest failed", extra={"file": str(path), "error": str(exc)})
            if isinstance(exc, ObjectStoreUnavailable):
                break
            continue
        print(f"[{position}/{len(args.files)}] {result.message(store)}")
        log.info(
            "file ingested",
            extra={
                "file": str(path),
                "outcome": result.outcome,
                "object_key": result.object_key,
                "sha256": result.sha256,
                "bytes": result.size,
            },
        )
    return 1 if failures else 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `ingest` subcommand."""
    from jobs.cli import existing_file

    parser = subparsers.add_parser(
        "ingest",
        help="copy JSONL/CSV/Parquet event or reference files immutably into the landing zone",
    )
    parser.add_argument(
        "files", nargs="+", metavar="FILE", type=existing_file, help="files to ingest"
    )
    parser.add_argument(
        "--type",
        required=True,
        choices=[*EVENT_TYPES, *REFERENCE_NAMES],
        help="event type, or a reference data set (plans, fx_rates)",
    )
    parser.add_argument(
        "--historical",
        action="store_true",
        help="a history load: rows are classified by business date, never as too late",
    )
    parser.add_argument(
        "--format",
        choices=sorted(set(EXTENSIONS.values())),
        default=None,
        help="override the format guessed from the file suffix",
    )
    parser.add_argument(
        "--landing", default=None, help="landing root (default: the settings' landing zone)"
    )
    parser.set_defaults(func=_run)
