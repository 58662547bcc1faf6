"""Silver's transform chain for one event type, from Bronze rows to classified rows.

`to_typed_events`: parse the payload with the contract, cast to contract types, date it
(`event_date`, `books_date`), judge lateness, look up references, evaluate the declared row
rules and the type's batch rules, list the payload's unknown fields. `with_classification`
then gives every row exactly one outcome: `valid`, `duplicate`, `already_processed`,
`conflicting_duplicate` or `quarantined`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import reduce

from pydantic import BaseModel
from pyspark.sql import Column, DataFrame
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
        .transform(lambda d: with_unknown_fields(d, spec.model))
    )


def with_classification(
    typed_df: DataFrame, existing_df: DataFrame | None, *, is_few: bool = False
) -> DataFrame:
    """Add `dedup_outcome`: rule failures are `quarantined`, the rest go through dedup.

    `existing_df`: Silver's key columns (`EXISTING_KEY_COLUMNS`), None when Silver is empty.
    Then the rows are read once: rule failures and candidates are deduplicated as separate
    groups of one window, where comparing with Silver needs the candidates twice (their ids
    for the semi join, then the rows) and so a union of the two filters. `is_few`: a small
    batch, whose ids are broadcast to that join (`silver.dedup.with_dedup_outcome`).
    """
    failed = F.size("quarantine_rules") > 0
    if existing_df is None:
        return (
            with_dedup_outcome(typed_df.withColumn("_is_failed", failed), None, ["_is_failed"])
            .withColumn(
                "dedup_outcome",
                F.when(F.col("_is_failed"), F.lit("quarantined")).otherwise(F.col("dedup_outcome")),
            )
            .drop("_is_failed")
        )
    return with_dedup_outcome(typed_df.filter(~failed), existing_df, is_few=is_few).unionByName(
        typed_df.filter(failed).withColumn("dedup_outcome", F.lit("quarantined"))
    )


OUTCOMES = ("valid", "duplicate", "already_processed", "conflicting_duplicate", "quarantined")


def with_unknown_fields(df: DataFrame, model: type[BaseModel]) -> DataFrame:
    """Add `unknown_fields`: the payload's top-level keys that the contract does not declare."""
    keys = F.coalesce(F.json_object_keys("payload"), F.array().cast("array<string>"))
    return df.withColumn(
        "unknown_fields", F.array_except(keys, F.array(*[F.lit(f) for f in model.model_fields]))
    )


# the name lists a row can carry, by the `kind` that `to_flagged_counts` reports them under
FLAGGED_COLUMNS = {
    "quarantine_rule": "quarantine_rules",
    "warn_rule": "warn_rules",
    "unknown_field": "unknown_fields",
}


def _is_flagged() -> Column:
    """A row with a failed or warned rule or an unknown field."""
    return reduce(lambda a, b: a | b, [F.size(c) > 0 for c in FLAGGED_COLUMNS.values()])


def outcome_metrics() -> list[Column]:
    """Aggregates observed while the classified rows are computed (`DataFrame.observe`).

    Rows in all, per outcome, late valid rows, and `flagged`: rows with a failed or warned rule
    or an unknown field, whose names only `to_flagged_counts` lists (a clean batch needs no
    second pass over its rows).
    """
    return [
        F.count(F.lit(1)).alias("rows"),
        *[F.count_if(F.col("dedup_outcome") == outcome).alias(outcome) for outcome in OUTCOMES],
        F.count_if((F.col("dedup_outcome") == "valid") & F.col("is_late")).alias("late"),
        F.count_if(_is_flagged()).alias("flagged"),
    ]


def to_flagged_counts(classified_df: DataFrame) -> DataFrame:
    """(`kind`, `name`, `rows`): rows per failed rule, per warned rule and per unknown field.

    One Spark job over the rows that `outcome_metrics` flags, for every name of a type.
    """
    flagged_df = classified_df.filter(_is_flagged())
    names = [
        flagged_df.select(F.lit(kind).alias("kind"), F.explode(column).alias("name"))
        for kind, column in FLAGGED_COLUMNS.items()
    ]
    return (
        reduce(DataFrame.unionByName, names)
        .groupBy("kind", "name")
        .count()
        .withColumnRenamed("count", "rows")
    )


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
