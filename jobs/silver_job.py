"""Silver job: Bronze -> typed, validated, deduplicated Silver tables plus quarantine and DQ.

Per run: reference data is refreshed (when new reference files landed), Bronze batches not yet
processed are read, and each event type goes through `silver.events.to_typed_events` and
`with_classification`. Every Bronze row ends in exactly one bucket (valid, quarantined,
duplicate, already processed) and the identity is asserted. Valid rows are appended only
when dedup has checked them against the committed Silver table, so a rerun after a crash
classifies its own earlier rows as `already_processed`; the processed-batches mark is written
last. Table gates (`silver.dq`) run on the counts; critical failures raise after every result
is written.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import logging
import sys
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from functools import reduce
from typing import Any

import pyarrow as pa
from pyspark.sql import DataFrame, Observation, SparkSession, Window
from pyspark.sql import functions as F

from bronze.contracts import EventType
from bronze.objectstore import ObjectStore, make_object_store
from bronze.reference_files import REFERENCE_FORMATS, reference_format
from conf.catalog import TableName
from conf.settings import Settings, get_settings
from jobs.alerts import alert_from_failures, send_alert
from jobs.dq_gx import run_gx
from jobs.driver import add_no_driver_flag, delegate_job
from jobs.exit_codes import EXIT_DQ_CRITICAL
from jobs.lake import Lake
from jobs.lake_reader import open_table
from jobs.observability import RunRecord, configure_logging, pipeline_run
from jobs.spark import execution_for, get_spark
from silver.dq import (
    DQCriticalFailure,
    DQResult,
    GateLimits,
    freshness_check,
    quarantine_ratio_check,
    schema_drift_checks,
    unknown_fields_check,
    volume_checks,
)
from silver.events import (
    EXISTING_KEY_COLUMNS,
    SILVER_TYPES,
    Lateness,
    outcome_metrics,
    to_affected_dates,
    to_flagged_counts,
    to_silver_rows,
    to_typed_events,
    with_classification,
)
from silver.quarantine import to_quarantine_rows, with_conflict_rules, with_malformed_rules
from silver.reference import to_fx_daily, to_fx_rates, to_plans
from silver.rules import rules_for
from silver.types import References, SilverEventType

log = logging.getLogger("finlake.silver")
TRAILING_RUNS = 7
# A batch of at most this many Bronze rows runs with interpreted expressions (a daily
# increment is a few thousand; see `jobs.spark.execution_for`).
SMALL_RUN_ROWS = 100_000
# Event types processed one after another on one thread; on a small batch the chains run
# concurrently (`process_types`).
TYPE_CHAINS: tuple[tuple[EventType, ...], ...] = (
    ("subscription", "payment"),
    ("usage",),
    ("operational_cost",),
)
_GX_LOCK = threading.Lock()


@dataclass
class TypeCounts:
    """Row accounting of one event type in one run."""

    rows_in: int = 0
    valid: int = 0
    quarantined: int = 0
    duplicates: int = 0
    already_processed: int = 0
    conflicts: int = 0
    late: int = 0
    rule_failures: dict[str, int] = field(default_factory=dict)
    warn_failures: dict[str, int] = field(default_factory=dict)
    unknown_fields: list[str] = field(default_factory=list)

    @classmethod
    def from_observed(cls, metrics: dict[str, Any], named: Sequence[Any]) -> TypeCounts:
        """Counts from `silver.events.outcome_metrics` and the rows of `to_flagged_counts`."""
        out = cls()
        for row in named:
            kind, name, count = row["kind"], row["name"], int(row["rows"])
            if kind == "quarantine_rule":
                out.rule_failures[name] = count
            elif kind == "warn_rule":
                out.warn_failures[name] = count
            elif kind == "unknown_field":
                out.unknown_fields.append(name)
        out.rows_in = int(metrics["rows"])
        out.valid = int(metrics["valid"])
        out.duplicates = int(metrics["duplicate"])
        out.already_processed = int(metrics["already_processed"])
        out.conflicts = int(metrics["conflicting_duplicate"])
        out.quarantined = int(metrics["quarantined"]) + out.conflicts
        out.late = int(metrics["late"])
        if out.conflicts:
            out.rule_failures["conflicting_duplicate"] = out.conflicts
        return out

    def check_identity(self, event_type: str) -> None:
        """Rows in = valid + quarantined + duplicates + already processed, or raise."""
        out = self.valid + self.quarantined + self.duplicates + self.already_processed
        if out != self.rows_in:
            raise AssertionError(f"silver {event_type}: {self.rows_in} rows in but {out} out")

    def summary(self) -> dict[str, Any]:
        """JSON-friendly counts for the run metrics."""
        keys = ("rows_in", "valid", "quarantined", "duplicates", "already_processed")
        return {k: getattr(self, k) for k in (*keys, "conflicts", "late")} | {
            "rule_failures": self.rule_failures
        }


@dataclass(frozen=True)
class Arrival:
    """Rows of one event type in one Bronze batch and their latest arrival."""

    batch_id: str
    event_type: str
    max_received_at: dt.datetime
    rows: int


@dataclass
class Batch:
    """The Bronze rows of this run and their bookkeeping."""

    rows_df: DataFrame
    arrivals: list[Arrival]
    rebuild: bool

    @property
    def is_empty(self) -> bool:
        """No Bronze row to process."""
        return not self.arrivals

    @property
    def rows(self) -> int:
        """Bronze rows in the batch."""
        return sum(a.rows for a in self.arrivals)


@dataclass
class RunOutputs:
    """What the per-type steps produce for the run's final writes."""

    results: list[DQResult] = field(default_factory=list)
    quarantine: list[DataFrame] = field(default_factory=list)
    affected: list[DataFrame] = field(default_factory=list)
    counts: dict[str, TypeCounts] = field(default_factory=dict)
    cached: list[DataFrame] = field(default_factory=list)


