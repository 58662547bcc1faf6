"""The JVM-free Delta reader: rows, filters, and a process that exits cleanly after reading."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pyarrow as pa
from deltalake import DeltaTable, write_deltalake

from jobs import lake_reader

REPO = Path(__file__).resolve().parents[2]


def _small_tables(root: Path, count: int = 5) -> list[Path]:
    paths = []
    for i in range(count):
        path = root / f"t{i}"
        for label in ("x", "y"):
            frame = pa.table({"n": list(range(100)), "label": [label] * 100})
            write_deltalake(str(path), frame, mode="append")
        paths.append(path)
    return paths


def test_rows_columns_and_filters(tmp_path: Path) -> None:
    (path,) = _small_tables(tmp_path, count=1)
    table = DeltaTable(str(path))
    rows = lake_reader.read_table_rows(
        table, columns=["n"], filters=[("label", "=", "x"), ("n", "in", (3, 4, 500))]
    )
    assert sorted(rows, key=lambda r: r["n"]) == [{"n": 3}, {"n": 4}]
    assert len(lake_reader.read_table_rows(table, filters=[("n", ">=", 98)])) == 4


def test_a_process_that_read_tables_exits_cleanly(tmp_path: Path) -> None:
    """Regression: with Arrow's threaded scan about 4 in 10 such processes aborted at exit.

    ("terminate called without an active exception", exit 134; the CLI's `dq report`
    failed CI with it.) Twelve clean exits in a row would happen by chance with the bug
    about twice in a thousand runs.
    """
    paths = _small_tables(tmp_path)
    script = textwrap.dedent(
        f"""
        from deltalake import DeltaTable
        from jobs import lake_reader
        for path in {[str(p) for p in paths]!r}:
            rows = lake_reader.read_table_rows(DeltaTable(path), filters=[("label", "=", "x")])
            assert len(rows) == 100
        """
    )
    for _ in range(12):
        done = subprocess.run(
            [sys.executable, "-c", script],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
