"""Reference files are validated row by row with their contracts before anything lands."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from bronze.reference_files import InvalidReferenceFile, validate_reference_file

PLANS_HEADER = "plan_id,plan_name,tier,billing_period,currency,list_price\n"


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_a_good_plan_catalog_counts_its_rows(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "plans.csv",
        PLANS_HEADER + "pro,Pro,pro,monthly,USD,99.00\nent,Ent,enterprise,annual,USD,4990\n",
    )
    assert validate_reference_file(path, "plans", "csv") == 2


def test_a_bad_row_names_its_line_and_field(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "plans.csv",
        PLANS_HEADER + "pro,Pro,pro,monthly,USD,99.00\nent,Ent,enterprise,yearly,USD,4990\n",
    )
    with pytest.raises(InvalidReferenceFile, match=r"plans.csv line 3, field 'billing_period'"):
        validate_reference_file(path, "plans", "csv")


def test_fx_rates_keep_18_significant_digits(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "fx.csv",
        "rate_date,currency,rate_to_usd\n2026-01-02,IDR,0.0000614123456789012345\n",
    )
    assert validate_reference_file(path, "fx_rates", "csv") == 1


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("2026-01-02,EUR,0", r"line 2, field 'rate_to_usd'"),
        ("2026-02-30,EUR,1.1", r"line 2, field 'rate_date'"),
        ("2026-01-02,eur,1.1", r"line 2, field 'currency'"),
        ("2026-01-02,EUR,1.1,extra", r"line 2: more values than header columns"),
    ],
)
def test_bad_fx_rows_are_refused(tmp_path: Path, row: str, message: str) -> None:
    path = _write(tmp_path / "fx.csv", f"rate_date,currency,rate_to_usd\n{row}\n")
    with pytest.raises(InvalidReferenceFile, match=message):
        validate_reference_file(path, "fx_rates", "csv")


def test_duplicate_keys_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "fx.jsonl"
    rows = [{"rate_date": "2026-01-02", "currency": "EUR", "rate_to_usd": 1.1}] * 2
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    with pytest.raises(InvalidReferenceFile, match=r"line 2: duplicate rate_date/currency"):
        validate_reference_file(path, "fx_rates", "jsonl")


def test_parquet_rows_are_validated(tmp_path: Path) -> None:
    path = tmp_path / "fx.parquet"
    table = pa.table({"rate_date": ["2026-01-02"], "currency": ["GBP"], "rate_to_usd": ["1.27"]})
    pq.write_table(table, path)
    assert validate_reference_file(path, "fx_rates", "parquet") == 1
    pq.write_table(pa.table({"rate_date": ["2026-01-02"], "currency": ["GBP"]}), path)
    with pytest.raises(InvalidReferenceFile, match=r"row 1, field 'rate_to_usd'"):
        validate_reference_file(path, "fx_rates", "parquet")