def gate_limits(settings: Settings) -> GateLimits:
    """Silver's table-gate thresholds from the settings."""
    return GateLimits(
        max_quarantine_ratio=settings.max_quarantine_ratio,
        min_rows=settings.quarantine_gate_min_rows,
        horizon_days=settings.restatement_horizon_days,
        fx_max_staleness_days=settings.fx_max_staleness_days,
        freshness_max_hours=settings.freshness_max_hours,
        volume_anomaly_factor=settings.volume_anomaly_factor,
    )


# ------------------------------------------------------------------------- reference data
def refresh_reference(lake: Lake, store: ObjectStore, run_id: str) -> DataFrame | None:
    """Rebuild silver.plans / silver.fx_rates when the landed reference files changed.

    Returns the FX dates whose rates changed (as affected dates for Gold), or None.
    """
    affected = None
    for name, transform in (("plans", to_plans), ("fx_rates", to_fx_rates)):
        target: TableName = "silver.plans" if name == "plans" else "silver.fx_rates"
        keys = sorted(k for k in store.list(f"reference/{name}/") if reference_format(k))
        if not keys:
            log.warning("no reference data landed", extra={"reference": name})
            continue
        fingerprint = hashlib.sha256("\n".join(keys).encode()).hexdigest()
        if lake.last_commit_metadata(target) == fingerprint:
            continue
        new_df = _read_reference(lake, store, keys).transform(transform)
        new_df = new_df.localCheckpoint(eager=True)
        if name == "fx_rates":
            affected = _changed_rate_dates(lake.read_or_empty(target), new_df)
            affected = affected.localCheckpoint(eager=True)
        lake.replace(target, new_df, metadata=fingerprint)
        log.info("reference data refreshed", extra={"reference": name, "files": len(keys)})
    return affected


def _read_reference(lake: Lake, store: ObjectStore, keys: Sequence[str]) -> DataFrame:
    """Every landed reference file as string columns plus `_object` (its key, for ordering)."""
    frames = []
    for fmt in REFERENCE_FORMATS:
        uris = [store.uri(k) for k in keys if reference_format(k) == fmt]
        if not uris:
            continue
        reader = lake.spark.read
        if fmt == "csv":
            raw_df = reader.option("header", "true").csv(uris)
        elif fmt == "jsonl":
            raw_df = reader.option("primitivesAsString", "true").json(uris)
        else:
            raw_df = reader.parquet(*uris)
        key = F.regexp_extract(F.col("_metadata.file_path"), r"(reference/.*)$", 1)
        frames.append(
            raw_df.select(
                *[F.col(c).cast("string").alias(c) for c in raw_df.columns],
                key.alias("_object"),
            )
        )
    result = frames[0]
    for frame in frames[1:]:
        result = result.unionByName(frame, allowMissingColumns=True)
    return result


