"""Generate `docs/tables.md` from the table catalog: `python -m jobs.table_docs [--check]`.

Every table with its grain, key, write mode, partitioning, whether Trino serves it, the module
that computes it, its model tests and its columns. `--check` exits 1 when the committed file is
out of date (a test runs it).
"""

from __future__ import annotations

import argparse
import sys
import types
import typing
from collections.abc import Sequence
from pathlib import Path

from bronze.contracts import EVENT_MODELS
from conf.catalog import SILVER_LINEAGE, TABLES, Column, TableSpec

DOC_PATH = Path(__file__).resolve().parents[1] / "docs" / "tables.md"
HEADER = """# Tables

Generated from the table catalog (`conf/catalog.py`) by `python -m jobs.table_docs`; do not edit
by hand. Every table lives at `{lake_root}/{layer}/{table}` as a Delta table; Trino serves the
Gold and ops tables marked *served* as `delta.<layer>.<table>`. Money is `decimal(18,4)` USD
unless a column says otherwise.
"""


def _contract_columns(spec: TableSpec) -> list[Column]:
    model = EVENT_MODELS[spec.contract]  # type: ignore[index]
    out = []
    for name, info in model.model_fields.items():
        kind = _type_name(info.annotation)
        out.append(Column(name, kind, "contract field", nullable=not info.is_required()))
    return [*out, *SILVER_LINEAGE]


def _type_name(annotation: object) -> str:
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _type_name(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return _type_name(next(a for a in typing.get_args(annotation) if a is not type(None)))
    name = getattr(annotation, "__name__", str(annotation))
    return {
        "str": "string",
        "int": "bigint",
        "Decimal": "decimal(18,4)",
        "AwareDatetime": "timestamp",
        "datetime": "timestamp",
        "date": "date",
    }.get(name, name)


def _section(spec: TableSpec) -> list[str]:
    lines = [f"## `{spec.name}`", "", spec.description, ""]
    lines.append(f"- **grain**: {spec.grain}")
    lines.append(f"- **key**: `{', '.join(spec.key)}`")
    mode = spec.write_mode + (f" on `{spec.range_column}`" if spec.range_column else "")
    lines.append(f"- **written**: {mode}; computed by `{spec.module}`")
    if spec.partition_by:
        lines.append(f"- **partitioned by**: `{', '.join(spec.partition_by)}`")
    if spec.served:
        lines.append(f"- **served by Trino** as `delta.{spec.layer}.{spec.table}`")
    tests = [f"not_null `{c}`" for c in spec.not_null]
    tests += [f"fk `{f.column}` -> `{f.table}.{f.target_column}`" for f in spec.foreign_keys]
    tests += [f"{i.name}: `{i.sql}`" for i in spec.invariants]
    if tests:
        lines.append(f"- **tests**: {'; '.join(tests)}")
    columns = _contract_columns(spec) if spec.contract else list(spec.columns)
    if columns:
        lines += ["", "| column | type | null | meaning |", "|---|---|---|---|"]
        for c in columns:
            null = "yes" if c.nullable else "no"
            lines.append(f"| `{c.name}` | {c.type} | {null} | {c.description} |")
    else:
        lines += ["", f"Columns are written by `{spec.module}` (see that module)."]
    return [*lines, ""]


def render() -> str:
    """The whole document."""
    lines = [HEADER]
    for layer in ("bronze", "silver", "gold", "ops"):
        for spec in TABLES.values():
            if spec.layer == layer:
                lines += _section(spec)
    return "\n".join(lines).rstrip() + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Write (or `--check`) docs/tables.md."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the file is out of date")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        current = DOC_PATH.read_text() if DOC_PATH.exists() else ""
        if current != text:
            print(f"{DOC_PATH} is out of date: run `python -m jobs.table_docs`", file=sys.stderr)
            return 1
        return 0
    DOC_PATH.write_text(text)
    print(f"wrote {DOC_PATH}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
