"""Reference files (plan catalog, FX rates): formats, keys and row-by-row validation.

`finlake ingest FILE --type plans|fx_rates` validates every row with the `PlanRecord` /
`FxRateRecord` contract before anything lands; the first bad row stops the file with one line
naming the row and field, so a reference set is either landed whole or not at all.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ValidationError

from bronze.contracts import FxRateRecord, PlanRecord

ReferenceName = Literal["plans", "fx_rates"]
REFERENCE_FORMATS: tuple[str, ...] = ("csv", "jsonl", "parquet")
REFERENCE_MODELS: dict[ReferenceName, type[BaseModel]] = {
    "plans": PlanRecord,
    "fx_rates": FxRateRecord,
}
REFERENCE_KEYS: dict[ReferenceName, tuple[str, ...]] = {
    "plans": ("plan_id",),
    "fx_rates": ("rate_date", "currency"),
}
_SUFFIXES = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet"}


class InvalidReferenceFile(ValueError):
    """A reference file that does not match its contract (nothing was landed)."""


def reference_format(key: str) -> str | None:
    """Format of a reference object from its suffix (None if not a reference file)."""
    return _SUFFIXES.get(Path(key).suffix.lower())


def _rows(path: Path, fmt: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """(position, row) of every data row; position reads `line N` or `row N`."""
    if fmt == "parquet":
        import pyarrow.parquet as pq

        table = pq.read_table(path)
        for index, row in enumerate(table.to_pylist(), start=1):
            yield f"row {index}", {k: (str(v) if v is not None else None) for k, v in row.items()}
        return
    text = path.read_bytes().decode("utf-8-sig")
    if fmt == "csv":
        reader = csv.DictReader(io.StringIO(text))
        for row in reader:
            if None in row:
                raise InvalidReferenceFile(
                    f"{path.name} line {reader.line_num}: more values than header columns"
                )
            yield f"line {reader.line_num}", dict(row)
        return
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line, parse_float=Decimal)
        except ValueError as exc:
            raise InvalidReferenceFile(f"{path.name} line {number}: not JSON ({exc})") from None
        if not isinstance(value, dict):
            raise InvalidReferenceFile(f"{path.name} line {number}: not a JSON object")
        yield f"line {number}", value


def validate_reference_file(path: Path, name: ReferenceName, fmt: str) -> int:
    """Validate every row of a reference file; return the row count or raise one line."""
    model = REFERENCE_MODELS[name]
    seen: dict[tuple[Any, ...], str] = {}
    count = 0
    for position, row in _rows(path, fmt):
        try:
            record = model.model_validate(row)
        except ValidationError as exc:
            error = exc.errors()[0]
            field = ".".join(str(p) for p in error["loc"]) or "(row)"
            raise InvalidReferenceFile(
                f"{path.name} {position}, field {field!r}: {error['msg']}"
                + (f" (got {error['input']!r})" if field in row else "")
            ) from None
        key = tuple(getattr(record, k) for k in REFERENCE_KEYS[name])
        if key in seen:
            raise InvalidReferenceFile(
                f"{path.name} {position}: duplicate {'/'.join(REFERENCE_KEYS[name])} "
                f"{'/'.join(map(str, key))} (first at {seen[key]})"
            )
        seen[key] = position
        count += 1
    if not count:
        raise InvalidReferenceFile(f"{path.name}: no rows")
    return count
