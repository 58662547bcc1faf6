"""dbt-style Spark SQL models: one `.sql` file per table with its grain, key and tests.

A model file starts with header comments::

    -- grain: revenue_date x region
    -- key: revenue_date, region
    -- not_null: revenue_date, region, net_revenue_usd
    -- fk: region -> dim_region.region
    -- depends_on: revenue_daily, costs_daily, dim_region

and the body is one SELECT over the views named in `depends_on`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

from pyspark.sql import DataFrame, SparkSession

_HEADER = re.compile(r"^--\s*(grain|key|not_null|fk|depends_on|invariant):\s*(.+)$")


@dataclass(frozen=True)
class SqlModel:
    """A parsed model file."""

    name: str
    sql: str
    grain: str
    key: tuple[str, ...]
    not_null: tuple[str, ...]
    foreign_keys: tuple[tuple[str, str, str], ...]
    depends_on: tuple[str, ...]
    invariants: tuple[str, ...]


def _split(value: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in value.split(",") if v.strip())


@cache
def load_model(name: str) -> SqlModel:
    """Parse `gold/models/<name>.sql`."""
    text = resources.files("gold").joinpath("models", f"{name}.sql").read_text()
    meta: dict[str, list[str]] = {}
    for line in text.splitlines():
        match = _HEADER.match(line.strip())
        if match:
            meta.setdefault(match[1], []).append(match[2].strip())
    fks = []
    for item in meta.get("fk", []):
        for fk in _split(item):
            column, target = (p.strip() for p in fk.split("->"))
            table, target_column = target.split(".")
            fks.append((column, table, target_column))
    return SqlModel(
        name=name,
        sql=text,
        grain=meta.get("grain", [""])[0],
        key=_split(",".join(meta.get("key", []))),
        not_null=_split(",".join(meta.get("not_null", []))),
        foreign_keys=tuple(fks),
        depends_on=_split(",".join(meta.get("depends_on", []))),
        invariants=tuple(meta.get("invariant", [])),
    )


def run_model(spark: SparkSession, name: str, inputs: dict[str, DataFrame]) -> DataFrame:
    """Evaluate a model over the given input frames (registered as temp views)."""
    model = load_model(name)
    missing = set(model.depends_on) - set(inputs)
    if missing:
        raise ValueError(f"model {name} needs {sorted(missing)}")
    for view in model.depends_on:
        inputs[view].createOrReplaceTempView(view)
    return spark.sql(model.sql)
