"""The README's `finlake sql` examples run against a real Trino over the served Gold lake."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from conf.settings import Settings, get_settings
from jobs.cli import main
from jobs.sql import run_query

pytestmark = [pytest.mark.integration, pytest.mark.trino]

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_queries() -> list[str]:
    """The query of every `finlake sql` line between the README's sql-examples markers."""
    text = README.read_text(encoding="utf-8")
    block = re.search(r"<!-- sql-examples.*?-->(.*?)<!-- /sql-examples -->", text, re.S)
    assert block, "README lost its sql-examples block"
    queries = []
    for line in block.group(1).splitlines():
        if line.startswith("finlake sql "):
            queries.append(shlex.split(line)[2])
    return queries


def test_readme_has_the_promised_examples() -> None:
    queries = readme_queries()
    assert len(queries) >= 5
    assert any("FOR VERSION AS OF" in q for q in queries)
    assert any('"mrr_daily$history"' in q for q in queries)
    assert all("gold." in q for q in queries)


@pytest.mark.parametrize("query", readme_queries())
def test_readme_query_runs(
    query: str, metrics_lake: dict[str, str], trino_server: Settings
) -> None:
    result = run_query(trino_server, query, max_rows=100)
    assert result.columns and result.rows, query


def test_finlake_sql_prints_a_table(
    metrics_lake: dict[str, str],
    trino_server: Settings,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FINLAKE_TRINO_PORT", str(trino_server.trino_port))
    get_settings.cache_clear()
    try:
        assert main(["sql", "SELECT region, count(*) AS days FROM gold.revenue_region_daily "
                     "GROUP BY region ORDER BY region"]) == 0  # fmt: skip
        out = capsys.readouterr()
        assert re.search(r"APAC\s+90", out.out) and "region" in out.out
        assert "3 row(s)" in out.err
        assert main(["sql", "SELECT * FROM gold.no_such_table"]) == 2
        err = capsys.readouterr().err
        assert "error: Trino:" in err and "finlake trino register" in err
    finally:
        get_settings.cache_clear()
