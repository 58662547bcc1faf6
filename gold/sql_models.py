"""dbt-style Spark SQL models: one `.sql` file per table, one SELECT over named inputs.

A model file starts with header comments naming its table, grain and inputs::

    -- table: gold.revenue_region_daily (grain, key and tests: conf/catalog.py)
    -- grain: revenue_date x region
    -- depends_on: revenue_daily, costs_daily

Keys, not-null columns, foreign keys and invariants are declared once, in the table catalog,
and run after the model builds (`gold.model_tests`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

from pyspark.sql import DataFrame, SparkSession

_HEADER = re.compile(r"^--\s*(table|grain|depends_on):\s*(.+)$")


@dataclass(frozen=True)
class SqlModel:
    """A parsed model file."""

    name: str
    sql: str
    grain: str
    depends_on: tuple[str, ...]


@cache
def load_model(name: str) -> SqlModel:
    """Parse `gold/models/<name>.sql`."""
    text = resources.files("gold").joinpath("models", f"{name}.sql").read_text()
    meta: dict[str, str] = {}
    for line in text.splitlines():
        match = _HEADER.match(line.strip())
        if match:
            meta.setdefault(match[1], match[2].strip())
    depends = tuple(v.strip() for v in meta.get("depends_on", "").split(",") if v.strip())
    return SqlModel(name=name, sql=text, grain=meta.get("grain", ""), depends_on=depends)


def run_model(spark: SparkSession, name: str, inputs: dict[str, DataFrame]) -> DataFrame:
    """Evaluate a model over the given input frames (registered as temp views)."""
    model = load_model(name)
    missing = set(model.depends_on) - set(inputs)
    if missing:
        raise ValueError(f"model {name} needs {sorted(missing)}")
    for view in model.depends_on:
        inputs[view].createOrReplaceTempView(view)
    return spark.sql(model.sql)