def _changed_rate_dates(old_df: DataFrame, new_df: DataFrame) -> DataFrame:
    columns = ("rate_date", "currency", "rate_to_usd")
    old, new = old_df.select(*columns), new_df.select(*columns)
    changed = new.exceptAll(old).unionByName(old.exceptAll(new))
    return (
        changed.groupBy(F.col("rate_date").alias("business_date"))
        .agg(F.count("*").alias("rows"), F.lit(0).cast("long").alias("late_rows"))
        .withColumn("event_type", F.lit("fx_rates"))
    )


def references(lake: Lake, settings: Settings) -> References:
    """Reference frames of this run (customers are refreshed after subscriptions are appended).

    The FX table is dense from each currency's first rate to a year past today, so scheduled
    changes and late feeds resolve without re-reading it per type.
    """
    end_date = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=366)
    payments = lake.read_or_empty("silver.payment")
    return References(
        plans_df=lake.read_or_empty("silver.plans").select("plan_id").cache(),
        fx_daily_df=to_fx_daily(lake.read_or_empty("silver.fx_rates"), end_date).cache(),
        customers_df=_customers(lake),
        paid_df=payments.filter(F.col("status") == "succeeded").select("invoice_id", "currency"),
        fx_max_staleness_days=settings.fx_max_staleness_days,
    )


def _customers(lake: Lake) -> DataFrame:
    return lake.read_or_empty("silver.subscription").select("customer_id").distinct()


# ------------------------------------------------------------------------------ the batch
def read_batch(lake: Lake, bronze_version: int | None, rebuild: bool) -> Batch:
    """Bronze rows not yet processed (all of Bronze, as of a version, when rebuilding)."""
    bronze_df = lake.read("bronze.events", bronze_version)
    expected_rows = None
    if not rebuild and lake.exists("ops.silver_batches"):
        done = {r["batch_id"] for r in lake.small_table_rows("ops.silver_batches", ["batch_id"])}
        pending = _pending_from_log(lake, bronze_version, done)
        if pending is None:  # no usable file statistics: find the pending batches in the data
            pending = [
                (r["batch_id"], r["received_date"], None)
                for r in bronze_df.select("batch_id", "received_date").distinct().collect()
                if r["batch_id"] not in done
            ]
        else:
            expected_rows = sum(n or 0 for _, _, n in pending)
        dates = sorted({d for _, d, _ in pending})
        ids = sorted({b for b, _, _ in pending})
        # only the pending batches' arrival-date partitions are read
        bronze_df = bronze_df.filter(
            F.col("received_date").isin(dates) & F.col("batch_id").isin(ids)
            if pending
            else F.lit(False)
        )
    rows_df = bronze_df.cache()
    arrivals = [
        Arrival(r["batch_id"], r["event_type"], r["max_received_at"].replace(tzinfo=dt.UTC), r["n"])
        for r in rows_df.groupBy("batch_id", "event_type")
        .agg(F.max("received_at").alias("max_received_at"), F.count("*").alias("n"))
        .collect()
    ]
    read_rows = sum(a.rows for a in arrivals)
    if expected_rows is not None and read_rows != expected_rows:
        raise AssertionError(
            f"silver read {read_rows} rows of pending Bronze batches; the Delta log lists "
            f"{expected_rows}"
        )
    return Batch(rows_df, arrivals, rebuild)


