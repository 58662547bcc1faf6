"""The table catalog is the one declaration: consistent, documented and complete."""

from __future__ import annotations

import ast
import importlib.util
import re
from pathlib import Path

from conf.catalog import TABLE_NAMES, TABLES, served_tables, table
from jobs import table_docs

ROOT = Path(__file__).resolve().parents[2]


def test_every_name_is_declared_once_with_a_valid_spec() -> None:
    assert tuple(TABLES) == TABLE_NAMES
    for spec in TABLES.values():
        columns = set(spec.column_names)
        assert spec.columns or spec.contract or spec.layer in ("gold", "ops"), spec.name
        if columns:
            assert set(spec.key) <= columns, spec.name
            assert set(spec.not_null) <= columns, spec.name
            assert {fk.column for fk in spec.foreign_keys} <= columns, spec.name
        if spec.write_mode == "replace_range":
            assert spec.range_column in columns, spec.name
        for fk in spec.foreign_keys:
            assert fk.target_column in table(fk.table).column_names, (spec.name, fk)
        assert (ROOT / spec.module).exists(), (spec.name, spec.module)


def test_trino_serves_gold_and_ops_only() -> None:
    served = {spec.layer for spec in served_tables()}
    assert served == {"gold", "ops"}
    assert {s.name for s in served_tables()} >= {"gold.mrr_daily", "ops.dq_results"}


def _is_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:
        return False


def test_every_table_literal_in_the_code_is_declared() -> None:
    """Jobs name tables as catalog literals ("layer.table"); each must exist."""
    pattern = re.compile(r"^(bronze|silver|gold|ops)\.[a-z_]+$")
    for folder in ("jobs", "api", "gold", "silver", "forecasting"):
        for path in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                value = node.value if isinstance(node, ast.Constant) else None
                if isinstance(value, str) and pattern.match(value) and not _is_module(value):
                    assert value in TABLES, f"{path}: {value}"


def test_no_path_literals_outside_the_io_layer() -> None:
    """Nothing builds `table_path("<layer>", "<name>")` by hand any more."""
    for folder in ("jobs", "api", "gold", "silver", "bronze", "forecasting"):
        for path in (ROOT / folder).rglob("*.py"):
            assert "table_path(" not in path.read_text(), path


def test_docs_tables_md_is_up_to_date() -> None:
    assert table_docs.main(["--check"]) == 0, "run `python -m jobs.table_docs`"
