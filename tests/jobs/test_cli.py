"""The `finlake` CLI: one error line + hint and exit codes, checks before Spark, quick reads.

Commands run in a fresh interpreter where the claim is about the process (no Spark imported,
the console output a user sees); elsewhere in-process through `jobs.cli.main`.
"""

from __future__ import annotations

import argparse
import importlib
import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from deltalake import write_deltalake
from rich.console import Console

from conf.settings import PLACEHOLDER_API_KEY, Settings, get_settings
from jobs import cli, console, pipeline
from jobs.config_cmd import DOCS_PATH, settings_reference
from jobs.exit_codes import EXIT_DQ_CRITICAL, EXIT_UNAVAILABLE, EXIT_USAGE
from jobs.observability import RunRecord

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def lake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty lake root the CLI's settings point at."""
    root = tmp_path / "lake"
    monkeypatch.setenv("FINLAKE_LAKE_ROOT", str(root))
    get_settings.cache_clear()
    yield root
    get_settings.cache_clear()


def _finlake(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`finlake ARGS` in a fresh interpreter (stdout/stderr are pipes, not a terminal)."""
    code = (
        "import sys\nfrom jobs.cli import main\nrc = main(sys.argv[1:])\n"
        "ctx = getattr(sys.modules.get('pyspark'), 'SparkContext', None)\n"
        "started = ctx is not None and ctx._active_spark_context is not None\n"
        "print('SPARK STARTED' if started else 'no spark', file=sys.stderr)\n"
        "sys.exit(rc)"
    )
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        env={**os.environ, "PYTHONPATH": str(REPO), **(env or {})},
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _bronze(lake: Path, versions: int) -> None:
    """bronze.events with `versions` commits (written with delta-rs; no Spark needed)."""
    for i in range(versions):
        rows = pa.table({"event_id": [f"e{i}"], "event_type": ["usage"], "line_number": [i]})
        write_deltalake(str(lake / "bronze" / "events"), rows, mode="append")


# ------------------------------------------------------------------------- parser


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _walk(parser: argparse.ArgumentParser, path: str) -> Iterator[tuple[str, argparse.Action]]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _walk(sub, f"{path} {name}")
        else:
            yield path, action


def test_command_map_names_each_module_and_its_commands() -> None:
    for module_name in cli.COMMAND_MODULES:
        parser = argparse.ArgumentParser()
        importlib.import_module(module_name).register(parser.add_subparsers())
        registered = set(_subcommands(parser))
        assert registered == {c for c, m in cli.COMMANDS.items() if m == module_name}


def test_every_flag_has_help_and_the_help_shows_defaults() -> None:
    parser = cli.build_parser()
    missing = [
        f"{path} {action.option_strings or action.dest}"
        for path, action in _walk(parser, "finlake")
        if not action.help and action.dest != "help"
    ]
    assert missing == []
    demo_help = _subcommands(parser)["demo"].format_help()
    assert "(default: 120)" in demo_help and "(default: 300)" in demo_help


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"finlake {cli.version()}"


def test_usage_error_is_one_line_and_a_hint() -> None:
    done = _finlake("run", "everything")
    assert done.returncode == EXIT_USAGE
    lines = [line for line in done.stderr.splitlines() if line != "no spark"]
    assert lines[0].startswith("error: finlake run: argument layer: invalid choice")
    assert lines[1] == "hint: see `finlake run --help`"
    assert len(lines) == 2


def test_bad_finlake_env_is_one_line_not_a_traceback() -> None:
    done = _finlake("history", "--list", env={"FINLAKE_ENV": "staging"})
    assert done.returncode == EXIT_USAGE
    assert "Traceback" not in done.stderr and "pydantic" not in done.stderr
    assert (
        "error: invalid settings: FINLAKE_ENV='staging': Input should be 'local', 'test' or "
        in (done.stderr)
    )
    assert "hint: `finlake config docs`" in done.stderr


def test_unexpected_errors_say_how_to_see_the_traceback(
    lake: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def boom(args: argparse.Namespace) -> int:
        raise RuntimeError("disk on fire\nsecond line")

    monkeypatch.setattr("jobs.history._dispatch", boom)
    assert cli.main(["history", "--list"]) == 1
    err = capsys.readouterr().err
    assert "error: RuntimeError: disk on fire" in err and "second line" not in err
    assert "rerun with --debug" in err
    assert cli.main(["history", "--list", "--debug"]) == 1
    assert "Traceback (most recent call last)" in capsys.readouterr().err


# ------------------------------------------------------------- validation before Spark


def test_backfill_checks_the_range_before_starting_spark(lake: Path) -> None:
    done = _finlake("backfill", "--start", "2024-03-31", "--end", "2024-03-01")
    assert done.returncode == EXIT_USAGE
    assert "error: --start 2024-03-31 is after --end 2024-03-01" in done.stderr
    assert "no spark" in done.stderr  # no JVM was started


def test_replay_checks_the_bronze_version_before_starting_spark(lake: Path) -> None:
    absent = _finlake("replay", "--bronze-version", "0")
    assert absent.returncode == EXIT_USAGE
    assert "bronze.events does not exist" in absent.stderr
    _bronze(lake, versions=3)
    wrong = _finlake("replay", "--bronze-version", "7")
    assert wrong.returncode == EXIT_USAGE
    assert "bronze.events has no version 7 (versions 0..2)" in wrong.stderr
    assert "finlake history bronze.events" in wrong.stderr
    assert "no spark" in wrong.stderr
    assert pipeline.bronze_versions(Settings(lake_root=str(lake))) == [0, 1, 2]


def test_dq_critical_failure_under_run_is_exit_4_and_one_line(
    lake: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from silver.dq import DQCriticalFailure, DQResult

    failure = DQResult(
        "payment", "table_check", "quarantine_ratio", "critical", "failed", 23, 23, "1.0", "0.2"
    )

    def failing_run(*args: Any, **kwargs: Any) -> dict[str, Any]:
        raise DQCriticalFailure([failure])

    monkeypatch.setattr(pipeline, "run_with_progress", failing_run)
    assert cli.main(["run", "silver"]) == EXIT_DQ_CRITICAL
    err = capsys.readouterr().err
    assert "error: critical data-quality failure: payment:quarantine_ratio" in err
    assert "hint: `finlake dq report`" in err
    assert "Traceback" not in err


# ------------------------------------------------------------------ quick reads


def test_history_lists_versions_without_spark(lake: Path) -> None:
    _bronze(lake, versions=2)
    done = _finlake("history", "bronze.events", "--json")
    assert done.returncode == 0, done.stderr
    commits = [json.loads(line) for line in done.stdout.splitlines()]
    assert [c["version"] for c in commits] == [1, 0]
    assert commits[0]["rows_written"] == 1
    assert "no spark" in done.stderr
    table = _finlake("history", "bronze.events")
    assert "bronze.events (latest version 1)" in table.stdout


def test_history_of_an_unknown_table_names_the_known_ones(lake: Path) -> None:
    _bronze(lake, versions=1)
    unknown = _finlake("history", "bronze.nope")
    assert unknown.returncode == EXIT_USAGE
    assert "'bronze.nope' is not a table of the catalog" in unknown.stderr
    assert "bronze.events" in unknown.stderr
    malformed = _finlake("history", "mrr_daily")
    assert malformed.returncode == EXIT_USAGE
    assert "use layer.name" in malformed.stderr


def test_sql_with_trino_down_is_exit_3_with_the_fix(lake: Path) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    done = _finlake("sql", "SELECT 1", env={"FINLAKE_TRINO_PORT": str(port)})
    assert done.returncode == EXIT_UNAVAILABLE
    assert f"error: Trino is not running at 127.0.0.1:{port}" in done.stderr
    assert "finlake trino up" in done.stderr


# ------------------------------------------------------------------------ config


def test_configuration_reference_is_up_to_date() -> None:
    committed = (REPO / DOCS_PATH).read_text(encoding="utf-8")
    assert committed == settings_reference(), (
        "docs/configuration.md is stale: run `finlake config docs --write docs/configuration.md`"
    )


def test_every_setting_is_described_in_the_reference() -> None:
    reference = settings_reference()
    for name, field in Settings.model_fields.items():
        assert field.description, f"Settings.{name} has no description"
        assert f"`FINLAKE_{name.upper()}`" in reference


def test_config_show_masks_secrets(lake: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FINLAKE_S3_SECRET_KEY", "s3-very-secret")
    monkeypatch.setenv("FINLAKE_API_KEYS", '{"prod-key-123-0123456789abcdef0123": ["read"]}')
    done = _finlake("config", "show", "--json")
    assert done.returncode == 0, done.stderr
    shown = json.loads(done.stdout)
    assert "s3-very-secret" not in done.stdout and "prod-key-123" not in done.stdout
    assert shown["FINLAKE_S3_SECRET_KEY"] == "********"
    assert list(shown["FINLAKE_API_KEYS"].values()) == [["read"]]
    assert shown["FINLAKE_LAKE_ROOT"] == str(lake)
    table = _finlake("config", "show")
    assert "FINLAKE_S3_SECRET_KEY" in table.stdout and "env" in table.stdout


# ------------------------------------------------------------------ console, demo


def test_progress_lines_follow_the_jobs_phases() -> None:
    buffer = io.StringIO()
    quiet = Console(file=buffer, force_terminal=False, width=120)
    record = RunRecord(run_id="r", job_name="silver", params={})
    with pytest.raises(RuntimeError), console.LayerProgress(quiet) as progress:
        progress.start("bronze")
        progress.done("bronze", "3 new landing objects, 42 rows")
        progress.start("silver")
        record.phase("validate_payment")
        raise RuntimeError("boom")
    lines = buffer.getvalue().splitlines()
    assert lines[0].startswith("✓ bronze") and lines[0].endswith("3 new landing objects, 42 rows")
    assert lines[1].startswith("✗ silver") and lines[1].endswith("failed during validate payment")
    assert len(lines) == 2


def test_live_progress_shows_the_current_step() -> None:
    buffer = io.StringIO()
    terminal = Console(file=buffer, force_terminal=True, width=100)
    record = RunRecord(run_id="r", job_name="gold", params={})
    with console.LayerProgress(terminal) as progress:
        progress.start("gold")
        record.phase("mrr_movements")
        assert progress._layers["gold"].phase == "mrr_movements"
        progress.done("gold", "dates 2024-01-01 .. 2024-04-29")
    assert "dates 2024-01-01 .. 2024-04-29" in buffer.getvalue()


def test_logs_are_json_off_a_terminal_and_text_when_asked() -> None:
    code = (
        "import logging\nfrom jobs.observability import configure_logging\n"
        "print(configure_logging())\nlogging.getLogger('finlake.x').info('hello', extra={'k': 1})"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("FINLAKE_LOG_FORMAT", None)
    auto = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert auto.stdout.strip() == "json"
    record = json.loads(auto.stderr.strip().splitlines()[-1])
    assert record["msg"] == "hello" and record["k"] == 1 and "run_id" in record
    text = subprocess.run(
        [sys.executable, "-c", code.replace("info(", "warning(")],
        env={**env, "FINLAKE_LOG_FORMAT": "text"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert text.stdout.strip() == "text"
    assert "hello  k=1" in text.stderr and not text.stderr.lstrip().startswith("{")


def test_second_demo_says_it_reuses_the_lake_and_ends_with_next_steps(
    lake: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("FINLAKE_ENV", "local")
    monkeypatch.delenv("FINLAKE_API_KEYS", raising=False)
    landing = lake / "landing" / "events" / "usage" / "received_date=2024-01-01"
    landing.mkdir(parents=True)
    (landing / "a.jsonl").write_text("{}\n")
    (lake / "truth").mkdir()
    (lake / "truth" / "manifest.json").write_text(
        json.dumps({"days": 120, "customers_target": 300})
    )
    ran: list[list[str]] = []
    monkeypatch.setattr(
        pipeline, "run_with_progress", lambda settings, layers, name, until=None: ran.append(layers)
    )
    assert cli.main(["demo", "--days", "30", "--no-forecast"]) == 0
    captured = capsys.readouterr()
    assert "lake already has data from an earlier demo (1 landing objects, 120 days x 300 " in (
        captured.err
    )
    assert "the requested 30 x 300 is not generated" in captured.err
    assert "--fresh" in captured.err and "make clean" in captured.err
    assert ran == [["bronze", "silver", "gold"]]  # nothing built yet: every layer runs
    out = captured.out
    assert f"lake       {lake}" in out
    assert "trino up" in out and 'sql "SELECT' in out
    assert f"/dashboard#key={PLACEHOLDER_API_KEY}" in out
    assert "/_dq/gx/data_docs/index.html" in out
    assert out.rstrip().splitlines()[-1].lstrip().startswith("DQ")


def test_demo_on_a_built_lake_skips_or_resumes_the_pipeline(
    lake: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = Settings(lake_root=str(lake))
    for layer, table in (("bronze", "events"), ("silver", "subscription"), ("gold", "mrr_daily")):
        write_deltalake(settings.location(f"{layer}.{table}"), pa.table({"x": [1]}))
    monkeypatch.setattr(pipeline, "_landing_objects", lambda settings: 465)
    ran: list[list[str]] = []
    monkeypatch.setattr(
        pipeline, "run_with_progress", lambda settings, layers, name, until=None: ran.append(layers)
    )
    monkeypatch.setattr(pipeline, "summary_table", lambda settings: None)
    assert pipeline.layers_to_build(settings, ["bronze", "silver", "gold"]) == []
    assert cli.main(["demo", "--no-forecast"]) == 0
    assert ran == [] and "skipping the pipeline" in capsys.readouterr().err
    assert cli.main(["demo"]) == 0  # the forecast was never run on this lake
    assert ran == [["forecast"]] and "resuming at forecast" in capsys.readouterr().err


def test_demo_fresh_deletes_a_local_lake_first(
    lake: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (lake / "gold").mkdir(parents=True)
    monkeypatch.setattr(pipeline, "_landing_objects", lambda settings: 0)
    generated: list[int] = []

    def fake_generate(store: Any, truth_dir: Path, **kwargs: Any) -> dict[str, Any]:
        generated.append(kwargs["days"])
        return {"lines": 1, "objects": 1, "start_date": "2024-01-01", "end_date": "2024-01-05"}

    monkeypatch.setattr("jobs.generator.generate", fake_generate)
    monkeypatch.setattr(pipeline, "run_with_progress", lambda *a, **k: {})
    assert cli.main(["demo", "--fresh", "--days", "5", "--no-forecast"]) == 0
    assert not (lake / "gold").exists() and generated == [5]
    assert "--fresh: deleted the lake" in capsys.readouterr().err