def _pending_from_log(
    lake: Lake, version: int | None, done: set[str]
) -> list[tuple[str, dt.date, int | None]] | None:
    """(batch_id, received_date, rows) of every Bronze file of a batch not in `done`, from the
    Delta log's file statistics alone (milliseconds, where reading one column of every Bronze
    file took seconds); None when a file's statistics do not name exactly one batch.

    Bronze writes one batch id per commit, so each file's min and max `batch_id` are equal; a
    truncated statistic (values over 32 characters) has min != max and falls back to the data.
    """
    columns = ("min.batch_id", "max.batch_id", "partition.received_date", "num_records")
    try:
        table_ = open_table(lake.settings, lake.path("bronze.events"), version)
        if table_ is None:
            return None
        actions = pa.table(table_.get_add_actions(flatten=True)).select(list(columns))
    except Exception:  # a log delta-rs cannot read: the data answers instead
        log.warning("bronze file statistics unreadable; scanning batch ids", exc_info=True)
        return None
    pending: dict[tuple[str, dt.date], int] = {}
    for low, high, day, rows in zip(*(actions.column(c).to_pylist() for c in columns), strict=True):
        if low is None or low != high or day is None or rows is None:
            return None
        if low not in done:
            pending[(low, day)] = pending.get((low, day), 0) + int(rows)
    return [(b, d, n) for (b, d), n in sorted(pending.items())]


def process_malformed(batch: Batch, run_id: str, out: RunOutputs) -> int:
    """Quarantine Bronze lines that are not UTF-8 JSON objects."""
    malformed_df = batch.rows_df.filter("is_parse_error").transform(with_malformed_rules)
    count = malformed_df.count()
    if count:
        out.quarantine.append(to_quarantine_rows(malformed_df, "_rules", run_id))
    out.results.append(
        DQResult(
            "bronze.events",
            "row_rule",
            "malformed",
            "quarantine",
            "failed" if count else "passed",
            None,
            count,
        )
    )
    return count


def process_type(
    lake: Lake,
    spec: SilverEventType,
    batch: Batch,
    refs: References,
    run: RunRecord,
    out: RunOutputs,
) -> TypeCounts:
    """Classify one type's rows, append the valid ones, collect quarantine and DQ rows."""
    settings, event_type = lake.settings, spec.event_type
    target: TableName = f"silver.{event_type}"  # type: ignore[assignment]
    rows_df = batch.rows_df.filter(~F.col("is_parse_error") & (F.col("event_type") == event_type))
    lateness = Lateness(
        settings.allowed_lateness_days,
        settings.restatement_horizon_days,
        settings.future_tolerance_minutes,
    )
    existing_df = (
        lake.read(target).select(*EXISTING_KEY_COLUMNS)
        if not batch.rebuild and lake.exists(target)
        else None
    )
    typed_df = to_typed_events(rows_df, spec, refs, lateness)
    if existing_df is not None:
        # computed once: classifying against Silver reads the typed rows three times (the
        # candidates' ids, the candidates, the rule failures); over the parse's lineage that
        # cost 114 s instead of 21 s on the 2-year lake's 750k usage rows, when the payload
        # was still parsed once per field (docs/benchmarks.md, issue 18, third and sixth
        # steps). Without Silver rows (a first build, a rebuild) they are read once.
        typed_df = typed_df.localCheckpoint(eager=True)
    # the outcome counts are taken while the rows are computed; rule and field names, only
    # when some row has one (`outcome_metrics`)
    observed = Observation(f"silver-{event_type}-{uuid.uuid4().hex}")
    classified_df = (
        with_classification(typed_df, existing_df, is_few=batch.rows <= SMALL_RUN_ROWS)
        .observe(observed, *outcome_metrics())
        .localCheckpoint(eager=True)
    )
    out.cached.append(classified_df)  # the typed rows are not referenced past this point
    metrics = observed.get
    named = to_flagged_counts(classified_df).collect() if metrics["flagged"] else []
    counts = TypeCounts.from_observed(metrics, named)
    counts.check_identity(event_type)
    valid_df = classified_df.filter(F.col("dedup_outcome") == "valid")
    rows = to_silver_rows(valid_df, spec, run.run_id)
    # the key needs no check of its own: every valid row passed `not_null:event_id`, and
    # dedup keeps one valid row per event_id (`silver.dedup`); grouping 3.1M usage ids to
    # confirm it took 7.2 s of a 3.3M-event first build (docs/benchmarks.md, issue 18)
    if batch.rebuild:
        lake.replace(target, rows, key_checked=True)
    elif counts.valid or not lake.exists(target):
        lake.append(target, rows, key_checked=True)
    failed_df = classified_df.filter(F.col("dedup_outcome") == "quarantined")
    conflict_df = classified_df.filter(F.col("dedup_outcome") == "conflicting_duplicate")
    out.quarantine.append(to_quarantine_rows(failed_df, "quarantine_rules", run.run_id))
    out.quarantine.append(
        to_quarantine_rows(conflict_df.transform(with_conflict_rules), "_rules", run.run_id)
    )
    accepted_df = classified_df.filter(F.col("dedup_outcome").isin("valid", "already_processed"))
    out.affected.append(to_affected_dates(accepted_df, event_type))
    out.results.extend(_rule_results(event_type, counts))
    if counts.valid:
        with _GX_LOCK:  # one GX context per process; types validate one at a time
            out.results.extend(run_gx(valid_df, event_type, settings, run.run_id, counts.valid))
    return counts


