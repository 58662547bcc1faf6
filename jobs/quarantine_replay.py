"""`finlake quarantine replay|status`: fix-and-replay of quarantined rows, with an audit trail.

Corrected rows (``--corrections FILE.jsonl``, lines ``{"quarantine_id": ..., "payload": {...}}``)
or unchanged rows that failed one rule (``--rule RULE``, e.g. after reference data was fixed)
are written as new write-once landing objects with source ``replay`` at the original
``received_at`` of the quarantined row; the normal Bronze and Silver jobs then pick them up.
Every replayed row is recorded in ``ops.quarantine_replays``; its outcome (``accepted``,
``quarantined_again``, ``duplicate`` or ``pending``) is read from Silver by the replay line's
lineage whenever ``replay`` or ``status`` runs. The original quarantine row stays as history;
a row with a replay is no longer open, so nothing is counted twice.
"""

from __future__ import annotations

import argparse
import datetime as dt
import getpass
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

from pyspark.sql import DataFrame, Row, SparkSession
from pyspark.sql import functions as F

from bronze.contracts import EVENT_TYPES, EventType
from bronze.events import with_bronze_envelope
from bronze.objectstore import ObjectStore, make_object_store
from bronze.validation import InvalidBatch, to_jsonl, validate_events
from conf.catalog import TableName
from conf.settings import Settings, get_settings
from jobs.exit_codes import EXIT_USAGE
from jobs.lake import Lake
from silver.replay import (
    ReplayObject,
    ReplayTarget,
    filter_open_quarantine,
    may_change_event_id,
    plan_replay_objects,
    with_replay_outcome,
)

_LINEAGE = "source_object_key string, line_number long"
_DECODER = json.JSONDecoder(parse_float=Decimal)


class ReplayRejected(ValueError):
    """The replay request is invalid; nothing was landed or recorded."""

    def __init__(self, message: str, errors: list[str] | None = None) -> None:
        super().__init__(message + "".join(f"\n  - {e}" for e in errors or []))
        self.errors = errors or []


@dataclass(frozen=True)
class Correction:
    """A corrected payload for one quarantined row."""

    quarantine_id: str
    payload: dict[str, Any]


def read_corrections(path: Path) -> list[Correction]:
    """Parse a corrections JSONL file (numbers kept as exact decimals)."""
    corrections: list[Correction] = []
    errors: list[str] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = _DECODER.decode(line)
        except ValueError as exc:
            errors.append(f"line {number}: not JSON ({exc})")
            continue
        if (
            not isinstance(item, dict)
            or not isinstance(item.get("quarantine_id"), str)
            or not isinstance(item.get("payload"), dict)
        ):
            errors.append(f'line {number}: expected {{"quarantine_id": str, "payload": {{...}}}}')
            continue
        corrections.append(Correction(item["quarantine_id"], item["payload"]))
    if errors:
        raise ReplayRejected(f"invalid corrections file {path}", errors)
    return corrections


# --------------------------------------------------------------------------- reading state
def _replays(spark: SparkSession, settings: Settings) -> DataFrame:
    return Lake(spark, settings).read_or_empty("ops.quarantine_replays")


def _quarantine(spark: SparkSession, settings: Settings) -> DataFrame:
    return Lake(spark, settings).read_or_empty("silver.quarantine")


def refresh_outcomes(spark: SparkSession, settings: Settings) -> int:
    """Fill the outcome of pending replays from Silver lineage; return how many resolved."""
    lake = Lake(spark, settings)
    if not lake.exists("ops.quarantine_replays"):
        return 0
    pending_df = lake.read("ops.quarantine_replays").filter(F.col("outcome") == "pending")
    if pending_df.isEmpty():
        return 0
    accepted_df = spark.createDataFrame([], _LINEAGE)
    for event_type in EVENT_TYPES:
        name: TableName = f"silver.{event_type}"  # type: ignore[assignment]
        if lake.exists(name):
            accepted_df = accepted_df.unionByName(
                lake.read(name)
                .filter(F.col("source") == "replay")
                .select("source_object_key", "line_number")
            )
    requarantined_df = (
        _quarantine(spark, settings)
        .filter(F.col("source") == "replay")
        .select("source_object_key", "line_number", "quarantine_id", "failed_rules")
    )
    processed_df = spark.createDataFrame([], _LINEAGE)
    if lake.exists("bronze.events") and lake.exists("ops.silver_batches"):
        processed_df = (
            lake.read("bronze.events")
            .filter(F.col("source") == "replay")
            .join(lake.read("ops.silver_batches").select("batch_id").distinct(), "batch_id")
            .select("source_object_key", "line_number")
        )
    resolved_df = (
        with_replay_outcome(pending_df, accepted_df, requarantined_df, processed_df)
        .filter(F.col("outcome") != "pending")
        .withColumn("outcome_at", F.current_timestamp())
        .select("replay_id", "outcome", "outcome_quarantine_id", "outcome_rules", "outcome_at")
        .localCheckpoint(eager=True)
    )
    resolved = resolved_df.count()
    if resolved:
        lake.merge_update(
            "ops.quarantine_replays",
            resolved_df,
            "t.replay_id = s.replay_id AND t.outcome = 'pending'",
        )
    return resolved


