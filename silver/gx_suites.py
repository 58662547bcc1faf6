"""Great Expectations suites of the Silver tables, built from the typed Silver rules.

Pure: the suites come from `silver.rules` (the one parser of `conf/rules/silver_rules.yaml`).
They describe the VALID rows the Silver job keeps, so a failing expectation on a
quarantine-severity rule means a row leaked past the Silver rule engine. Mapping of rule kinds:

- `not_null` -> `ExpectColumnValuesToNotBeNull`
- `accepted_values` -> `ExpectColumnValuesToBeInSet`
- `range` -> `ExpectColumnValuesToBeBetween` (`min_inclusive: false` -> `strict_min`)
- `format` -> `ExpectColumnValuesToMatchRegex` (a `pattern`) or `ExpectColumnValuesToBeInSet`
  (a named ISO code list, the same list the row rule uses)
- `reference` -> skipped (needs joins; enforced in Spark by the Silver job)

Every suite also expects at least one row. Each expectation carries `meta` with the rule name
(as the row rule and `ops.dq_results` name it), its kind and the GX severity: `critical` when
the rule says `severity: critical`, else `warn` (GX runs after quarantine, it cannot
quarantine rows).
"""

from __future__ import annotations

from typing import Any

import great_expectations as gx
from great_expectations.expectations.core.expect_column_values_to_be_between import (
    ExpectColumnValuesToBeBetween,
)
from great_expectations.expectations.core.expect_column_values_to_be_in_set import (
    ExpectColumnValuesToBeInSet,
)
from great_expectations.expectations.core.expect_column_values_to_match_regex import (
    ExpectColumnValuesToMatchRegex,
)
from great_expectations.expectations.core.expect_column_values_to_not_be_null import (
    ExpectColumnValuesToNotBeNull,
)
from great_expectations.expectations.core.expect_table_row_count_to_be_between import (
    ExpectTableRowCountToBeBetween,
)
from great_expectations.expectations.expectation import Expectation

from bronze.contracts import EVENT_TYPES
from silver.dq import Severity
from silver.rules import Rule, iso_codes, rules_for

SILVER_TABLES: tuple[str, ...] = tuple(EVENT_TYPES)
SKIPPED_KINDS = frozenset({"reference"})


def suite_name(table: str) -> str:
    """Name of the GX suite of one Silver table."""
    return f"silver.{table}"


def gx_severity(rule: Rule) -> Severity:
    """GX severity of a rule: `critical` if the rule says so, else `warn`."""
    return "critical" if rule.spec.severity == "critical" else "warn"


def _meta(rule: Rule) -> dict[str, Any]:
    return {"rule_name": rule.name, "rule_kind": rule.kind, "severity": gx_severity(rule)}


def expectation_for_rule(rule: Rule) -> Expectation | None:
    """The GX expectation of one bound rule (None for skipped kinds)."""
    spec, column, meta = rule.spec, rule.column, _meta(rule)
    if rule.kind in SKIPPED_KINDS:
        return None
    if rule.kind == "not_null":
        return ExpectColumnValuesToNotBeNull(column=column, meta=meta)
    if rule.kind == "accepted_values":
        values = list(spec.values or [])
        return ExpectColumnValuesToBeInSet(column=column, value_set=values, meta=meta)
    if rule.kind == "range":
        return ExpectColumnValuesToBeBetween(
            column=column,
            min_value=float(spec.min) if spec.min is not None else None,
            max_value=float(spec.max) if spec.max is not None else None,
            strict_min=not spec.min_inclusive,
            meta=meta,
        )
    if spec.pattern is not None:
        return ExpectColumnValuesToMatchRegex(column=column, regex=spec.pattern, meta=meta)
    assert spec.reference is not None
    return ExpectColumnValuesToBeInSet(
        column=column, value_set=iso_codes(spec.reference), meta=meta
    )


def build_suite(table: str, rules: list[Rule] | None = None) -> gx.ExpectationSuite:
    """Suite of one Silver table: its bound rules, plus a row count above zero."""
    bound = rules_for(table) if rules is None else rules
    expectations = [e for r in bound if (e := expectation_for_rule(r)) is not None]
    expectations.append(
        ExpectTableRowCountToBeBetween(
            min_value=1,
            meta={"rule_name": "row_count:table", "rule_kind": "row_count", "severity": "warn"},
        )
    )
    return gx.ExpectationSuite(name=suite_name(table), expectations=expectations)


def build_suites() -> dict[str, gx.ExpectationSuite]:
    """One suite per Silver table."""
    return {table: build_suite(table) for table in SILVER_TABLES}
