"""Data-quality results and Silver's table checks (pure: counts in, `DQResult`s out).

Row rules are declared in `conf/rules/silver_rules.yaml`; here live the table-level gates a
Silver run answers to: the quarantine ratio (every quarantine reason counts, `too_late`
included), schema drift, freshness of arrivals, volume anomalies and unknown payload fields.
A failing gate's `details` names the top reasons with counts and how to fix them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

Severity = Literal["warn", "quarantine", "critical"]
CheckKind = Literal["row_rule", "table_check", "gx", "model_test"]

SCHEMA_DRIFT_MIN_ROWS = 20  # a missing field on (almost) every row of a real batch
SCHEMA_DRIFT_SHARE = 0.95
TOP_REASONS = 3

# How to fix the usual causes of quarantined rows (by rule name or prefix).
_HINTS: tuple[tuple[str, str], ...] = (
    (
        "too_late",
        "rows older than the {horizon}-day restatement horizon — load history with "
        "`finlake ingest FILE --type TYPE --historical`",
    ),
    (
        "ref:fx_rates",
        "no FX rate within {staleness} days on or before the row's date — load rates with "
        "`finlake ingest FILE --type fx_rates`",
    ),
    ("ref:plans", "plan not in the catalog — load it with `finlake ingest FILE --type plans`"),
    (
        "ref:customers",
        "payment of a customer without an accepted subscription event — load subscriptions "
        "first (and check why they were quarantined)",
    ),
    ("ref:refunded_payment", "refund without a succeeded payment of the same invoice_id"),
    ("malformed:", "lines that are not UTF-8 JSON objects — fix the file and re-ingest it"),
    ("not_null:", "required field missing — check the file's columns against the contract"),
    ("type:", "value does not parse as the contract type — check the file's formats"),
    ("conflicting_duplicate", "same event_id sent again with a different payload"),
    ("future_event_time", "event_time later than the arrival time"),
)


@dataclass(frozen=True)
class DQResult:
    """One check outcome; `status` is `passed` or `failed`."""

    table_name: str
    check_kind: CheckKind
    rule_name: str
    severity: Severity
    status: Literal["passed", "failed"]
    rows_checked: int | None = None
    failed_rows: int | None = None
    observed_value: str | None = None
    threshold: str | None = None
    details: str | None = None
    checked_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))

    @property
    def is_critical_failure(self) -> bool:
        """A failed check of critical severity."""
        return self.status == "failed" and self.severity == "critical"

    def as_row(self, run_id: str) -> tuple[object, ...]:
        """Row in the column order of `ops.dq_results`."""
        return (
            run_id,
            self.checked_at.replace(tzinfo=None),
            self.table_name,
            self.check_kind,
            self.rule_name,
            self.severity,
            self.status,
            self.rows_checked,
            self.failed_rows,
            self.observed_value,
            self.threshold,
            self.details,
        )

    def describe(self) -> str:
        """One line: table, rule and what was seen."""
        text = f"{self.table_name}:{self.rule_name}"
        if self.details:
            text += f" — {self.details}"
        elif self.observed_value is not None:
            text += f" (observed {self.observed_value}, expected {self.threshold})"
        return text


class DQCriticalFailure(RuntimeError):
    """Raised after DQ results are written when a critical check failed."""

    def __init__(self, failures: list[DQResult]) -> None:
        lines = "; ".join(f.describe() for f in failures)
        super().__init__(f"critical data-quality failure: {lines}")
        self.failures = failures


@dataclass(frozen=True)
class GateLimits:
    """Thresholds of the Silver table gates (from Settings)."""

    max_quarantine_ratio: float
    min_rows: int
    horizon_days: int
    fx_max_staleness_days: int
    freshness_max_hours: float
    volume_anomaly_factor: float


def hint(rule_name: str, limits: GateLimits) -> str:
    """How to fix rows quarantined by `rule_name` (empty if no advice is known)."""
    for prefix, text in _HINTS:
        if rule_name.startswith(prefix):
            return text.format(horizon=limits.horizon_days, staleness=limits.fx_max_staleness_days)
    return ""


def quarantine_ratio_check(
    table: str, rows_in: int, quarantined: int, reasons: Mapping[str, int], limits: GateLimits
) -> DQResult:
    """Critical gate: quarantined / rows <= the limit.

    Checked from `min_rows` rows on, and always when every row of the type was quarantined
    (a load that lands nothing fails loudly, whatever its size).
    """
    ratio = quarantined / rows_in if rows_in else 0.0
    applies = rows_in >= limits.min_rows or (rows_in > 0 and quarantined == rows_in)
    failed = applies and ratio > limits.max_quarantine_ratio
    details = None
    if quarantined:
        top = sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_REASONS]
        parts = []
        for name, count in top:
            advice = hint(name, limits)
            parts.append(f"{name} {count}" + (f" ({advice})" if advice else ""))
        details = f"{quarantined} of {rows_in} rows quarantined: " + "; ".join(parts)
    return DQResult(
        table,
        "table_check",
        "quarantine_ratio",
        "critical",
        "failed" if failed else "passed",
        rows_in,
        quarantined,
        f"{ratio:.4f}",
        f"<= {limits.max_quarantine_ratio} (from {limits.min_rows} rows)",
        details,
    )


def schema_drift_checks(
    table: str, rows_in: int, rule_failures: Mapping[str, int]
) -> list[DQResult]:
    """Critical: a required field missing from nearly every row of a real batch."""
    out: list[DQResult] = []
    if rows_in < SCHEMA_DRIFT_MIN_ROWS:
        return out
    for name, failed in sorted(rule_failures.items()):
        share = failed / rows_in
        if name.startswith("not_null:") and share >= SCHEMA_DRIFT_SHARE:
            column = name.split(":", 1)[1]
            out.append(
                DQResult(
                    table,
                    "table_check",
                    f"schema_drift:{column}",
                    "critical",
                    "failed",
                    rows_in,
                    failed,
                    f"{share:.4f}",
                    f"< {SCHEMA_DRIFT_SHARE}",
                    f"required field {column!r} missing from {failed} of {rows_in} payloads: "
                    "the producer's schema changed",
                )
            )
    return out


def freshness_check(
    table: str, latest_arrival: dt.datetime | None, as_of: dt.datetime, limits: GateLimits
) -> DQResult | None:
    """Critical: data of this type still arrives (latest `received_at` within the limit).

    Freshness measures arrival, not business time, so a history load never trips it and a
    feed that stops arriving does. No result for a type that never arrived.
    """
    if latest_arrival is None:
        return None
    lag_h = (as_of - latest_arrival).total_seconds() / 3600
    failed = lag_h > limits.freshness_max_hours
    details = (
        f"nothing has arrived for {lag_h:.0f} h (latest at {latest_arrival.isoformat()}): "
        "is the feed still running?"
        if failed
        else None
    )
    return DQResult(
        table,
        "table_check",
        "freshness",
        "critical",
        "failed" if failed else "passed",
        observed_value=f"{lag_h:.1f}h",
        threshold=f"<= {limits.freshness_max_hours}h",
        details=details,
    )


def volume_checks(
    table: str, rows_in: int, trailing_mean: float | None, limits: GateLimits
) -> list[DQResult]:
    """Warn when a batch is far larger or smaller than the trailing runs; record the volume."""
    out: list[DQResult] = []
    if trailing_mean and rows_in:
        factor = rows_in / trailing_mean
        bad = factor > limits.volume_anomaly_factor or factor < 1 / limits.volume_anomaly_factor
        out.append(
            DQResult(
                table,
                "table_check",
                "volume_anomaly",
                "warn",
                "failed" if bad else "passed",
                rows_in,
                observed_value=f"{factor:.2f}x trailing mean",
                threshold=f"within {limits.volume_anomaly_factor}x",
            )
        )
    out.append(DQResult(table, "table_check", "volume", "warn", "passed", rows_in))
    return out


def unknown_fields_check(table: str, unknown: list[str]) -> DQResult:
    """Warn: payload fields the contract does not declare (contract drift)."""
    return DQResult(
        table,
        "table_check",
        "schema_drift:unknown_fields",
        "warn",
        "failed" if unknown else "passed",
        observed_value=",".join(sorted(unknown)) or None,
    )
