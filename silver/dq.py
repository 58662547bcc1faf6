"""Data-quality result records shared by Silver's rule engine, GX suites and the job gate."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Literal

from pyspark.sql import types as T

Severity = Literal["warn", "quarantine", "critical"]
CheckKind = Literal["row_rule", "table_check", "gx"]

DQ_RESULTS_SCHEMA = T.StructType(
    [
        T.StructField("run_id", T.StringType(), False),
        T.StructField("checked_at", T.TimestampType(), False),
        T.StructField("table_name", T.StringType(), False),
        T.StructField("check_kind", T.StringType(), False),
        T.StructField("rule_name", T.StringType(), False),
        T.StructField("severity", T.StringType(), False),
        T.StructField("status", T.StringType(), False),
        T.StructField("rows_checked", T.LongType(), True),
        T.StructField("failed_rows", T.LongType(), True),
        T.StructField("observed_value", T.StringType(), True),
        T.StructField("threshold", T.StringType(), True),
        T.StructField("details", T.StringType(), True),
    ]
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
        """Row matching `DQ_RESULTS_SCHEMA`."""
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


class DQCriticalFailure(RuntimeError):
    """Raised after DQ results are written when a critical check failed."""

    def __init__(self, failures: list[DQResult]) -> None:
        names = ", ".join(f"{f.table_name}:{f.rule_name}" for f in failures)
        super().__init__(f"critical data-quality failure: {names}")
        self.failures = failures