def process_types(
    lake: Lake, batch: Batch, refs: References | None, run: RunRecord, *, concurrent: bool
) -> list[tuple[SilverEventType, TypeCounts, RunOutputs]]:
    """Every event type's counts and outputs, in `SILVER_TYPES` order.

    `concurrent`: independent types run on their own threads. A daily batch has a few
    thousand rows per type, so each type's time is mostly fixed per-job cost, and that
    overlaps on two cores. A large batch runs them one at a time: at 3.3M events, concurrent
    CPU-bound types made Silver's first build slower (issue 18). Payment always follows
    subscription, because it checks customers against the subscriptions this run appended.
    Each type's wall seconds go to the run's `phase_seconds`.
    """
    by_name = {spec.event_type: spec for spec in SILVER_TYPES}
    chains = [[by_name[name] for name in chain] for chain in TYPE_CHAINS]

    def run_chain(
        chain: list[SilverEventType],
    ) -> list[tuple[SilverEventType, TypeCounts, RunOutputs]]:
        done = []
        chain_refs = refs
        for spec in chain:
            started, counts, type_out = time.perf_counter(), TypeCounts(), RunOutputs()
            if chain_refs is not None:
                if spec.event_type == "payment":  # customers of this run's subscriptions too
                    chain_refs = replace(chain_refs, customers_df=_customers(lake))
                counts = process_type(lake, spec, batch, chain_refs, run, type_out)
            run.add_phase_seconds(spec.event_type, time.perf_counter() - started)
            done.append((spec, counts, type_out))
        return done

    with ThreadPoolExecutor(max_workers=len(chains) if concurrent else 1) as pool:
        finished = [item for chain_done in pool.map(run_chain, chains) for item in chain_done]
    order = {spec.event_type: i for i, spec in enumerate(SILVER_TYPES)}
    return sorted(finished, key=lambda item: order[item[0].event_type])


def _rule_results(event_type: str, counts: TypeCounts) -> list[DQResult]:
    declared = rules_for(event_type)
    results = []
    for rule in declared:
        failed = counts.rule_failures.get(rule.name, counts.warn_failures.get(rule.name, 0))
        results.append(
            DQResult(
                event_type,
                "row_rule",
                rule.name,
                rule.spec.severity,
                "failed" if failed else "passed",
                counts.rows_in,
                failed,
            )
        )
    for name in sorted(set(counts.rule_failures) - {r.name for r in declared}):
        results.append(
            DQResult(
                event_type,
                "row_rule",
                name,
                "quarantine",
                "failed",
                counts.rows_in,
                counts.rule_failures[name],
            )
        )
    return results


# ---------------------------------------------------------------------------- table gates
def table_gates(
    lake: Lake,
    spec: SilverEventType,
    counts: TypeCounts,
    batch: Batch,
    as_of: dt.datetime,
    history: tuple[dict[str, float], dict[str, dt.datetime]],
) -> list[DQResult]:
    """Quarantine ratio, schema drift, freshness, volume and unknown-field checks of a type."""
    limits = gate_limits(lake.settings)
    table = spec.event_type
    trailing, arrivals = history
    results = []
    if counts.rows_in:
        results = [
            quarantine_ratio_check(
                table, counts.rows_in, counts.quarantined, counts.rule_failures, limits
            ),
            *schema_drift_checks(table, counts.rows_in, counts.rule_failures),
            *volume_checks(table, counts.rows_in, trailing.get(table), limits),
            unknown_fields_check(table, sorted(counts.unknown_fields)),
        ]
    if not batch.rebuild:
        freshness = freshness_check(table, arrivals.get(table), as_of, limits)
        if freshness is not None:
            results.append(freshness)
    return results


