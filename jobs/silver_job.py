"""Silver job: Bronze -> typed, validated, deduplicated Silver tables plus quarantine and DQ.

Per run: reference data is refreshed, Bronze batches not yet processed are read, and each event
type goes parse -> type casts -> lateness -> reference lookups -> row rules -> dedup. Every
Bronze row ends in exactly one bucket (valid, quarantined, duplicate, already processed) and
the identity is asserted. Writes are idempotent (insert-only MERGEs keyed by event_id and by
Bronze lineage), and the processed-batches mark is written last, so a rerun after a crash
yields the same tables. Critical DQ failures are raised after results are written.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from delta.tables import DeltaTable
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from bronze.objectstore import ObjectStore, make_object_store
from conf.settings import Settings, get_settings
from jobs import delta_io
from jobs.bronze_job import bronze_path
from jobs.exit_codes import EXIT_DQ_CRITICAL
from jobs.observability import configure_logging, pipeline_run
from jobs.spark import get_spark
from silver import operational_cost, payment, subscription, usage
from silver.dedup import with_dedup_outcome
from silver.dq import DQ_RESULTS_SCHEMA, DQCriticalFailure, DQResult
from silver.parse import with_event_dates, with_lateness, with_parsed_payload, with_typed_fields
from silver.reference import to_fx_rates, to_plans
from silver.rules import rules_for, with_rule_results

log = logging.getLogger("finlake.silver")

EVENT_MODULES: tuple[ModuleType, ...] = (subscription, payment, usage, operational_cost)
MIN_ROWS_FOR_RATIO = 50
QUARANTINE_COLUMNS = (
    "quarantine_id",
    "event_type",
    "event_id",
    "failed_rules",
    "reason",
    "payload",
    "payload_hash",
    "source",
    "source_object_key",
    "line_number",
    "received_at",
    "received_date",
    "batch_id",
    "silver_run_id",
    "quarantined_at",
)
SILVER_LINEAGE = (
    "event_date",
    "is_late",
    "warn_rules",
    "payload_hash",
    "source",
    "source_object_key",
    "line_number",
    "received_at",
    "received_date",
    "batch_id",
    "silver_run_id",
    "processed_at",
)
EXTRA_COLUMNS: dict[str, tuple[str, ...]] = {
    "subscription": ("rate_to_usd",),
    "payment": ("rate_to_usd", "amount_usd"),
    "usage": (),
    "operational_cost": ("rate_to_usd", "amount_usd"),
}


@dataclass
class TypeCounts:
    """Row accounting of one event type in one run."""

    rows_in: int = 0
    valid: int = 0
    quarantined: int = 0
    duplicates: int = 0
    already_processed: int = 0
    late: int = 0
    rule_failures: dict[str, int] = field(default_factory=dict)

    def check_identity(self, event_type: str) -> None:
        """Rows in = valid + quarantined + duplicates + already processed, or raise."""
        out = self.valid + self.quarantined + self.duplicates + self.already_processed
        if out != self.rows_in:
            raise AssertionError(f"silver {event_type}: {self.rows_in} rows in but {out} out")


def silver_path(settings: Settings, table: str) -> str:
    """Location of a Silver table."""
    return settings.table_path("silver", table)


# ------------------------------------------------------------------------- reference data
def refresh_reference(spark: SparkSession, settings: Settings, store: ObjectStore) -> None:
    """Rebuild silver.plans and silver.fx_rates from every landed reference file."""
    for name, transform, table in (
        ("plans", to_plans, "plans"),
        ("fx_rates", to_fx_rates, "fx_rates"),
    ):
        keys = [k for k in store.list(f"reference/{name}/") if k.endswith(".csv")]
        if not keys:
            log.warning("no reference data landed", extra={"reference": name})
            continue
        raw_df = (
            spark.read.option("header", "true")
            .csv([store.uri(k) for k in keys])
            .withColumn("_object", F.col("_metadata.file_path"))
        )
        delta_io.overwrite(raw_df.transform(transform), silver_path(settings, table))


def _reference(spark: SparkSession, settings: Settings, table: str, schema: str) -> DataFrame:
    path = silver_path(settings, table)
    if delta_io.table_exists(spark, path):
        return delta_io.read_delta(spark, path)
    return spark.createDataFrame([], schema)


# ------------------------------------------------------------------------------ the run
def _unprocessed_bronze(
    spark: SparkSession, settings: Settings, bronze_version: int | None, rebuild: bool
) -> DataFrame:
    bronze_df = delta_io.read_delta(spark, bronze_path(settings), bronze_version)
    batches_path = settings.table_path("ops", "silver_batches")
    if rebuild or not delta_io.table_exists(spark, batches_path):
        return bronze_df
    done = delta_io.read_delta(spark, batches_path).select("batch_id").distinct()
    return bronze_df.join(F.broadcast(done), "batch_id", "left_anti")


def _quarantine_rows(df: DataFrame, rules_col: str, run_id: str) -> DataFrame:
    return (
        df.withColumn(
            "quarantine_id",
            F.sha2(F.concat_ws("#", "source_object_key", F.col("line_number").cast("string")), 256),
        )
        .withColumn("failed_rules", F.col(rules_col))
        .withColumn("reason", F.element_at(F.col(rules_col), 1))
        .withColumn("silver_run_id", F.lit(run_id))
        .withColumn("quarantined_at", F.current_timestamp())
        .select(*QUARANTINE_COLUMNS)
    )


def _existing_keys(spark: SparkSession, path: str, rebuild: bool) -> DataFrame:
    if not rebuild and delta_io.table_exists(spark, path):
        return delta_io.read_delta(spark, path).select(
            "event_id", "payload_hash", "source_object_key", "line_number"
        )
    schema = "event_id string, payload_hash string, source_object_key string, line_number long"
    return spark.createDataFrame([], schema)


def _merge_insert(df: DataFrame, path: str, keys: Sequence[str], rebuild: bool) -> None:
    spark = df.sparkSession
    if rebuild or not delta_io.table_exists(spark, path):
        delta_io.overwrite(df, path)
        return
    condition = " AND ".join(f"t.{k} = s.{k}" for k in keys)
    (
        DeltaTable.forPath(spark, path)
        .alias("t")
        .merge(df.alias("s"), condition)
        .withSchemaEvolution()
        .whenNotMatchedInsertAll()
        .execute()
    )


def _typed_events(
    rows_df: DataFrame, module: ModuleType, settings: Settings, refs: dict[str, DataFrame]
) -> DataFrame:
    event_type: str = module.EVENT_TYPE
    df = (
        rows_df.transform(lambda d: with_parsed_payload(d, module.MODEL))
        .transform(lambda d: with_typed_fields(d, module.MODEL))
        .transform(with_event_dates)
        .transform(
            lambda d: with_lateness(
                d,
                settings.allowed_lateness_days,
                settings.restatement_horizon_days,
                settings.future_tolerance_minutes,
            )
        )
    )
    if event_type == "subscription":
        df = subscription.with_references(df, refs["plans"], refs["fx_rates"])
    elif event_type == "payment":
        df = payment.with_references(df, refs["customers"], refs["fx_rates"])
    elif event_type == "operational_cost":
        df = operational_cost.with_references(df, refs["fx_rates"])
    return df.transform(lambda d: with_rule_results(d, rules_for(event_type)))


def _finish_valid(valid_df: DataFrame, module: ModuleType, run_id: str) -> DataFrame:
    event_type: str = module.EVENT_TYPE
    if hasattr(module, "with_usd"):
        valid_df = valid_df.transform(module.with_usd)
    fields = list(module.MODEL.model_fields)
    return (
        valid_df.withColumn("silver_run_id", F.lit(run_id))
        .withColumn("processed_at", F.current_timestamp())
        .select(*fields, *EXTRA_COLUMNS[event_type], *SILVER_LINEAGE)
    )


def _table_checks(
    spark: SparkSession,
    settings: Settings,
    event_type: str,
    counts: TypeCounts,
    typed_df: DataFrame,
    as_of: dt.datetime,
) -> list[DQResult]:
    results: list[DQResult] = []
    ratio = counts.quarantined / counts.rows_in if counts.rows_in else 0.0
    enough = counts.rows_in >= MIN_ROWS_FOR_RATIO
    results.append(
        DQResult(
            event_type,
            "table_check",
            "quarantine_ratio",
            "critical",
            "failed" if enough and ratio > settings.max_quarantine_ratio else "passed",
            counts.rows_in,
            counts.quarantined,
            f"{ratio:.4f}",
            f"<= {settings.max_quarantine_ratio}",
        )
    )
    # schema drift: a required field missing on (almost) every row of a real batch
    for name, failed in counts.rule_failures.items():
        if name.startswith("not_null:") and counts.rows_in >= 20:
            share = failed / counts.rows_in
            if share >= 0.95:
                results.append(
                    DQResult(
                        event_type,
                        "table_check",
                        f"schema_drift:{name.split(':', 1)[1]}",
                        "critical",
                        "failed",
                        counts.rows_in,
                        failed,
                        f"{share:.4f}",
                        "< 0.95",
                        "required field missing from nearly every payload",
                    )
                )
    # freshness: newest accepted business time versus the run's as-of time
    path = silver_path(settings, event_type)
    newest = None
    if delta_io.table_exists(spark, path):
        newest = delta_io.read_delta(spark, path).agg(F.max("event_time")).first()[0]  # type: ignore[index]
    if newest is not None:
        lag_h = (as_of - newest.replace(tzinfo=dt.UTC)).total_seconds() / 3600
        results.append(
            DQResult(
                event_type,
                "table_check",
                "freshness",
                "critical",
                "failed" if lag_h > settings.freshness_max_hours else "passed",
                observed_value=f"{lag_h:.1f}h",
                threshold=f"<= {settings.freshness_max_hours}h",
            )
        )
    # volume anomaly versus the trailing runs of this table
    history_path = settings.table_path("ops", "dq_results")
    if delta_io.table_exists(spark, history_path) and counts.rows_in:
        trailing = (
            delta_io.read_delta(spark, history_path)
            .filter((F.col("table_name") == event_type) & (F.col("rule_name") == "volume"))
            .orderBy(F.col("checked_at").desc())
            .limit(7)
            .agg(F.avg("rows_checked"))
            .first()
        )
        mean = trailing[0] if trailing else None
        if mean:
            factor = counts.rows_in / float(mean)
            bad = (
                factor > settings.volume_anomaly_factor
                or factor < 1 / settings.volume_anomaly_factor
            )
            results.append(
                DQResult(
                    event_type,
                    "table_check",
                    "volume_anomaly",
                    "warn",
                    "failed" if bad else "passed",
                    counts.rows_in,
                    observed_value=f"{factor:.2f}x trailing mean",
                    threshold=f"within {settings.volume_anomaly_factor}x",
                )
            )
    results.append(DQResult(event_type, "table_check", "volume", "warn", "passed", counts.rows_in))
    # unknown payload fields (contract drift): warn with the names
    contract = set(typed_df.columns)
    unknown = (
        typed_df.select(F.explode(F.map_keys(F.from_json("payload", "map<string,string>"))))
        .distinct()
        .collect()
    )
    extra = sorted({r[0] for r in unknown} - contract)
    results.append(
        DQResult(
            event_type,
            "table_check",
            "schema_drift:unknown_fields",
            "warn",
            "failed" if extra else "passed",
            observed_value=",".join(extra) or None,
        )
    )
    del typed_df
    return results


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
    params = {"bronze_version": bronze_version, "rebuild": rebuild}
    with pipeline_run(spark, settings, "silver", params) as run:
        refresh_reference(spark, settings, store)
        refs = {
            "plans": _reference(spark, settings, "plans", "plan_id string"),
            "fx_rates": _reference(
                spark,
                settings,
                "fx_rates",
                "rate_date date, currency string, rate_to_usd decimal(18,8)",
            ),
        }
        new_df = _unprocessed_bronze(spark, settings, bronze_version, rebuild).cache()
        batch_ids = [r[0] for r in new_df.select("batch_id").distinct().collect()]
        if as_of is None:
            newest = new_df.agg(F.max("received_at")).first()
            as_of = (
                newest[0].replace(tzinfo=dt.UTC)
                if newest and newest[0]
                else dt.datetime.now(dt.UTC)
            )
        results: list[DQResult] = []
        quarantine_frames: list[DataFrame] = []
        cached: list[DataFrame] = []
        affected_frames: list[DataFrame] = []
        summary: dict[str, Any] = {}

        malformed = new_df.filter("is_parse_error").withColumn(
            "_rules", F.array(F.concat(F.lit("malformed:"), F.col("parse_error")))
        )
        malformed_count = malformed.count()
        bronze_rows = new_df.count()
        if malformed_count:
            quarantine_frames.append(_quarantine_rows(malformed, "_rules", run.run_id))
        results.append(
            DQResult(
                "bronze.events",
                "row_rule",
                "malformed",
                "quarantine",
                "failed" if malformed_count else "passed",
                bronze_rows,
                malformed_count,
            )
        )
        for module in EVENT_MODULES:
            event_type: str = module.EVENT_TYPE
            if event_type == "payment":
                refs["customers"] = _reference(
                    spark, settings, "subscription", "customer_id string"
                ).select("customer_id")
            rows_df = new_df.filter(~F.col("is_parse_error") & (F.col("event_type") == event_type))
            typed_df = _typed_events(rows_df, module, settings, refs).cache()
            counts = TypeCounts(rows_in=typed_df.count())
            path = silver_path(settings, event_type)
            failed_df = typed_df.filter(F.size("quarantine_rules") > 0)
            classified_df = (
                with_dedup_outcome(
                    typed_df.filter(F.size("quarantine_rules") == 0),
                    _existing_keys(spark, path, rebuild),
                )
                .unionByName(failed_df.withColumn("dedup_outcome", F.lit("quarantined")))
                # Materialise now: the plan reads the Silver table this run is about to merge
                # into, and a lazy re-evaluation after the merge would see its own rows.
                .localCheckpoint(eager=True)
            )
            outcome_counts: dict[str, int] = {}
            for row in (
                classified_df.groupBy("dedup_outcome")
                .agg(F.count("*").alias("n"), F.sum(F.col("is_late").cast("long")).alias("late"))
                .collect()
            ):
                outcome_counts[row["dedup_outcome"]] = int(row["n"])
                if row["dedup_outcome"] == "valid":
                    counts.late = int(row["late"] or 0)
            rule_counts: dict[str, int] = {}
            warn_counts: dict[str, int] = {}
            for row in (
                classified_df.select(
                    F.explode(
                        F.concat(
                            F.transform("quarantine_rules", lambda r: F.concat(F.lit("q|"), r)),
                            F.transform("warn_rules", lambda r: F.concat(F.lit("w|"), r)),
                        )
                    ).alias("rule")
                )
                .groupBy("rule")
                .count()
                .collect()
            ):
                kind, name = row["rule"].split("|", 1)
                (rule_counts if kind == "q" else warn_counts)[name] = int(row["count"])
            counts.valid = outcome_counts.get("valid", 0)
            counts.duplicates = outcome_counts.get("duplicate", 0)
            counts.already_processed = outcome_counts.get("already_processed", 0)
            conflicts = outcome_counts.get("conflicting_duplicate", 0)
            counts.quarantined = outcome_counts.get("quarantined", 0) + conflicts
            if conflicts:
                rule_counts["conflicting_duplicate"] = conflicts
            counts.rule_failures = rule_counts
            counts.check_identity(event_type)

            valid_df = classified_df.filter(F.col("dedup_outcome") == "valid")
            if counts.valid or not delta_io.table_exists(spark, path) or rebuild:
                _merge_insert(
                    _finish_valid(valid_df, module, run.run_id), path, ["event_id"], rebuild
                )
            quarantine_frames.append(_quarantine_rows(failed_df, "quarantine_rules", run.run_id))
            conflict_df = classified_df.filter(F.col("dedup_outcome") == "conflicting_duplicate")
            quarantine_frames.append(
                _quarantine_rows(
                    conflict_df.withColumn("_rules", F.array(F.lit("conflicting_duplicate"))),
                    "_rules",
                    run.run_id,
                )
            )
            business_date = (
                F.least("event_date", "effective_date")
                if event_type == "subscription"
                else F.col("incurred_date")
                if event_type == "operational_cost"
                else F.col("event_date")
            )
            affected_frames.append(
                valid_df.groupBy(business_date.alias("business_date"))
                .agg(
                    F.count("*").alias("rows"),
                    F.sum(F.col("is_late").cast("long")).alias("late_rows"),
                )
                .withColumn("event_type", F.lit(event_type))
            )
            for rule in rules_for(event_type):
                failed = rule_counts.get(rule.name, warn_counts.get(rule.name, 0))
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
            for extra_rule in sorted(set(rule_counts) - {r.name for r in rules_for(event_type)}):
                results.append(
                    DQResult(
                        event_type,
                        "row_rule",
                        extra_rule,
                        "quarantine",
                        "failed",
                        counts.rows_in,
                        rule_counts[extra_rule],
                    )
                )
            results.extend(_table_checks(spark, settings, event_type, counts, typed_df, as_of))
            results.extend(_gx_results(valid_df, module, settings, run.run_id))
            summary[event_type] = counts.__dict__ | {"conflicts": conflicts}
            cached.extend([typed_df, classified_df])

        quarantine_df = quarantine_frames[0]
        for frame in quarantine_frames[1:]:
            quarantine_df = quarantine_df.unionByName(frame)
        _merge_insert(
            quarantine_df, silver_path(settings, "quarantine"), ["quarantine_id"], rebuild
        )
        affected_df = affected_frames[0]
        for frame in affected_frames[1:]:
            affected_df = affected_df.unionByName(frame)
        delta_io.append(
            affected_df.withColumn("run_id", F.lit(run.run_id)).withColumn(
                "recorded_at", F.current_timestamp()
            ),
            settings.table_path("ops", "affected_dates"),
        )
        delta_io.append(
            spark.createDataFrame([r.as_row(run.run_id) for r in results], DQ_RESULTS_SCHEMA),
            settings.table_path("ops", "dq_results"),
        )
        if batch_ids:
            write_marks = delta_io.overwrite if rebuild else delta_io.append
            write_marks(
                spark.createDataFrame(
                    [(b, run.run_id) for b in batch_ids], "batch_id string, silver_run_id string"
                ).withColumn("processed_at", F.current_timestamp()),
                settings.table_path("ops", "silver_batches"),
            )
        for frame in [new_df, *cached]:
            frame.unpersist()
        accounted = malformed_count + sum(v["rows_in"] for v in summary.values())
        if accounted != bronze_rows:
            raise AssertionError(f"silver read {bronze_rows} bronze rows but accounted {accounted}")
        run.rows_in = sum(v["rows_in"] for v in summary.values()) + malformed_count
        run.rows_out = sum(v["valid"] for v in summary.values())
        summary["malformed"] = malformed_count
        summary["bronze_batches"] = len(batch_ids)
        critical = [r for r in results if r.is_critical_failure]
        summary["critical_failures"] = [f"{r.table_name}:{r.rule_name}" for r in critical]
        run.metrics = json.loads(json.dumps(summary, default=str))
        if critical:
            _alert(settings, critical, run.run_id)
            if raise_on_critical:
                raise DQCriticalFailure(critical)
        return summary


def _gx_results(
    valid_df: DataFrame, module: ModuleType, settings: Settings, run_id: str
) -> list[DQResult]:
    try:
        from jobs.dq_gx import run_gx
    except ImportError:  # GX wiring is optional until its module lands
        return []
    results: list[DQResult] = run_gx(valid_df, module.EVENT_TYPE, settings, run_id)
    return results


def _alert(settings: Settings, failures: list[DQResult], run_id: str) -> None:
    try:
        from jobs.alerts import alert_from_failures, send_alert
    except ImportError:
        log.error("critical DQ failure", extra={"failures": [f.rule_name for f in failures]})
        return
    send_alert(settings, alert_from_failures(failures, run_id, settings.lake_root + "/_dq/gx"))


def main(argv: Sequence[str] | None = None) -> int:
    """spark-submit entry point: `spark-submit jobs/silver_job.py [--bronze-version N]`."""
    configure_logging()
    parser = argparse.ArgumentParser(description="bronze.events -> silver")
    parser.add_argument("--bronze-version", type=int, default=None)
    parser.add_argument("--rebuild", action="store_true")
    args = parser.parse_args(argv)
    settings = get_settings()
    spark = get_spark(settings, "finlake-silver")
    try:
        print(
            json.dumps(
                run_silver(
                    spark, settings, bronze_version=args.bronze_version, rebuild=args.rebuild
                ),
                default=str,
            )
        )
    except DQCriticalFailure as exc:
        log.error(str(exc))
        return EXIT_DQ_CRITICAL
    return 0


if __name__ == "__main__":
    sys.exit(main())
