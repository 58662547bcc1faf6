"""GX suites built from the Silver rule file."""

from __future__ import annotations

from typing import Any

import pytest

from silver.gx_suites import (
    FORMAT_PATTERNS,
    SILVER_TABLES,
    build_suite,
    build_suites,
    expectations_for_rule,
    load_rules,
)


def _signature(table: str, rules: Any = None) -> set[tuple[str, str | None]]:
    suite = build_suite(table, rules)
    return {(e.expectation_type, getattr(e, "column", None)) for e in suite.expectations}


def test_one_suite_per_silver_table() -> None:
    suites = build_suites()
    assert set(suites) == {"subscription", "payment", "usage", "operational_cost"}
    assert set(SILVER_TABLES) == set(suites)
    assert {s.name for s in suites.values()} == {f"silver.{t}" for t in SILVER_TABLES}


def test_usage_suite_has_the_declared_expectations() -> None:
    assert _signature("usage") == {
        ("expect_column_values_to_not_be_null", "event_id"),
        ("expect_column_values_to_not_be_null", "event_time"),
        ("expect_column_values_to_match_regex", "event_id"),
        ("expect_column_values_to_be_in_set", "schema_version"),
        ("expect_column_values_to_not_be_null", "customer_id"),
        ("expect_column_values_to_not_be_null", "subscription_id"),
        ("expect_column_values_to_not_be_null", "metric"),
        ("expect_column_values_to_not_be_null", "quantity"),
        ("expect_column_values_to_be_in_set", "metric"),
        ("expect_column_values_to_be_between", "quantity"),
        ("expect_table_row_count_to_be_between", None),
    }


def test_parameters_and_meta_follow_the_rules() -> None:
    by_key = {
        (e.expectation_type, getattr(e, "column", None)): e
        for e in build_suite("payment").expectations
    }
    amount = by_key[("expect_column_values_to_be_between", "amount")]
    assert (amount.min_value, amount.max_value, amount.strict_min) == (0, None, True)
    status = by_key[("expect_column_values_to_be_in_set", "status")]
    assert set(status.value_set) == {"succeeded", "failed", "refunded"}
    currency = by_key[("expect_column_values_to_match_regex", "currency")]
    assert currency.regex == FORMAT_PATTERNS["iso_4217"]
    assert currency.meta == {
        "rule_name": "format:currency",
        "rule_kind": "format",
        "severity": "warn",
    }
    rows = by_key[("expect_table_row_count_to_be_between", None)]
    assert rows.min_value == 1
    quantity = {
        (e.expectation_type, getattr(e, "column", None)): e
        for e in build_suite("subscription").expectations
    }[("expect_column_values_to_be_between", "quantity")]
    assert (quantity.min_value, quantity.strict_min) == (1, False)


def test_reference_rules_are_skipped() -> None:
    rules = load_rules()
    references = [r for section in rules.values() for r in section if r["kind"] == "reference"]
    assert references, "the rule file declares reference rules"
    assert all(expectations_for_rule(r) == [] for r in references)
    names = {e.meta["rule_name"] for s in build_suites().values() for e in s.expectations}
    assert not any(n.startswith("reference:") for n in names)


def test_every_declared_column_rule_becomes_an_expectation() -> None:
    rules = load_rules()
    for table in SILVER_TABLES:
        declared = {
            f"{r['kind']}:{c}"
            for r in [*rules["common"], *rules[table]]
            if r["kind"] != "reference"
            for c in r.get("columns", [r.get("column")])
        }
        built = {e.meta["rule_name"] for e in build_suite(table).expectations}
        assert built == declared | {"row_count:table"}


def test_severity_is_warn_unless_the_rule_says_critical() -> None:
    rules = {
        "common": [],
        "t": [
            {"kind": "not_null", "columns": ["a"]},
            {"kind": "range", "column": "b", "min": 0, "max": 9, "severity": "critical"},
        ],
    }
    suite = build_suite("t", rules)
    severities = {e.meta["rule_name"]: e.meta["severity"] for e in suite.expectations}
    assert severities == {"not_null:a": "warn", "range:b": "critical", "row_count:table": "warn"}


def test_bad_rules_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown rule kind"):
        expectations_for_rule({"kind": "telepathy", "column": "a"})
    with pytest.raises(ValueError, match="pattern"):
        expectations_for_rule({"kind": "format", "column": "a", "reference": "nope"})
    with pytest.raises(ValueError, match="no rules"):
        build_suite("gold_table")
