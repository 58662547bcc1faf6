"""Fix-and-replay of quarantined rows: pure planning of replay objects and outcome rules.

A replayed row goes back through the landing zone like any other input: a write-once JSONL
object with source ``replay`` whose key keeps the ``received_at`` of the quarantined row, so
Bronze and Silver classify it (lateness included) exactly as they classified the original.
Object ids and replay ids are content-derived, so repeating the same request lands nothing new.
The outcome of a replay is read from the lineage of its object line: accepted into a Silver
table, quarantined again, dropped as a duplicate, or still pending.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from bronze.contracts import EventType
from bronze.landing import event_key, parse_event_key

ReplayKind = Literal["correction", "rule"]
Outcome = Literal["pending", "accepted", "quarantined_again", "duplicate"]
OUTCOMES: tuple[Outcome, ...] = ("pending", "accepted", "quarantined_again", "duplicate")
# Rules whose failure means the original event_id itself was unusable (a correction may set one).
EVENT_ID_RULES = ("not_null:event_id", "format:event_id", "malformed:")


@dataclass(frozen=True)
class ReplayTarget:
    """One quarantined row to re-submit, with the exact line to land for it."""

    quarantine_id: str
    event_type: EventType
    event_id: str | None
    source_object_key: str
    failed_rules: tuple[str, ...]
    original_payload_hash: str | None
    line: bytes
    kind: ReplayKind
    rule: str | None = None


@dataclass(frozen=True)
class ReplayLine:
    """Where one target lands: object key, line number and the replay id derived from them."""

    target: ReplayTarget
    object_key: str
    line_number: int

    @property
    def replay_id(self) -> str:
        """Deterministic id of this replay (object key and line)."""
        return hashlib.sha256(f"{self.object_key}#{self.line_number}".encode()).hexdigest()[:32]


@dataclass(frozen=True)
class ReplayObject:
    """One write-once landing object holding replayed lines of one type and arrival time."""

    key: str
    content: bytes
    lines: tuple[ReplayLine, ...]


def may_change_event_id(failed_rules: Sequence[str]) -> bool:
    """Whether the original event_id was itself broken, so a correction may replace it."""
    return any(rule.startswith(EVENT_ID_RULES) for rule in failed_rules)


def plan_replay_objects(targets: Sequence[ReplayTarget]) -> list[ReplayObject]:
    """Group targets per (event type, original received_at) into content-addressed objects."""
    groups: dict[tuple[EventType, str], list[ReplayTarget]] = defaultdict(list)
    for target in targets:
        if b"\n" in target.line or b"\r" in target.line:
            raise ValueError(f"replay line of {target.quarantine_id} spans several lines")
        received_at = parse_event_key(target.source_object_key).received_at
        groups[(target.event_type, received_at.isoformat())].append(target)
    objects: list[ReplayObject] = []
    for (event_type, _), members in sorted(groups.items()):
        members = sorted(members, key=lambda t: t.quarantine_id)
        digest = hashlib.sha256()
        for member in members:
            digest.update(member.quarantine_id.encode() + b"\0" + member.line + b"\n")
        received_at = parse_event_key(members[0].source_object_key).received_at
        key = event_key(event_type, received_at, "replay", digest.hexdigest()[:32])
        lines = tuple(ReplayLine(m, key, n) for n, m in enumerate(members, start=1))
        objects.append(ReplayObject(key, b"\n".join(m.line for m in members) + b"\n", lines))
    return objects


def filter_open_quarantine(quarantine_df: DataFrame, replays_df: DataFrame) -> DataFrame:
    """Quarantined rows never replayed (a replayed row is resolved by its replay's outcome)."""
    return quarantine_df.join(
        replays_df.select("quarantine_id").distinct(), "quarantine_id", "left_anti"
    )


def with_replay_outcome(
    replays_df: DataFrame,
    accepted_df: DataFrame,
    requarantined_df: DataFrame,
    processed_df: DataFrame,
) -> DataFrame:
    """Set `outcome`, `outcome_quarantine_id` and `outcome_rules` from the replay line's lineage.

    `accepted_df` and `processed_df` hold (source_object_key, line_number) of Silver rows and of
    Bronze rows Silver has processed; `requarantined_df` adds quarantine_id and failed_rules.
    """
    on = ["source_object_key", "line_number"]
    lineage = replays_df.withColumnRenamed("landing_object_key", "source_object_key").drop(
        "outcome", "outcome_quarantine_id", "outcome_rules"
    )
    accepted = accepted_df.select(*on).distinct().withColumn("_accepted", F.lit(True))
    requarantined = requarantined_df.select(
        *on,
        F.col("quarantine_id").alias("outcome_quarantine_id"),
        F.col("failed_rules").alias("outcome_rules"),
    ).dropDuplicates(on)
    processed = processed_df.select(*on).distinct().withColumn("_processed", F.lit(True))
    outcome = (
        F.when(F.col("_accepted"), F.lit("accepted"))
        .when(F.col("outcome_quarantine_id").isNotNull(), F.lit("quarantined_again"))
        .when(F.col("_processed"), F.lit("duplicate"))
        .otherwise(F.lit("pending"))
    )
    return (
        lineage.join(accepted, on, "left")
        .join(requarantined, on, "left")
        .join(processed, on, "left")
        .withColumn("outcome", outcome)
        .withColumnRenamed("source_object_key", "landing_object_key")
        .drop("_accepted", "_processed")
    )