def latest_arrivals(lake: Lake, batch: Batch) -> dict[str, dt.datetime]:
    """Latest `received_at` per event type: this batch and every batch processed before."""
    latest: dict[str, dt.datetime] = {}
    for arrival in batch.arrivals:
        current = latest.get(arrival.event_type)
        if current is None or arrival.max_received_at > current:
            latest[arrival.event_type] = arrival.max_received_at
    for row in lake.small_table_rows("ops.silver_batches", ["event_type", "max_received_at"]):
        if row["max_received_at"] is not None:
            seen = row["max_received_at"].replace(tzinfo=dt.UTC)
            latest[row["event_type"]] = max(seen, latest.get(row["event_type"], seen))
    return latest


def _trailing_volumes(lake: Lake) -> dict[str, float]:
    if not lake.exists("ops.dq_results"):
        return {}
    recent = (
        lake.read("ops.dq_results")
        .filter(F.col("rule_name") == "volume")
        .withColumn(
            "_rank",
            F.row_number().over(
                Window.partitionBy("table_name").orderBy(F.col("checked_at").desc())
            ),
        )
        .filter(F.col("_rank") <= TRAILING_RUNS)
        .groupBy("table_name")
        .agg(F.avg("rows_checked").alias("mean"))
        .collect()
    )
    return {r["table_name"]: float(r["mean"]) for r in recent if r["mean"]}


# ------------------------------------------------------------------------------ the run
def _computed(df: DataFrame) -> DataFrame:
    """`df` computed now, its lineage cut (an output read by both its key check and its write)."""
    return df.localCheckpoint(eager=True)


def write_outputs(lake: Lake, batch: Batch, run_id: str, out: RunOutputs) -> None:
    """Quarantine, affected dates and DQ results (concurrently), then the batch marks (last)."""
    spark = lake.spark
    writes: list[Callable[[], None]] = []
    # each frame is computed once, on its writer's thread (`_computed`): its key check and its
    # write both read it, and on a first build its lineage scans every classified row
    # (affected dates: 8.8 s per pass at 3.3M events; docs/benchmarks.md, issue 18)
    if out.quarantine:
        quarantine_df = reduce(DataFrame.unionByName, out.quarantine)
        if batch.rebuild:
            writes.append(lambda: lake.replace("silver.quarantine", _computed(quarantine_df)))
        else:
            writes.append(lambda: lake.merge_insert("silver.quarantine", _computed(quarantine_df)))
    if out.affected:
        affected_df = (
            reduce(DataFrame.unionByName, out.affected)
            .withColumn("run_id", F.lit(run_id))
            .withColumn("recorded_at", F.current_timestamp())
        )
        writes.append(lambda: lake.append("ops.affected_dates", _computed(affected_df)))
    results = [r.as_row(run_id) for r in out.results]
    writes.append(lambda: lake.append_rows("ops.dq_results", results))
    with ThreadPoolExecutor(max_workers=len(writes)) as pool:  # three Delta logs, no order
        for future in [pool.submit(write) for write in writes]:
            future.result()
    if batch.arrivals and not batch.rebuild:  # a few rows: committed by delta-rs
        processed_at = dt.datetime.now(dt.UTC)
        lake.merge_insert_rows(
            "ops.silver_batches",
            [
                (a.batch_id, a.event_type, run_id, processed_at, a.max_received_at)
                for a in batch.arrivals
            ],
        )
    elif batch.arrivals:
        marks_df = spark.createDataFrame(
            [
                (a.batch_id, a.event_type, a.max_received_at.replace(tzinfo=None))
                for a in batch.arrivals
            ],
            "batch_id string, event_type string, max_received_at timestamp",
        ).select(
            "batch_id",
            "event_type",
            F.lit(run_id).alias("silver_run_id"),
            F.current_timestamp().alias("processed_at"),
            "max_received_at",
        )
        lake.replace("ops.silver_batches", marks_df)


