"""Silver's transform chain for one event type, from Bronze rows to classified rows.

`to_typed_events`: parse the payload with the contract, cast to contract types, date it
(`event_date`, `books_date`), judge lateness, look up references, evaluate the declared row
rules and the type's batch rules. `with_classification` then gives every row exactly one
outcome: `valid`, `duplicate`, `already_processed`, `conflicting_duplicate` or `quarantined`.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from bronze.contracts import EventType
from silver import operational_cost, payment, subscription, usage
from silver.dedup import with_dedup_outcome
from silver.parse import with_event_dates, with_lateness, with_parsed_payload, with_typed_fields
from silver.rules import rules_for, with_rule_results
from silver.types import References, SilverEventType

# Processing order matters: payments look up customers among accepted subscriptions.
SILVER_TYPES: tuple[SilverEventType, ...] = (
    subscription.SILVER,
    payment.SILVER,
    usage.SILVER,
    operational_cost.SILVER,
)
SILVER_TYPE_BY_NAME: dict[EventType, SilverEventType] = {t.event_type: t for t in SILVER_TYPES}
EXISTING_KEY_COLUMNS = ("event_id", "payload_hash", "source_object_key", "line_number")


@dataclass(frozen=True)
class Lateness:
    """Late-data limits (days) and the tolerance for event times ahead of arrival (minutes)."""

    allowed_days: int
    horizon_days: int
    future_minutes: int


def to_typed_events(
    rows_df: DataFrame, spec: SilverEventType, refs: References, lateness: Lateness
) -> DataFrame:
    """Bronze rows of one type -> typed rows with `quarantine_rules` and `warn_rules`."""
    return (
        rows_df.transform(lambda d: with_parsed_payload(d, spec.model))
        .transform(lambda d: with_typed_fields(d, spec.model))
        .transform(with_event_dates)
        .transform(lambda d: spec.with_references(d, refs))
        .withColumn("books_date", spec.books_date())
        .transform(
            lambda d: with_lateness(
                d, lateness.allowed_days, lateness.horizon_days, lateness.future_minutes
            )
        )
        .transform(lambda d: with_rule_results(d, rules_for(spec.event_type)))
        .transform(lambda d: spec.with_batch_rules(d, refs))
    )


def with_classification(typed_df: DataFrame, existing_df: DataFrame | None) -> DataFrame:
    """Add `dedup_outcome`: rule failures are `quarantined`, the rest go through dedup.

    `existing_df`: Silver's key columns (`EXISTING_KEY_COLUMNS`), None when Silver is empty.
    """
    failed = F.size("quarantine_rules") > 0
    return with_dedup_outcome(typed_df.filter(~failed), existing_df).unionByName(
        typed_df.filter(failed).withColumn("dedup_outcome", F.lit("quarantined"))
    )


def to_outcome_counts(classified_df: DataFrame) -> DataFrame:
    """(`kind`, `name`, `rows`): outcomes, late valid rows, rule failures and payload fields.

    One Spark job answers every count of a type (kind `field` lists the top-level keys of the
    payloads, for the unknown-fields check).
    """
    outcomes = classified_df.groupBy(
        F.lit("outcome").alias("kind"), F.col("dedup_outcome").alias("name")
    ).count()
    late = (
        classified_df.filter((F.col("dedup_outcome") == "valid") & F.col("is_late"))
        .groupBy(F.lit("late").alias("kind"), F.lit("valid").alias("name"))
        .count()
    )
    quarantine_rules = classified_df.select(
        F.lit("quarantine_rule").alias("kind"), F.explode("quarantine_rules").alias("name")
    )
    warn_rules = classified_df.select(
        F.lit("warn_rule").alias("kind"), F.explode("warn_rules").alias("name")
    )
    fields = classified_df.select(
        F.lit("field").alias("kind"), F.explode(F.json_object_keys("payload")).alias("name")
    )
    rules = (
        quarantine_rules.unionByName(warn_rules).unionByName(fields).groupBy("kind", "name").count()
    )
    return outcomes.unionByName(late).unionByName(rules).withColumnRenamed("count", "rows")


def to_silver_rows(valid_df: DataFrame, spec: SilverEventType, run_id: str) -> DataFrame:
    """Rows to append to `silver.<type>`: contract fields then lineage."""
    return (
        valid_df.withColumn("silver_run_id", F.lit(run_id))
        .withColumn("processed_at", F.current_timestamp())
        .select(*spec.model.model_fields, *SILVER_LINEAGE_COLUMNS)
    )


def to_affected_dates(valid_df: DataFrame, event_type: str) -> DataFrame:
    """Business dates the accepted rows change (Gold recomputes from the earliest)."""
    return (
        valid_df.groupBy(F.col("books_date").alias("business_date"))
        .agg(F.count("*").alias("rows"), F.sum(F.col("is_late").cast("long")).alias("late_rows"))
        .withColumn("event_type", F.lit(event_type))
    )


SILVER_LINEAGE_COLUMNS: tuple[str, ...] = (
    "event_date",
    "books_date",
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