# ---------------------------------------------------------------------------- the request
_TARGET_COLUMNS: Final = (
    "quarantine_id",
    "event_type",
    "event_id",
    "failed_rules",
    "payload",
    "payload_hash",
    "source_object_key",
)


def _rule_targets(open_df: DataFrame, rule: str) -> list[ReplayTarget]:
    """Every open quarantined row that failed `rule`, replayed with its stored payload."""
    rows = open_df.filter(F.array_contains("failed_rules", rule)).select(*_TARGET_COLUMNS)
    return [
        ReplayTarget(
            qrow["quarantine_id"],
            qrow["event_type"],
            qrow["event_id"],
            qrow["source_object_key"],
            tuple(qrow["failed_rules"] or ()),
            qrow["payload_hash"],
            str(qrow["payload"]).encode("utf-8"),
            "rule",
            rule,
        )
        for qrow in rows.collect()
    ]


def _why_not_open(qid: str, known: set[str], outcome_of: dict[str, tuple[str, Any]]) -> str:
    """The error for a correction whose quarantine row is unknown or already replayed."""
    if qid not in known:
        return f"{qid}: no such quarantined row"
    outcome, successor = outcome_of.get(qid, ("pending", None))
    hint = f"; correct its successor {successor}" if successor else ""
    return f"{qid}: already replayed (outcome {outcome}){hint}"


def _correction_target(correction: Correction, row: Row) -> ReplayTarget | str:
    """The validated replay of one correction, or the error that refuses it."""
    qid = correction.quarantine_id
    event_type: EventType = row["event_type"]
    failed = tuple(row["failed_rules"] or ())
    try:
        (validated,) = validate_events(event_type, [correction.payload])
    except InvalidBatch as exc:
        return f"{qid}: {json.dumps(exc.errors, default=str)}"
    new_id = validated.event_id  # canonical form, as the API stores it
    if (
        row["event_id"] is not None
        and new_id != str(row["event_id"]).strip().lower()
        and not may_change_event_id(failed)
    ):
        return f"{qid}: a correction keeps the event_id {row['event_id']}"
    return ReplayTarget(
        qid,
        event_type,
        row["event_id"],
        row["source_object_key"],
        failed,
        row["payload_hash"],
        to_jsonl([validated]).rstrip(b"\n"),
        "correction",
    )


def _targets(
    spark: SparkSession,
    settings: Settings,
    corrections: Sequence[Correction],
    rule: str | None,
) -> list[ReplayTarget]:
    """What to replay: a rule's open rows, or the listed corrections (all valid or none)."""
    quarantine_df = _quarantine(spark, settings)
    replayed_df = _replays(spark, settings)
    open_df = filter_open_quarantine(quarantine_df, replayed_df)
    if rule is not None:
        return _rule_targets(open_df, rule)

    ids = [c.quarantine_id for c in corrections]
    errors = [f"{q}: listed more than once" for q in sorted({q for q in ids if ids.count(q) > 1})]
    wanted = F.col("quarantine_id").isin(ids)
    rows_by_id = {
        r["quarantine_id"]: r for r in open_df.filter(wanted).select(*_TARGET_COLUMNS).collect()
    }
    known = {r[0] for r in quarantine_df.filter(wanted).select("quarantine_id").collect()}
    outcome_of = {
        r[0]: (r[1], r[2])
        for r in replayed_df.filter(wanted)
        .select("quarantine_id", "outcome", "outcome_quarantine_id")
        .collect()
    }
    targets: list[ReplayTarget] = []
    for correction in corrections:
        row = rows_by_id.get(correction.quarantine_id)
        found = (
            _why_not_open(correction.quarantine_id, known, outcome_of)
            if row is None
            else _correction_target(correction, row)
        )
        if isinstance(found, str):
            errors.append(found)
        else:
            targets.append(found)
    if errors:
        raise ReplayRejected("replay refused; nothing was landed", errors)
    return targets