def run_silver(
    spark: SparkSession,
    settings: Settings,
    *,
    bronze_version: int | None = None,
    rebuild: bool = False,
    as_of: dt.datetime | None = None,
    store: ObjectStore | None = None,
    raise_on_critical: bool = True,
) -> dict[str, Any]:
    """Process unprocessed Bronze batches (or all of Bronze when `rebuild`)."""
    store = store or make_object_store(settings)
    lake = Lake(spark, settings)
    as_of = as_of or dt.datetime.now(dt.UTC)
    params = {"bronze_version": bronze_version, "rebuild": rebuild}
    with pipeline_run(spark, settings, "silver", params) as run:
        run.phase("reference data")
        fx_affected = refresh_reference(lake, store, run.run_id)
        run.phase("read bronze")
        batch = read_batch(lake, bronze_version, rebuild)
        out = RunOutputs(affected=[fx_affected] if fx_affected is not None else [])
        is_small = batch.rows <= SMALL_RUN_ROWS
        with execution_for(spark, is_small=is_small, rows=batch.rows):
            malformed = process_malformed(batch, run.run_id, out) if not batch.is_empty else 0
            history = (_trailing_volumes(lake), latest_arrivals(lake, batch))
            refs = None if batch.is_empty else references(lake, settings)
            run.phase("event types")
            for spec, counts, type_out in process_types(
                lake, batch, refs, run, concurrent=is_small
            ):
                out.counts[spec.event_type] = counts
                out.results.extend(type_out.results)
                out.quarantine.extend(type_out.quarantine)
                out.affected.extend(type_out.affected)
                out.cached.extend(type_out.cached)
                out.results.extend(table_gates(lake, spec, counts, batch, as_of, history))
            run.phase("write results")
            write_outputs(lake, batch, run.run_id, out)
        for frame in [batch.rows_df, *out.cached]:
            frame.unpersist()
        return _finish(run, settings, batch, out, malformed, raise_on_critical)


def _finish(
    run: RunRecord,
    settings: Settings,
    batch: Batch,
    out: RunOutputs,
    malformed: int,
    raise_on_critical: bool,
) -> dict[str, Any]:
    rows_in = sum(c.rows_in for c in out.counts.values())
    summary: dict[str, Any] = {t: c.summary() for t, c in out.counts.items()}
    summary["malformed"] = malformed
    summary["bronze_batches"] = len({a.batch_id for a in batch.arrivals})
    if rows_in + malformed != batch.rows:
        raise AssertionError(
            f"silver read {batch.rows} bronze rows but accounted {rows_in + malformed}"
        )
    critical = [r for r in out.results if r.is_critical_failure]
    summary["critical_failures"] = [r.describe() for r in critical]
    run.rows_in = rows_in + malformed
    run.rows_out = sum(c.valid for c in out.counts.values())
    run.metrics = json.loads(json.dumps(summary, default=str))
    if critical:
        send_alert(
            settings, alert_from_failures(critical, run.run_id, settings.lake_root + "/_dq/gx")
        )
        if raise_on_critical:
            raise DQCriticalFailure(critical)
    return summary


def end_of_day(day: dt.date) -> dt.datetime:
    """The end of `day` in UTC: the instant freshness is judged at for a run of that day."""
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)


def main(argv: Sequence[str] | None = None) -> int:
    """spark-submit entry point: `jobs/silver_job.py [--until D] [--bronze-version N]`."""
    configure_logging()
    parser = argparse.ArgumentParser(description="bronze.events -> silver")
    parser.add_argument("--bronze-version", type=int, default=None)
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument(
        "--until",
        type=dt.date.fromisoformat,
        default=None,
        help="judge freshness at the end of this day (a run for a past date, e.g. a backfill)",
    )
    add_no_driver_flag(parser)
    args = parser.parse_args(argv)

    if not args.no_driver and (code := delegate_job("jobs.silver_job", argv)) is not None:
        return code
    settings = get_settings()
    spark = get_spark(settings, "finlake-silver")
    try:
        result = run_silver(
            spark,
            settings,
            bronze_version=args.bronze_version,
            rebuild=args.rebuild,
            as_of=end_of_day(args.until) if args.until else None,
        )
    except DQCriticalFailure as exc:
        log.error(str(exc))
        return EXIT_DQ_CRITICAL
    print(json.dumps(result, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
