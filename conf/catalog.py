"""The table catalog: every Delta table of the lake, declared once.

Each entry names the table's layer, grain, key, columns (Spark DDL types), partitioning, write
mode, table properties, the one module that computes it, whether Trino serves it, and the model
tests that run after it is built (`not_null`, foreign keys, row invariants). The IO layer
(`jobs/lake.py`) is the only reader/writer of these tables and enforces key and schema on
write; Trino registration, the metrics API, `docs/tables.md` and the tests read this file.

Silver event tables take their columns from the event contracts (`bronze/contracts.py`) plus
the Silver lineage columns below: their entries carry `contract` instead of `columns`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, get_args

Layer = Literal["bronze", "silver", "gold", "ops"]
WriteMode = Literal["append", "replace", "replace_range", "merge_insert"]
Severity = Literal["warn", "critical"]

TableName = Literal[
    "bronze.events",
    "silver.subscription",
    "silver.payment",
    "silver.usage",
    "silver.operational_cost",
    "silver.quarantine",
    "silver.plans",
    "silver.fx_rates",
    "gold.dim_time",
    "gold.dim_region",
    "gold.dim_plan",
    "gold.dim_customer",
    "gold.subscriptions_snapshot",
    "gold.revenue_daily",
    "gold.costs_daily",
    "gold.usage_daily",
    "gold.mrr_daily",
    "gold.revenue_region_daily",
    "gold.mrr_movements_monthly",
    "gold.churn_monthly",
    "gold.cohort_retention",
    "gold.forecast_revenue_daily",
    "gold.forecast_active_subscriptions",
    "gold.forecast_variance",
    "ops.pipeline_runs",
    "ops.dq_results",
    "ops.model_runs",
    "ops.restatements",
    "ops.affected_dates",
    "ops.gold_consumed",
    "ops.silver_batches",
    "ops.bronze_objects",
    "ops.quarantine_replays",
]
TABLE_NAMES: tuple[TableName, ...] = get_args(TableName)

MONEY = "decimal(18,4)"
RATE = "decimal(38,24)"
TRINO_SAFE_PROPERTIES: Mapping[str, str] = {
    "delta.enableDeletionVectors": "false",
    "delta.enableChangeDataFeed": "false",
}


@dataclass(frozen=True)
class Column:
    """One column: name, Spark DDL type, nullability and meaning."""

    name: str
    type: str
    description: str = ""
    nullable: bool = True


@dataclass(frozen=True)
class ForeignKey:
    """`column` references `table.target_column` (every non-null value must exist there)."""

    column: str
    table: TableName
    target_column: str


@dataclass(frozen=True)
class Invariant:
    """A SQL boolean expression every row must satisfy (a dbt-style model test)."""

    name: str
    sql: str
    severity: Severity = "critical"


@dataclass(frozen=True)
class TableSpec:
    """Declaration of one Delta table."""

    name: TableName
    grain: str
    key: tuple[str, ...]
    module: str
    description: str
    columns: tuple[Column, ...] = ()
    contract: str | None = None
    write_mode: WriteMode = "replace"
    range_column: str | None = None
    partition_by: tuple[str, ...] = ()
    properties: Mapping[str, str] = field(default_factory=dict)
    served: bool = False
    not_null: tuple[str, ...] = ()
    foreign_keys: tuple[ForeignKey, ...] = ()
    invariants: tuple[Invariant, ...] = ()

    @property
    def layer(self) -> Layer:
        """Layer of the table (the part before the dot)."""
        layer = self.name.split(".", 1)[0]
        assert layer in get_args(Layer)
        return layer  # type: ignore[return-value]

    @property
    def table(self) -> str:
        """Table name within its layer."""
        return self.name.split(".", 1)[1]

    @property
    def all_properties(self) -> dict[str, str]:
        """Table properties set at creation (Trino-safe defaults plus the table's own)."""
        return {**TRINO_SAFE_PROPERTIES, **self.properties}

    @property
    def column_names(self) -> tuple[str, ...]:
        """Declared column names in order (empty for contract-derived tables)."""
        return tuple(c.name for c in self.columns)


def _cols(*specs: tuple[str, str, str] | tuple[str, str, str, bool]) -> tuple[Column, ...]:
    out = []
    for spec in specs:
        name, dtype, description = spec[0], spec[1], spec[2]
        nullable = spec[3] if len(spec) == 4 else True
        out.append(Column(name, dtype, description, nullable))
    return tuple(out)


def _fk(column: str, table: TableName, target: str | None = None) -> ForeignKey:
    return ForeignKey(column, table, target or column)


# ---------------------------------------------------------------------------- Silver lineage
SILVER_LINEAGE = _cols(
    ("event_date", "date", "UTC date of event_time", False),
    ("books_date", "date", "date the event changes the books (effective/incurred/event date)"),
    ("is_late", "boolean", "arrived after the allowed lateness (Gold restated its dates)"),
    ("warn_rules", "array<string>", "warn-severity rules the row broke (kept)"),
    ("payload_hash", "string", "sha256 of the canonical payload"),
    ("source", "string", "landing source: api, batch, backfill or replay"),
    ("source_object_key", "string", "landing object the row came from"),
    ("line_number", "bigint", "line of the row in its landing object"),
    ("received_at", "timestamp", "arrival time recorded in the landing key"),
    ("received_date", "date", "UTC date of received_at"),
    ("batch_id", "string", "Bronze run that landed the row"),
    ("silver_run_id", "string", "Silver run that accepted the row"),
    ("processed_at", "timestamp", "when Silver accepted the row"),
)

_QUARANTINE = _cols(
    ("quarantine_id", "string", "sha256 of source object key and line", False),
    ("event_type", "string", "event type of the landing object"),
    ("event_id", "string", "event_id of the payload, if any"),
    ("failed_rules", "array<string>", "every rule the row broke"),
    ("reason", "string", "the first failed rule"),
    ("payload", "string", "the raw line"),
    ("payload_hash", "string", "sha256 of the canonical payload"),
    ("source", "string", "landing source"),
    ("source_object_key", "string", "landing object"),
    ("line_number", "bigint", "line in the landing object"),
    ("received_at", "timestamp", "arrival time"),
    ("received_date", "date", "arrival date"),
    ("batch_id", "string", "Bronze run"),
    ("silver_run_id", "string", "Silver run that quarantined the row"),
    ("quarantined_at", "timestamp", "when"),
)

_MOVEMENT_COLUMNS = _cols(
    ("month_start_date", "date", "first day of the month", False),
    ("region", "string", "sales region", False),
    ("opening_mrr_usd", MONEY, "MRR at the end of the previous month", False),
    ("new_mrr_usd", MONEY, "customers going from no MRR to MRR for the first time", False),
    ("expansion_mrr_usd", MONEY, "increases of customers' MRR", False),
    ("contraction_mrr_usd", MONEY, "decreases of customers' MRR still above zero (<= 0)", False),
    ("churn_mrr_usd", MONEY, "customers going to zero MRR (<= 0)", False),
    ("reactivation_mrr_usd", MONEY, "customers coming back to MRR after churn", False),
    ("transfer_mrr_usd", MONEY, "MRR moved in (+) or out (-) by region moves; 0 in total", False),
    ("closing_mrr_usd", MONEY, "MRR at the month's end (or the as-of date)", False),
)

_BRIDGE = (
    "opening_mrr_usd + new_mrr_usd + expansion_mrr_usd + contraction_mrr_usd + churn_mrr_usd"
    " + reactivation_mrr_usd + transfer_mrr_usd = closing_mrr_usd"
)

_SPECS: tuple[TableSpec, ...] = (
    # ------------------------------------------------------------------------------ bronze
    TableSpec(
        "bronze.events",
        grain="one row per landed line (event or malformed line)",
        key=("source_object_key", "line_number"),
        module="bronze/events.py",
        description="Raw landed lines with envelope fields and lineage; append-only.",
        columns=_cols(
            ("event_id", "string", "event_id of the payload (raw)"),
            ("event_type", "string", "event type from the landing key", False),
            ("event_time_raw", "string", "event_time of the payload (raw)"),
            ("schema_version_raw", "string", "schema_version of the payload (raw)"),
            ("payload", "string", "the raw line"),
            ("payload_hash", "string", "sha256 of the canonical payload"),
            ("is_parse_error", "boolean", "line is not UTF-8 or not a JSON object"),
            ("parse_error", "string", "invalid_utf8 or invalid_json"),
            ("source", "string", "api, batch, backfill or replay", False),
            ("source_object_key", "string", "landing object key", False),
            ("line_number", "bigint", "line in the object (1-based)", False),
            ("received_at", "timestamp", "arrival time from the landing key", False),
            ("received_date", "date", "UTC date of received_at", False),
            ("batch_id", "string", "Bronze run id", False),
            ("ingested_at", "timestamp", "when Bronze appended the line", False),
        ),
        write_mode="append",
        partition_by=("received_date",),
        properties={"delta.appendOnly": "true"},
        not_null=("source_object_key", "line_number", "received_date"),
    ),
    # ------------------------------------------------------------------------------ silver
    *(
        TableSpec(
            f"silver.{event_type}",  # type: ignore[arg-type]
            grain="one row per accepted event (event_id)",
            key=("event_id",),
            module=f"silver/{event_type}.py",
            description=f"Typed, validated, deduplicated {event_type} events with lineage.",
            contract=event_type,
            write_mode="append",
            not_null=("event_id", "event_time", "event_date", "books_date"),
        )
        for event_type in ("subscription", "payment", "usage", "operational_cost")
    ),
    TableSpec(
        "silver.quarantine",
        grain="one row per rejected landing line",
        key=("quarantine_id",),
        module="silver/quarantine.py",
        description="Every rejected row with the rules it broke and its lineage.",
        columns=_QUARANTINE,
        write_mode="merge_insert",
        not_null=("quarantine_id", "reason"),
    ),
    TableSpec(
        "silver.plans",
        grain="one row per plan_id (the latest landed catalog row wins)",
        key=("plan_id",),
        module="silver/reference.py",
        description="Plan catalog from the landed reference files.",
        columns=_cols(
            ("plan_id", "string", "plan id", False),
            ("plan_name", "string", "display name"),
            ("tier", "string", "starter, pro, enterprise, ..."),
            ("billing_period", "string", "monthly or annual"),
            ("currency", "string", "currency of the list price"),
            ("list_price", MONEY, "list price per billing period"),
        ),
    ),
    TableSpec(
        "silver.fx_rates",
        grain="rate_date x currency (the latest landed file wins)",
        key=("rate_date", "currency"),
        module="silver/reference.py",
        description="Published FX rates: 1 unit of currency is rate_to_usd USD.",
        columns=_cols(
            ("rate_date", "date", "publication date", False),
            ("currency", "string", "ISO 4217 code", False),
            ("rate_to_usd", RATE, "USD per unit (18+ significant digits)", False),
        ),
    ),
    # -------------------------------------------------------------------------- gold dims
    TableSpec(
        "gold.dim_time",
        grain="one row per calendar date",
        key=("date_key",),
        module="gold/models/dim_time.sql",
        description="Calendar from the first business date to the as-of date plus horizons.",
        columns=_cols(
            ("date_key", "int", "yyyyMMdd", False),
            ("calendar_date", "date", "the date", False),
            ("day_of_week", "int", "1 = Sunday ... 7 = Saturday"),
            ("day_name", "string", "Monday, ..."),
            ("is_weekend", "boolean", "Saturday or Sunday"),
            ("week_of_year", "int", "ISO week"),
            ("day_of_month", "int", "1-31"),
            ("month", "int", "1-12"),
            ("month_name", "string", "January, ..."),
            ("month_start_date", "date", "first day of the month", False),
            ("quarter", "int", "1-4"),
            ("year", "int", "calendar year", False),
            ("is_month_end", "boolean", "last day of its month"),
        ),
        served=True,
        not_null=("calendar_date", "month_start_date"),
        invariants=(
            Invariant(
                "date_in_month",
                "calendar_date BETWEEN month_start_date AND last_day(calendar_date)",
            ),
        ),
    ),
    TableSpec(
        "gold.dim_region",
        grain="one row per sales region",
        key=("region",),
        module="gold/models/dim_region.sql",
        description="Sales regions seen in subscriptions and costs.",
        columns=_cols(
            ("region_key", "bigint", "surrogate key (xxhash64 of region)", False),
            ("region", "string", "NA, EMEA, APAC, LATAM", False),
            ("region_name", "string", "display name"),
        ),
        served=True,
        not_null=("region_key", "region_name"),
    ),
    TableSpec(
        "gold.dim_plan",
        grain="one row per plan of the catalog",
        key=("plan_id",),
        module="gold/models/dim_plan.sql",
        description="Plan catalog with list MRR.",
        columns=_cols(
            ("plan_key", "bigint", "surrogate key (xxhash64 of plan_id)", False),
            ("plan_id", "string", "plan id", False),
            ("plan_name", "string", "display name"),
            ("tier", "string", "tier"),
            ("billing_period", "string", "monthly or annual"),
            ("list_currency", "string", "currency of the list price"),
            ("list_price", MONEY, "list price per billing period"),
            ("list_mrr", MONEY, "list price per month"),
        ),
        served=True,
        not_null=("plan_key", "tier", "billing_period"),
    ),
    TableSpec(
        "gold.dim_customer",
        grain="one row per customer version (SCD2 on segment, country, region)",
        key=("customer_key",),
        module="gold/dim_customer.py",
        description="Customer attribute versions; valid_to is exclusive.",
        columns=_cols(
            ("customer_key", "bigint", "xxhash64(customer_id, valid_from)", False),
            ("customer_id", "string", "customer id", False),
            ("customer_segment", "string", "smb, mid_market, enterprise"),
            ("customer_country", "string", "ISO 3166 alpha-2"),
            ("region", "string", "sales region"),
            ("valid_from", "date", "first day of the version (effective date)", False),
            ("valid_to", "date", "first day of the next version (9999-12-31 if current)", False),
            ("is_current", "boolean", "the latest version", False),
            ("version", "int", "1, 2, ... per customer", False),
        ),
        served=True,
        not_null=("region",),
        foreign_keys=(_fk("region", "gold.dim_region"),),
        invariants=(Invariant("valid_range", "valid_from < valid_to"),),
    ),
    # ------------------------------------------------------------------------- gold facts
    TableSpec(
        "gold.subscriptions_snapshot",
        grain="snapshot_date x subscription_id (every day a subscription lives)",
        key=("snapshot_date", "subscription_id"),
        module="gold/subscriptions_snapshot.py",
        description="Daily subscription state with the customer's attributes as of the day.",
        columns=_cols(
            ("snapshot_date", "date", "the day", False),
            ("date_key", "int", "yyyyMMdd", False),
            ("subscription_id", "string", "subscription", False),
            ("customer_id", "string", "customer", False),
            ("customer_key", "bigint", "customer version of the day", False),
            ("plan_id", "string", "plan held at the day's end", False),
            ("plan_key", "bigint", "xxhash64(plan_id)", False),
            ("region", "string", "customer's region as of the day", False),
            ("customer_segment", "string", "customer's segment as of the day", False),
            ("status", "string", "trial, active or cancelled", False),
            ("is_active", "boolean", "MRR-bearing state", False),
            ("quantity", "bigint", "seats/units"),
            ("billing_period", "string", "monthly or annual"),
            ("mrr_usd", MONEY, "MRR of the subscription, USD at the change's rate", False),
            ("state_since_date", "date", "effective date of the state", False),
        ),
        write_mode="replace_range",
        range_column="snapshot_date",
        served=True,
        foreign_keys=(
            _fk("date_key", "gold.dim_time"),
            _fk("customer_key", "gold.dim_customer"),
            _fk("region", "gold.dim_region"),
        ),
        invariants=(
            Invariant("mrr_not_negative", "mrr_usd >= 0"),
            Invariant("inactive_has_no_mrr", "is_active OR mrr_usd = 0"),
        ),
    ),
    TableSpec(
        "gold.revenue_daily",
        grain="revenue_date x customer version x plan_id x currency",
        key=("revenue_date", "customer_key", "plan_id", "currency"),
        module="gold/models/revenue_daily.sql",
        description=(
            "Payments per day: gross, refunds (attributed to the refunded payment's plan, "
            "region and FX rate, dated on the refund day), net, failed."
        ),
        columns=_cols(
            ("revenue_date", "date", "payment or refund date", False),
            ("date_key", "int", "yyyyMMdd", False),
            ("customer_id", "string", "customer", False),
            ("customer_key", "bigint", "customer version (of the refunded payment for refunds)"),
            ("region", "string", "customer region (of the refunded payment for refunds)", False),
            ("plan_id", "string", "plan held on the (refunded) payment's date", False),
            ("currency", "string", "payment currency", False),
            ("gross_amount", MONEY, "succeeded payments, payment currency", False),
            ("refund_amount", MONEY, "refunds, payment currency", False),
            ("net_amount", MONEY, "gross - refunds, payment currency", False),
            ("failed_amount", MONEY, "failed attempts, payment currency", False),
            ("gross_usd", MONEY, "succeeded payments in USD", False),
            ("refunds_usd", MONEY, "refunds in USD at the refunded payment's rate", False),
            ("net_usd", MONEY, "gross_usd - refunds_usd", False),
            ("failed_usd", MONEY, "failed attempts in USD", False),
            ("payments", "bigint", "payment events", False),
        ),
        write_mode="replace_range",
        range_column="revenue_date",
        served=True,
        foreign_keys=(
            _fk("date_key", "gold.dim_time"),
            _fk("customer_key", "gold.dim_customer"),
            _fk("region", "gold.dim_region"),
        ),
        invariants=(
            Invariant("net_is_gross_minus_refunds", "net_usd = gross_usd - refunds_usd"),
            Invariant(
                "net_amount_is_gross_minus_refunds", "net_amount = gross_amount - refund_amount"
            ),
        ),
    ),
    TableSpec(
        "gold.costs_daily",
        grain="cost_date x region x cost_center",
        key=("cost_date", "region", "cost_center"),
        module="gold/models/costs_daily.sql",
        description="Operating costs per incurred date, converted at that date's rate.",
        columns=_cols(
            ("cost_date", "date", "incurred date", False),
            ("date_key", "int", "yyyyMMdd", False),
            ("region", "string", "region", False),
            ("cost_center", "string", "cost center", False),
            ("amount_usd", MONEY, "costs net of credits, USD", False),
            ("credits_usd", MONEY, "credits (<= 0), USD", False),
            ("cost_items", "bigint", "cost events", False),
        ),
        write_mode="replace_range",
        range_column="cost_date",
        served=True,
        foreign_keys=(_fk("date_key", "gold.dim_time"), _fk("region", "gold.dim_region")),
        invariants=(Invariant("credits_not_positive", "credits_usd <= 0"),),
    ),
    TableSpec(
        "gold.usage_daily",
        grain="usage_date x subscription_id x metric",
        key=("usage_date", "subscription_id", "metric"),
        module="gold/models/usage_daily.sql",
        description="Metered usage per day.",
        columns=_cols(
            ("usage_date", "date", "reading date", False),
            ("date_key", "int", "yyyyMMdd", False),
            ("subscription_id", "string", "subscription", False),
            ("customer_id", "string", "customer", False),
            ("metric", "string", "api_calls, storage_gb, active_seats, ...", False),
            ("quantity", MONEY, "sum of readings", False),
            ("readings", "bigint", "usage events", False),
        ),
        write_mode="replace_range",
        range_column="usage_date",
        served=True,
        foreign_keys=(_fk("date_key", "gold.dim_time"),),
        invariants=(Invariant("quantity_not_negative", "quantity >= 0"),),
    ),
    # ------------------------------------------------------------------------- gold marts
    TableSpec(
        "gold.mrr_daily",
        grain="metric_date x region x plan_id x customer_segment",
        key=("metric_date", "region", "plan_id", "customer_segment"),
        module="gold/models/mrr_daily.sql",
        description="MRR and active subscriptions per day (quiet days carried by state).",
        columns=_cols(
            ("metric_date", "date", "the day", False),
            ("region", "string", "customer region as of the day", False),
            ("plan_id", "string", "plan", False),
            ("customer_segment", "string", "customer segment as of the day", False),
            ("mrr_usd", MONEY, "MRR in USD", False),
            ("active_subscriptions", "bigint", "active subscriptions", False),
            ("active_customers", "bigint", "distinct customers with an active subscription", False),
        ),
        write_mode="replace_range",
        range_column="metric_date",
        served=True,
        foreign_keys=(_fk("region", "gold.dim_region"), _fk("plan_id", "gold.dim_plan")),
        invariants=(Invariant("positive", "mrr_usd >= 0 AND active_subscriptions > 0"),),
    ),
    TableSpec(
        "gold.revenue_region_daily",
        grain="revenue_date x region",
        key=("revenue_date", "region"),
        module="gold/models/revenue_region_daily.sql",
        description="Revenue, costs and gross margin per day and region.",
        columns=_cols(
            ("revenue_date", "date", "the day", False),
            ("region", "string", "region", False),
            ("gross_revenue_usd", MONEY, "succeeded payments", False),
            ("refunds_usd", MONEY, "refunds", False),
            ("net_revenue_usd", MONEY, "gross - refunds", False),
            ("failed_payments_usd", MONEY, "failed attempts", False),
            ("costs_usd", MONEY, "all operating costs", False),
            ("cogs_usd", MONEY, "infrastructure and support costs", False),
            ("gross_margin_usd", MONEY, "net revenue - COGS", False),
            ("gross_margin_pct", "double", "gross margin / net revenue (null unless > 0)"),
        ),
        write_mode="replace_range",
        range_column="revenue_date",
        served=True,
        foreign_keys=(_fk("region", "gold.dim_region"),),
        invariants=(
            Invariant("margin", "gross_margin_usd = net_revenue_usd - cogs_usd"),
            Invariant("net", "net_revenue_usd = gross_revenue_usd - refunds_usd"),
        ),
    ),
    TableSpec(
        "gold.mrr_movements_monthly",
        grain="month_start_date x region",
        key=("month_start_date", "region"),
        module="gold/mrr_movements.py",
        description=(
            "Monthly MRR bridge per region from customer-level daily changes; region moves "
            "are transfers, so the bridge holds per region and in total."
        ),
        columns=_MOVEMENT_COLUMNS,
        write_mode="replace_range",
        range_column="month_start_date",
        served=True,
        foreign_keys=(_fk("region", "gold.dim_region"),),
        invariants=(
            Invariant("mrr_bridge", _BRIDGE),
            Invariant("signs", "contraction_mrr_usd <= 0 AND churn_mrr_usd <= 0"),
            Invariant("gains", "new_mrr_usd >= 0 AND expansion_mrr_usd >= 0"),
        ),
    ),
    TableSpec(
        "gold.churn_monthly",
        grain="month_start_date x region (the customer's region at the month's opening)",
        key=("month_start_date", "region"),
        module="gold/churn.py",
        description=(
            "Customer-level logo churn, GRR and NRR over the customers with MRR at the "
            "month's opening (ChartMogul definitions)."
        ),
        columns=_cols(
            ("month_start_date", "date", "first day of the month", False),
            ("region", "string", "region at the opening", False),
            ("opening_customers", "bigint", "customers with MRR at the opening", False),
            ("churned_customers", "bigint", "opening customers with no MRR at the close", False),
            ("voluntary_churned_customers", "bigint", "churned, last reason voluntary", False),
            ("involuntary_churned_customers", "bigint", "churned, last reason involuntary", False),
            ("opening_mrr_usd", MONEY, "sum of the opening customers' opening MRR", False),
            ("retained_mrr_usd", MONEY, "sum of min(close, open) per opening customer", False),
            ("cohort_closing_mrr_usd", MONEY, "sum of the opening customers' closing MRR", False),
            ("logo_churn_rate", "double", "churned_customers / opening_customers"),
            ("grr", "double", "retained_mrr_usd / opening_mrr_usd"),
            ("nrr", "double", "cohort_closing_mrr_usd / opening_mrr_usd"),
            ("gross_revenue_churn_rate", "double", "1 - grr"),
            ("net_revenue_churn_rate", "double", "1 - nrr"),
        ),
        write_mode="replace_range",
        range_column="month_start_date",
        served=True,
        foreign_keys=(_fk("region", "gold.dim_region"),),
        invariants=(
            Invariant("churned_le_opening", "churned_customers <= opening_customers"),
            Invariant(
                "reasons_le_churned",
                "voluntary_churned_customers + involuntary_churned_customers <= churned_customers",
            ),
            Invariant("retained_le_opening", "retained_mrr_usd <= opening_mrr_usd"),
            Invariant("retained_le_closing", "retained_mrr_usd <= cohort_closing_mrr_usd"),
        ),
    ),
    TableSpec(
        "gold.cohort_retention",
        grain="cohort_month x months_since_signup",
        key=("cohort_month", "months_since_signup"),
        module="gold/cohort_retention.py",
        description="Customers of a cohort (month of first MRR) with MRR at later months' close.",
        columns=_cols(
            ("cohort_month", "date", "month of the customer's first day with MRR", False),
            ("months_since_signup", "int", "0, 1, ...", False),
            ("month_start_date", "date", "the measured month", False),
            ("cohort_customers", "bigint", "customers in the cohort", False),
            ("retained_customers", "bigint", "with MRR at the measured month's close", False),
            ("retention_rate", "double", "retained / cohort"),
        ),
        write_mode="replace_range",
        range_column="month_start_date",
        served=True,
        invariants=(Invariant("retained_le_cohort", "retained_customers <= cohort_customers"),),
    ),
    # ---------------------------------------------------------------------- forecasting
    TableSpec(
        "gold.forecast_revenue_daily",
        grain="run_id x unique_id x forecast_date",
        key=("run_id", "unique_id", "forecast_date"),
        module="jobs/forecast_job.py",
        description="Reconciled champion forecasts of daily net revenue (append per run).",
        write_mode="append",
        served=True,
    ),
    TableSpec(
        "gold.forecast_active_subscriptions",
        grain="run_id x unique_id x forecast_date",
        key=("run_id", "unique_id", "forecast_date"),
        module="jobs/forecast_job.py",
        description="Reconciled champion forecasts of active subscriptions (append per run).",
        write_mode="append",
        served=True,
    ),
    TableSpec(
        "gold.forecast_variance",
        grain="run_id x unique_id x forecast_date (recorded forecasts that have an actual)",
        key=("run_id", "unique_id", "forecast_date"),
        module="forecasting/variance.py",
        description="Forecast vs actual: error = actual - forecast, pct_error = error/|actual|.",
        served=True,
    ),
    # ------------------------------------------------------------------------------ ops
    TableSpec(
        "ops.pipeline_runs",
        grain="one row per job run",
        key=("run_id",),
        module="jobs/observability.py",
        description="Every job run: status, timings, parameters, metrics, error.",
        columns=_cols(
            ("run_id", "string", "run id", False),
            ("job_name", "string", "bronze, silver, gold, forecast, ...", False),
            ("status", "string", "succeeded or failed", False),
            ("started_at", "timestamp", "start", False),
            ("finished_at", "timestamp", "end", False),
            ("duration_s", "double", "wall seconds", False),
            ("rows_in", "bigint", "rows read"),
            ("rows_out", "bigint", "rows written"),
            ("params", "string", "JSON parameters"),
            ("metrics", "string", "JSON metrics (phase_seconds, counts, ...)"),
            ("error", "string", "exception of a failed run"),
            ("parent_run_id", "string", "orchestrator run (airflow/<dag>/<run>)"),
        ),
        write_mode="append",
        served=True,
    ),
    TableSpec(
        "ops.dq_results",
        grain="run_id x table_name x check_kind x rule_name",
        key=("run_id", "table_name", "check_kind", "rule_name"),
        module="silver/dq.py",
        description="Row rules, table checks, GX expectations and Gold model tests per run.",
        columns=_cols(
            ("run_id", "string", "run id", False),
            ("checked_at", "timestamp", "when", False),
            ("table_name", "string", "table or event type", False),
            ("check_kind", "string", "row_rule, table_check, gx or model_test", False),
            ("rule_name", "string", "rule", False),
            ("severity", "string", "warn, quarantine or critical", False),
            ("status", "string", "passed or failed", False),
            ("rows_checked", "bigint", "rows"),
            ("failed_rows", "bigint", "failing rows"),
            ("observed_value", "string", "observed"),
            ("threshold", "string", "expected"),
            ("details", "string", "details and the fix"),
        ),
        write_mode="append",
        served=True,
    ),
    TableSpec(
        "ops.model_runs",
        grain="run_id x unique_id x model",
        key=("run_id", "unique_id", "model"),
        module="jobs/forecast_job.py",
        description="Forecast model metadata: orders, windows, versions, backtest metrics.",
        write_mode="append",
        served=True,
    ),
    TableSpec(
        "ops.restatements",
        grain="run_id x metric x metric_date x region",
        key=("run_id", "metric", "metric_date", "region"),
        module="jobs/gold_job.py",
        description="Every change Gold made to an already published daily value.",
        columns=_cols(
            ("run_id", "string", "Gold run", False),
            (
                "metric",
                "string",
                "mrr_usd, active_subscriptions, net_revenue_usd, costs_usd",
                False,
            ),
            ("metric_date", "date", "day restated", False),
            ("region", "string", "region", False),
            ("old_value", "string", "published value", False),
            ("new_value", "string", "new value", False),
            ("restated_at", "timestamp", "when"),
        ),
        write_mode="append",
        served=True,
    ),
    TableSpec(
        "ops.affected_dates",
        grain="run_id x event_type x business_date",
        key=("run_id", "event_type", "business_date"),
        module="jobs/silver_job.py",
        description="Business dates each Silver run changed (Gold recomputes from the earliest).",
        columns=_cols(
            ("business_date", "date", "date the rows change the books", False),
            ("rows", "bigint", "rows"),
            ("late_rows", "bigint", "late rows"),
            ("event_type", "string", "event type or fx_rates", False),
            ("run_id", "string", "Silver run", False),
            ("recorded_at", "timestamp", "when"),
        ),
        write_mode="append",
    ),
    TableSpec(
        "ops.gold_consumed",
        grain="run_id (a Silver run whose affected dates Gold has rebuilt)",
        key=("run_id",),
        module="jobs/gold_job.py",
        description="Silver runs already reflected in Gold.",
        columns=_cols(
            ("run_id", "string", "Silver run", False),
            ("gold_run_id", "string", "Gold run that consumed it", False),
        ),
        write_mode="merge_insert",
    ),
    TableSpec(
        "ops.silver_batches",
        grain="batch_id x event_type (Bronze batches Silver has processed)",
        key=("batch_id", "event_type"),
        module="jobs/silver_job.py",
        description="Bronze batches processed by Silver, with the latest arrival per type.",
        columns=_cols(
            ("batch_id", "string", "Bronze run", False),
            ("event_type", "string", "event type", False),
            ("silver_run_id", "string", "Silver run", False),
            ("processed_at", "timestamp", "when"),
            ("max_received_at", "timestamp", "latest arrival in the batch"),
        ),
        write_mode="merge_insert",
    ),
    TableSpec(
        "ops.bronze_objects",
        grain="one row per landing object in bronze.events",
        key=("source_object_key",),
        module="jobs/bronze_objects.py",
        description=(
            "Index of the landing objects Bronze holds, trusted only up to the Bronze version"
            " it covers (a cache of bronze.events.source_object_key)."
        ),
        columns=_cols(
            ("source_object_key", "string", "landing object in Bronze", False),
            ("bronze_table_id", "string", "Delta table id of bronze.events", False),
            ("bronze_version", "bigint", "Bronze version the index covered when added", False),
            ("indexed_at", "timestamp", "when", False),
        ),
        write_mode="append",
    ),
    TableSpec(
        "ops.quarantine_replays",
        grain="one row per replayed quarantined row",
        key=("replay_id",),
        module="jobs/quarantine_replay.py",
        description="Fix-and-replay requests of quarantined rows and their outcomes.",
        columns=_cols(
            ("replay_id", "string", "sha256 of the replay object key and line", False),
            ("quarantine_id", "string", "the quarantined row", False),
            ("event_type", "string", "event type", False),
            ("event_id", "string", "event id of the quarantined row"),
            ("failed_rules", "array<string>", "rules the quarantined row broke"),
            ("replay_kind", "string", "correction or rule", False),
            ("rule", "string", "the rule of a rule replay"),
            ("original_payload_hash", "string", "hash of the quarantined payload"),
            ("corrected_payload_hash", "string", "hash of the replayed payload", False),
            ("landing_object_key", "string", "replay object in the landing zone", False),
            ("line_number", "bigint", "line in the replay object", False),
            ("requested_at", "timestamp", "when", False),
            ("requested_by", "string", "who", False),
            ("outcome", "string", "pending, accepted, quarantined_again or duplicate", False),
            ("outcome_quarantine_id", "string", "new quarantine row if quarantined again"),
            ("outcome_rules", "array<string>", "rules the replayed row broke"),
            ("outcome_at", "timestamp", "when the outcome was seen"),
        ),
        write_mode="merge_insert",
    ),
)

TABLES: Mapping[TableName, TableSpec] = {spec.name: spec for spec in _SPECS}


def table(name: TableName | str) -> TableSpec:
    """The declaration of a table by qualified name (`layer.table`); KeyError if unknown."""
    try:
        return TABLES[name]  # type: ignore[index]
    except KeyError:
        known = ", ".join(TABLE_NAMES)
        raise KeyError(f"unknown table {name!r}; known tables: {known}") from None


def location(lake_root: str, name: TableName | str) -> str:
    """Where a table lives: `{lake_root}/{layer}/{table}` (KeyError if not in the catalog)."""
    spec = table(name)
    return f"{lake_root.rstrip('/')}/{spec.layer}/{spec.table}"


def served_tables() -> tuple[TableSpec, ...]:
    """Tables Trino serves (Gold and ops), in catalog order."""
    return tuple(spec for spec in _SPECS if spec.served)
