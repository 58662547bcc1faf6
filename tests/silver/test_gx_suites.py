"""GX suites built from the typed Silver rules (one parser of the rule file)."""

from __future__ import annotations

import pytest

from silver.gx_suites import SILVER_TABLES, build_suite, build_suites, expectation_for_rule
from silver.rules import bind_rules, iso_codes, rules_for


def _by_key(table: str) -> dict[tuple[str, str | None], object]:
    return {
        (e.expectation_type, getattr(e, "column", None)): e for e in build_suite(table).expectations
    }


def test_one_suite_per_silver_table() -> None:
    suites = build_suites()
    assert (
        set(suites)
        == set(SILVER_TABLES)
        == {
            "subscription",
            "payment",
            "usage",
            "operational_cost",
        }
    )
    assert {s.name for s in suites.values()} == {f"silver.{t}" for t in SILVER_TABLES}


def test_usage_suite_has_the_declared_expectations() -> None:
    assert set(_by_key("usage")) == {
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
    payment = _by_key("payment")
    amount = payment[("expect_column_values_to_be_between", "amount")]
    assert (amount.min_value, amount.max_value, amount.strict_min) == (0, None, True)  # type: ignore[attr-defined]
    status = payment[("expect_column_values_to_be_in_set", "status")]
    assert set(status.value_set) == {"succeeded", "failed", "refunded"}  # type: ignore[attr-defined]
    currency = payment[("expect_column_values_to_be_in_set", "currency")]
    assert currency.value_set == iso_codes("iso_4217")  # the row rule's own ISO list  # type: ignore[attr-defined]
    assert currency.meta == {
        "rule_name": "format:currency",
        "rule_kind": "format",
        "severity": "warn",
    }  # type: ignore[attr-defined]
    quantity = _by_key("subscription")[("expect_column_values_to_be_between", "quantity")]
    assert (quantity.min_value, quantity.strict_min) == (1, False)  # type: ignore[attr-defined]


def test_every_declared_column_rule_becomes_an_expectation_named_like_the_row_rule() -> None:
    for table in SILVER_TABLES:
        declared = {r.name for r in rules_for(table) if r.kind != "reference"}
        built = {e.meta["rule_name"] for e in build_suite(table).expectations}
        assert built == declared | {"row_count:table"}
    references = [r for t in SILVER_TABLES for r in rules_for(t) if r.kind == "reference"]
    assert references and all(expectation_for_rule(r) is None for r in references)


def test_severity_is_warn_unless_the_rule_says_critical() -> None:
    rules = bind_rules(
        [
            {"kind": "not_null", "columns": ["a"]},
            {"kind": "range", "column": "b", "min": 0, "max": 9, "severity": "critical"},
        ]
    )
    severities = {
        e.meta["rule_name"]: e.meta["severity"] for e in build_suite("t", rules).expectations
    }
    assert severities == {"not_null:a": "warn", "range:b": "critical", "row_count:table": "warn"}


def test_bad_rules_are_refused() -> None:
    with pytest.raises(ValueError, match="kind"):
        bind_rules([{"kind": "telepathy", "column": "a"}])
    with pytest.raises(ValueError, match="no rules"):
        build_suite("gold_table")
