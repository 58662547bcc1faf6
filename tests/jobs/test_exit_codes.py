"""The DAGs' copy of the exit codes equals `jobs/exit_codes.py` (DAGs import nothing of ours)."""

from __future__ import annotations

import ast
from pathlib import Path

from jobs import exit_codes


def _constants(path: Path) -> dict[str, int]:
    tree = ast.parse(path.read_text())
    out: dict[str, int] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
            for target in node.targets:
                if isinstance(target, ast.Name) and target.id.startswith("EXIT_"):
                    out[target.id] = int(node.value.value)
    return out


def test_dag_exit_codes_match_the_jobs() -> None:
    dags = _constants(Path(__file__).resolve().parents[2] / "dags" / "_common.py")
    jobs = {k: v for k, v in vars(exit_codes).items() if k.startswith("EXIT_")}
    assert dags, "dags/_common.py declares no EXIT_ constants"
    for name, value in dags.items():
        assert jobs[name] == value, name
    assert len(set(jobs.values())) == len(jobs), "exit codes must be distinct"