def _payload_hashes(spark: SparkSession, objects: Sequence[ReplayObject]) -> dict[str, str]:
    """Bronze's own payload hash of every replay line, keyed by replay id."""
    rows = [
        (line.replay_id, line.target.line.decode("utf-8", errors="replace"), True)
        for obj in objects
        for line in obj.lines
    ]
    lines_df = spark.createDataFrame(rows, "replay_id string, line string, is_utf8 boolean")
    hashed = lines_df.transform(with_bronze_envelope).select("replay_id", "payload_hash")
    return {r[0]: r[1] for r in hashed.collect()}


def request_replay(
    spark: SparkSession,
    settings: Settings,
    *,
    corrections: Sequence[Correction] = (),
    rule: str | None = None,
    store: ObjectStore | None = None,
    requested_by: str | None = None,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """Land replay objects for corrections (or every open row failing `rule`) and audit them."""
    if bool(corrections) == (rule is not None):
        raise ReplayRejected("give either corrections or a rule")
    store = store or make_object_store(settings)
    refresh_outcomes(spark, settings)
    targets = _targets(spark, settings, corrections, rule)
    if not targets:
        return {"objects": 0, "rows": 0, "replay_ids": [], "landing_keys": []}
    objects = plan_replay_objects(targets)
    hashes = _payload_hashes(spark, objects)
    landed = sum(store.put_if_absent(obj.key, obj.content) for obj in objects)
    requested_at = now or dt.datetime.now(dt.UTC)
    who = requested_by or os.environ.get("USER") or getpass.getuser()
    audit = [
        (
            line.replay_id,
            line.target.quarantine_id,
            line.target.event_type,
            line.target.event_id,
            list(line.target.failed_rules),
            line.target.kind,
            line.target.rule,
            line.target.original_payload_hash,
            hashes[line.replay_id],
            line.object_key,
            line.line_number,
            requested_at,
            who,
            "pending",
            None,
            None,
            None,
        )
        for obj in objects
        for line in obj.lines
    ]
    lake = Lake(spark, settings)
    audit_df = spark.createDataFrame(audit, lake.schema("ops.quarantine_replays"))
    lake.merge_insert("ops.quarantine_replays", audit_df)
    return {
        "objects": len(objects),
        "objects_landed": landed,
        "rows": len(audit),
        "replay_ids": [row[0] for row in audit],
        "landing_keys": [obj.key for obj in objects],
    }


def replay_status(spark: SparkSession, settings: Settings) -> DataFrame:
    """Audit rows of every replay, outcomes refreshed from Silver lineage."""
    refresh_outcomes(spark, settings)
    return _replays(spark, settings).orderBy("requested_at", "landing_object_key", "line_number")


def open_quarantine_counts(spark: SparkSession, settings: Settings) -> dict[str, int]:
    """Quarantined rows still open (never replayed), by first failed rule."""
    open_df = filter_open_quarantine(_quarantine(spark, settings), _replays(spark, settings))
    return {r[0]: int(r[1]) for r in open_df.groupBy("reason").count().collect()}


# ------------------------------------------------------------------------------------- CLI
def _cmd_replay(args: argparse.Namespace) -> int:
    from jobs.spark import get_spark

    settings = get_settings()
    spark = get_spark(settings, "finlake-quarantine-replay")
    try:
        corrections = read_corrections(args.corrections) if args.corrections else []
        result = request_replay(spark, settings, corrections=corrections, rule=args.rule)
    except ReplayRejected as exc:
        print(str(exc))
        return EXIT_USAGE
    print(json.dumps(result, indent=2))
    print("run `finlake run bronze` and `finlake run silver` (or `run all`) to process them")
    return 0


def _replay_outcomes_read_only(
    settings: Settings, pending: list[dict[str, Any]]
) -> dict[str, tuple[str, str | None, list[str] | None]]:
    """Outcome of pending replays from Silver lineage (as `with_replay_outcome`), not stored."""
    from jobs import lake_reader

    keys = sorted({str(r["landing_object_key"]) for r in pending})
    wanted = [("source", "=", "replay"), ("source_object_key", "in", keys)]
    lineage = ["source_object_key", "line_number"]
    accepted: set[tuple[str, int]] = set()
    for event_type in EVENT_TYPES:
        for row in lake_reader.read_rows(
            settings, settings.location(f"silver.{event_type}"), lineage, wanted
        ):
            accepted.add((row["source_object_key"], row["line_number"]))
    requarantined: dict[tuple[str, int], tuple[str, list[str]]] = {}
    for row in lake_reader.read_rows(
        settings,
        settings.location("silver.quarantine"),
        [*lineage, "quarantine_id", "failed_rules"],
        wanted,
    ):
        requarantined.setdefault(
            (row["source_object_key"], row["line_number"]),
            (row["quarantine_id"], list(row["failed_rules"] or [])),
        )
    batches = {
        r["batch_id"]
        for r in lake_reader.read_rows(
            settings, settings.location("ops.silver_batches"), ["batch_id"]
        )
    }
    processed = {
        (r["source_object_key"], r["line_number"])
        for r in lake_reader.read_rows(
            settings, settings.location("bronze.events"), [*lineage, "batch_id"], wanted
        )
        if r["batch_id"] in batches
    }
    outcomes: dict[str, tuple[str, str | None, list[str] | None]] = {}
    for replay in pending:
        key = (str(replay["landing_object_key"]), int(replay["line_number"]))
        if key in accepted:
            outcomes[replay["replay_id"]] = ("accepted", None, None)
        elif key in requarantined:
            outcomes[replay["replay_id"]] = ("quarantined_again", *requarantined[key])
        elif key in processed:
            outcomes[replay["replay_id"]] = ("duplicate", None, None)
    return outcomes


def status_read_only(settings: Settings) -> dict[str, Any]:
    """Replays (outcomes resolved from Silver lineage) and open quarantine by reason, no Spark.

    Read with delta-rs and never written: `finlake quarantine replay` (and its status refresh
    in Spark) stores resolved outcomes in ops.quarantine_replays.
    """
    from jobs import lake_reader

    replays = lake_reader.read_rows(settings, settings.location("ops.quarantine_replays"))
    pending = [r for r in replays if r["outcome"] == "pending"]
    resolved = _replay_outcomes_read_only(settings, pending) if pending else {}
    for row in replays:
        if row["replay_id"] in resolved:
            outcome, successor, rules = resolved[row["replay_id"]]
            row.update(outcome=outcome, outcome_quarantine_id=successor, outcome_rules=rules)
    replays.sort(key=lambda r: (r["requested_at"], r["landing_object_key"], r["line_number"]))
    replayed = {r["quarantine_id"] for r in replays}
    open_counts: dict[str, int] = {}
    for row in lake_reader.read_rows(
        settings, settings.location("silver.quarantine"), ["quarantine_id", "reason"]
    ):
        if row["quarantine_id"] not in replayed:
            open_counts[row["reason"]] = open_counts.get(row["reason"], 0) + 1
    by_outcome: dict[str, int] = {}
    for row in replays:
        by_outcome[row["outcome"]] = by_outcome.get(row["outcome"], 0) + 1
    return {
        "replays": len(replays),
        "by_outcome": by_outcome,
        "open_quarantine": dict(sorted(open_counts.items(), key=lambda kv: (-kv[1], kv[0]))),
        "rows": replays,
    }


def _cmd_status(args: argparse.Namespace) -> int:
    from jobs import console

    status = status_read_only(get_settings())
    if args.json:
        print(json.dumps(status, default=str, indent=2))
        return 0
    out = console.out()
    outcomes = ", ".join(f"{k} {v:,}" for k, v in sorted(status["by_outcome"].items()))
    out.print(f"replays: {status['replays']:,}" + (f" ({outcomes})" if outcomes else ""))
    open_rows = list(status["open_quarantine"].items())
    total = sum(n for _, n in open_rows)
    out.print(f"open quarantined rows: {total:,}")
    if open_rows:
        out.print(console.table(["reason", "rows"], open_rows))
    if status["rows"]:
        columns = ["replay_id", "quarantine_id", "event_type", "outcome", "requested_by"]
        out.print(
            console.table(
                columns,
                [[r[c] for c in columns] for r in status["rows"]],
                title="replays",
            )
        )
    return 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `quarantine replay` and `quarantine status`."""
    quarantine = subparsers.add_parser("quarantine", help="fix and replay quarantined rows")
    sub = quarantine.add_subparsers(dest="quarantine_command", required=True, metavar="ACTION")
    replay = sub.add_parser("replay", help="re-submit quarantined rows through the landing zone")
    source = replay.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--corrections",
        type=Path,
        help='JSONL file of {"quarantine_id": ..., "payload": {...corrected event...}}',
    )
    source.add_argument("--rule", help="re-submit every open row that failed RULE, unchanged")
    replay.set_defaults(func=_cmd_replay)
    status = sub.add_parser("status", help="outcomes of replays (accepted / quarantined again)")
    status.add_argument("--json", action="store_true", help="print every audit row as JSON")
    status.set_defaults(func=_cmd_status)
