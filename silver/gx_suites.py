"""Great Expectations suites of the Silver tables, built from `conf/rules/silver_rules.yaml`.

Pure: no IO besides reading the rule file. The suites describe the VALID rows the Silver job
keeps, so a failing expectation on a quarantine-severity rule means a row leaked past the
Silver rule engine. Mapping of rule kinds:

- `not_null` -> `ExpectColumnValuesToNotBeNull` (one per column)
- `accepted_values` -> `ExpectColumnValuesToBeInSet`
- `range` -> `ExpectColumnValuesToBeBetween` (`min_inclusive: false` -> `strict_min`)
- `format` -> `ExpectColumnValuesToMatchRegex` (`pattern`, or a named `reference` format)
- `reference` -> skipped (needs joins; enforced in Spark by the Silver job)

Every suite also expects at least one row. Each expectation carries `meta` with the source
rule name (`<kind>:<column>`), its kind and the GX severity: `critical` when the rule says
`severity: critical`, else `warn` (GX runs after quarantine, it cannot quarantine rows).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import great_expectations as gx
import yaml
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

RULES_PATH = Path(__file__).resolve().parents[1] / "conf" / "rules" / "silver_rules.yaml"
SILVER_TABLES: tuple[str, ...] = tuple(EVENT_TYPES)
SKIPPED_KINDS = frozenset({"reference"})

# Named formats of `format` rules that give a `reference` instead of a `pattern`.
FORMAT_PATTERNS: dict[str, str] = {
    "iso_4217": r"^[A-Z]{3}$",
    "iso_3166_alpha2": r"^[A-Z]{2}$",
}

Rule = Mapping[str, Any]
RuleBook = Mapping[str, Sequence[Rule]]


def load_rules(path: Path = RULES_PATH) -> dict[str, list[dict[str, Any]]]:
    """Rule file as `{section: [rule, ...]}` (`common` applies to every table)."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict):
        raise ValueError(f"rule file {path} must be a mapping of sections")
    return {str(section): list(rules or []) for section, rules in data.items()}


def suite_name(table: str) -> str:
    """Name of the GX suite of one Silver table."""
    return f"silver.{table}"


def gx_severity(rule: Rule) -> Severity:
    """GX severity of a rule: `critical` if the rule says so, else `warn`."""
    return "critical" if rule.get("severity") == "critical" else "warn"


def _meta(rule: Rule, column: str) -> dict[str, Any]:
    return {
        "rule_name": f"{rule['kind']}:{column}",
        "rule_kind": rule["kind"],
        "severity": gx_severity(rule),
    }


def _columns(rule: Rule) -> list[str]:
    if "columns" in rule:
        return [str(c) for c in rule["columns"]]
    if "column" in rule:
        return [str(rule["column"])]
    raise ValueError(f"rule without column(s): {dict(rule)}")


def _pattern(rule: Rule) -> str:
    if "pattern" in rule:
        return str(rule["pattern"])
    reference = rule.get("reference")
    if reference in FORMAT_PATTERNS:
        return FORMAT_PATTERNS[str(reference)]
    raise ValueError(f"format rule needs a pattern or a known reference: {dict(rule)}")


def expectations_for_rule(rule: Rule) -> list[Expectation]:
    """GX expectations of one declared row rule (empty for skipped kinds)."""
    kind = rule.get("kind")
    if kind in SKIPPED_KINDS:
        return []
    out: list[Expectation] = []
    for column in _columns(rule):
        meta = _meta(rule, column)
        if kind == "not_null":
            out.append(ExpectColumnValuesToNotBeNull(column=column, meta=meta))
        elif kind == "accepted_values":
            out.append(
                ExpectColumnValuesToBeInSet(
                    column=column, value_set=list(rule["values"]), meta=meta
                )
            )
        elif kind == "range":
            out.append(
                ExpectColumnValuesToBeBetween(
                    column=column,
                    min_value=rule.get("min"),
                    max_value=rule.get("max"),
                    strict_min=not rule.get("min_inclusive", True),
                    strict_max=not rule.get("max_inclusive", True),
                    meta=meta,
                )
            )
        elif kind == "format":
            out.append(
                ExpectColumnValuesToMatchRegex(column=column, regex=_pattern(rule), meta=meta)
            )
        else:
            raise ValueError(f"unknown rule kind {kind!r}: {dict(rule)}")
    return out


def build_suite(table: str, rules: RuleBook | None = None) -> gx.ExpectationSuite:
    """Suite of one Silver table: common + table rules, plus a row count above zero."""
    book = load_rules() if rules is None else rules
    if table not in book:
        raise ValueError(f"no rules for Silver table {table!r}")
    expectations: list[Expectation] = []
    for rule in [*book.get("common", []), *book[table]]:
        expectations.extend(expectations_for_rule(rule))
    expectations.append(
        ExpectTableRowCountToBeBetween(
            min_value=1,
            meta={"rule_name": "row_count:table", "rule_kind": "row_count", "severity": "warn"},
        )
    )
    return gx.ExpectationSuite(name=suite_name(table), expectations=expectations)


def build_suites(rules: RuleBook | None = None) -> dict[str, gx.ExpectationSuite]:
    """One suite per Silver table."""
    book = load_rules() if rules is None else rules
    return {table: build_suite(table, book) for table in SILVER_TABLES}
