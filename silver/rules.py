"""Row rules declared in `conf/rules/silver_rules.yaml`, evaluated as Spark expressions.

Every rule yields a name (`<kind>:<column>`, `ref:<table>`) and a violation expression; a
rule on a null value passes (nulls are the business of `not_null`). Rows collect all their
failing rule names in `quarantine_rules` (severity quarantine) and `warn_rules` (warn).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from importlib import resources
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

RuleKind = Literal["not_null", "accepted_values", "range", "format", "reference"]


class RuleSpec(BaseModel):
    """One declared rule (may cover several columns)."""

    model_config = ConfigDict(extra="forbid")

    kind: RuleKind
    column: str | None = None
    columns: list[str] | None = None
    values: list[Any] | None = None
    min: Decimal | None = None
    max: Decimal | None = None
    min_inclusive: bool = True
    pattern: str | None = None
    reference: str | None = None
    table: str | None = None
    date_column: str | None = None
    severity: Literal["warn", "quarantine", "critical"] = "quarantine"


@dataclass(frozen=True)
class Rule:
    """A rule bound to one column."""

    name: str
    kind: RuleKind
    column: str
    spec: RuleSpec


@cache
def _load_yaml(name: str) -> dict[str, Any]:
    text = resources.files("conf").joinpath("rules", name).read_text()
    loaded: dict[str, Any] = yaml.safe_load(text)
    return loaded


def iso_codes(reference: str) -> list[str]:
    """A named ISO code list (iso_4217, iso_3166_alpha2)."""
    codes: list[str] = _load_yaml("iso_codes.yaml")[reference]
    return codes


def rules_for(event_type: str) -> list[Rule]:
    """Rules of one event type (common rules first), one per column."""
    raw = _load_yaml("silver_rules.yaml")
    if event_type not in raw or event_type == "common":
        raise ValueError(f"no rules for Silver table {event_type!r}")
    return bind_rules([*raw["common"], *raw[event_type]])


def bind_rules(items: list[dict[str, Any]]) -> list[Rule]:
    """Validate declared rules and bind them to their columns."""
    out: list[Rule] = []
    for item in items:
        spec = RuleSpec.model_validate(item)
        columns = spec.columns or ([spec.column] if spec.column else [])
        for column in columns:
            name = _rule_name(spec, column)
            out.append(Rule(name, spec.kind, column, spec))
    return out


def _rule_name(spec: RuleSpec, column: str) -> str:
    if spec.kind == "reference":
        return f"ref:{spec.table}"
    prefix = {"accepted_values": "accepted"}.get(spec.kind, spec.kind)
    return f"{prefix}:{column}"


def reference_flag(table: str) -> str:
    """Column the job adds with the outcome of a reference lookup (True = known)."""
    return f"_ref_ok_{table}"


def violation(rule: Rule) -> Column:
    """Boolean expression: True when the row breaks the rule."""
    col = F.col(rule.column)
    spec = rule.spec
    if rule.kind == "not_null":
        return col.isNull()
    if rule.kind == "accepted_values":
        assert spec.values is not None
        return col.isNotNull() & ~col.isin([str(v) for v in spec.values])
    if rule.kind == "range":
        broken = F.lit(False)
        if spec.min is not None:
            low = F.lit(spec.min)
            broken = broken | ((col < low) if spec.min_inclusive else (col <= low))
        if spec.max is not None:
            broken = broken | (col > F.lit(spec.max))
        return col.isNotNull() & broken
    if rule.kind == "format":
        if spec.pattern is not None:
            return col.isNotNull() & ~col.rlike(spec.pattern)
        assert spec.reference is not None
        return col.isNotNull() & ~col.isin(iso_codes(spec.reference))
    assert spec.table is not None
    return col.isNotNull() & ~F.coalesce(F.col(reference_flag(spec.table)), F.lit(False))


def with_rule_results(df: DataFrame, rules: list[Rule]) -> DataFrame:
    """Add `quarantine_rules` and `warn_rules` arrays (appending to existing ones)."""
    quarantine = [F.when(violation(r), F.lit(r.name)) for r in rules if r.spec.severity != "warn"]
    warn = [F.when(violation(r), F.lit(r.name)) for r in rules if r.spec.severity == "warn"]
    existing_q = F.col("quarantine_rules") if "quarantine_rules" in df.columns else F.array()
    existing_w = F.col("warn_rules") if "warn_rules" in df.columns else F.array()
    return df.withColumn(
        "quarantine_rules",
        F.array_distinct(F.concat(existing_q.cast("array<string>"), _compact(quarantine))),
    ).withColumn(
        "warn_rules",
        F.array_distinct(F.concat(existing_w.cast("array<string>"), _compact(warn))),
    )


def _compact(items: list[Column]) -> Column:
    if not items:
        return F.array().cast("array<string>")
    return F.array_compact(F.array(*items))
