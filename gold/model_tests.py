"""Model tests of Gold tables (the dbt `tests:` idea), declared in the table catalog.

Row tests (not-null columns and invariants) evaluate in one aggregation over the rows a run
wrote; foreign keys are anti-joins against the referenced tables. Results become `DQResult`s
(`check_kind = model_test`) recorded in `ops.dq_results`; a failing critical test fails the run.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from conf.catalog import ForeignKey, Severity, TableSpec


@dataclass(frozen=True)
class RowTest:
    """A named boolean that is True on a failing row."""

    name: str
    severity: Severity
    failing: Column


def row_tests(spec: TableSpec) -> list[RowTest]:
    """Not-null tests (declared `not_null` and non-nullable columns) and invariants."""
    columns = list(spec.not_null)
    columns += [c.name for c in spec.columns if not c.nullable and c.name not in columns]
    tests = [RowTest(f"not_null:{c}", "critical", F.col(c).isNull()) for c in columns]
    tests += [
        RowTest(f"invariant:{i.name}", i.severity, ~F.coalesce(F.expr(i.sql), F.lit(False)))
        for i in spec.invariants
    ]
    return tests


def to_row_test_counts(df: DataFrame, tests: list[RowTest]) -> DataFrame:
    """One row: `_rows` and the failing-row count of every test (column = test name)."""
    return df.agg(
        F.count(F.lit(1)).alias("_rows"),
        *[F.sum(t.failing.cast("long")).alias(t.name) for t in tests],
    )


def to_fk_violations(df: DataFrame, fk: ForeignKey, target_df: DataFrame) -> DataFrame:
    """Distinct values of `fk.column` missing from `target_df[fk.target_column]`."""
    values = df.select(F.col(fk.column).alias("_v")).filter(F.col("_v").isNotNull()).distinct()
    targets = target_df.select(F.col(fk.target_column).alias("_v")).distinct()
    return values.join(targets, "_v", "left_anti")
