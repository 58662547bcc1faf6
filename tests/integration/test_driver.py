"""`finlake driver`: a real driver process serving real `finlake` commands on a generated lake.

One driver (`python -m jobs.cli driver serve`, its own Spark session) serves the module. The
commands are real `finlake` processes: their output, exit codes and the tables they write
must be what the same command gives in its own process, and Gold built day by day through the
driver must equal a full rebuild by the test session's Spark.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bronze.landing import parse_event_key
from conf.catalog import TABLE_NAMES, table
from conf.settings import Settings
from jobs import driver, lake_reader
from jobs.exit_codes import EXIT_UNAVAILABLE, EXIT_USAGE
from jobs.lake import Lake
from tests.pipeline_fixtures import GeneratedLake, make_lake

REPO = Path(__file__).resolve().parents[2]
DAYS, CUSTOMERS = 30, 40
# the client reports whether it started Spark (it must not: the driver runs the command)
CLIENT = (
    "import sys\nfrom jobs.cli import main\nrc = main(sys.argv[1:])\n"
    "ctx = getattr(sys.modules.get('pyspark'), 'SparkContext', None)\n"
    "started = ctx is not None and ctx._active_spark_context is not None\n"
    "print('SPARK STARTED' if started else 'no spark', file=sys.stderr)\n"
    "sys.exit(rc)"
)
# the same for a job module's own entry point, as Airflow's local tasks run it
JOB_CLIENT = CLIENT.replace(
    "from jobs.cli import main\nrc = main(sys.argv[1:])",
    "import importlib\nrc = importlib.import_module(sys.argv[1]).main(sys.argv[2:])",
)


class Served:
    """The generated lake, the environment of its `finlake` commands and its driver process."""

    def __init__(self, lake: GeneratedLake, env: dict[str, str], process: subprocess.Popen[str]):
        self.lake, self.env, self.process = lake, env, process

    def finlake(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        """`finlake ARGS` in a new process (stdout/stderr are pipes)."""
        return self._client(CLIENT, args, env)

    def job(self, module: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        """`python -m MODULE ARGS` in a new process, as Airflow's local runner starts a job."""
        return self._client(JOB_CLIENT, (module, *args), env)

    def _client(
        self, code: str, args: tuple[str, ...], env: dict[str, str]
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-c", code, *args],
            env={**self.env, **env},
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )

    def status(self) -> dict[str, Any]:
        """`finlake driver status --json`."""
        done = self.finlake("driver", "status", "--json")
        assert done.returncode == 0, done.stderr
        found: dict[str, Any] = json.loads(done.stdout)
        return found


def _env(lake: GeneratedLake, runtime_dir: Path) -> dict[str, str]:
    settings = lake.settings
    env = {k: v for k, v in os.environ.items() if not k.startswith("FINLAKE_")}
    env.update(
        PYTHONPATH=str(REPO),
        XDG_RUNTIME_DIR=str(runtime_dir),
        GX_ANALYTICS_ENABLED="False",
        FINLAKE_ENV="local",
        FINLAKE_LAKE_ROOT=settings.lake_root,
        FINLAKE_FRESHNESS_MAX_HOURS=str(settings.freshness_max_hours),
        FINLAKE_MAX_QUARANTINE_RATIO=str(settings.max_quarantine_ratio),
    )
    return env


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """A generated lake and a driver serving it (stopped, and checked stopped, at the end)."""
    lake = make_lake(
        tmp_path_factory.mktemp("driver-lake"), False, 3, days=DAYS, customers=CUSTOMERS
    )
    runtime_dir = Path(tempfile.mkdtemp(prefix="fl-run-"))  # short: a socket path's limit
    env = _env(lake, runtime_dir)
    log = (Path(lake.settings.lake_root).parent / "driver.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "jobs.cli", "driver", "serve"],
        env=env,
        cwd=REPO,
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )
    serving = Served(lake, env, process)
    try:
        deadline = time.monotonic() + 300
        while serving.finlake("driver", "status").returncode != 0:
            assert process.poll() is None, "the driver exited before it was ready"
            assert time.monotonic() < deadline, "the driver was not ready in 300 s"
            time.sleep(1)
        yield serving
    finally:
        if process.poll() is None:
            process.kill()
        log.close()
        shutil.rmtree(runtime_dir, ignore_errors=True)


def _received_days(lake: GeneratedLake) -> list[dt.date]:
    return sorted({parse_event_key(k).received_at.date() for k in lake.store.list("events/")})


def _gold_rows(spark: Any, settings: Settings) -> dict[str, list[tuple[Any, ...]]]:
    gold = Lake(spark, settings)
    names = [n for n in TABLE_NAMES if table(n).layer == "gold" and gold.exists(n)]
    return {n: sorted(tuple(r) for r in gold.read(n).collect()) for n in names}


def test_run_goes_to_the_driver_and_gold_equals_a_full_rebuild(served: Served, spark: Any) -> None:
    """Two days through the driver: outputs and lineage as in-process; Gold == full rebuild."""
    days = _received_days(served.lake)
    first = served.finlake("run", "all", "--until", days[-2].isoformat(), "--json")
    assert first.returncode == 0, first.stderr
    assert "no spark" in first.stderr  # the client never started a session
    assert "✓ gold" in first.stderr
    result = json.loads(first.stdout)
    assert set(result) == {"bronze", "silver", "gold"}
    assert result["bronze"]["rows"] > 0

    second = served.finlake(
        "run", "all", "--json", FINLAKE_PARENT_RUN_ID="airflow/finlake_medallion_daily/t1"
    )
    assert second.returncode == 0, second.stderr
    assert json.loads(second.stdout)["bronze"]["rows"] > 0  # the last day's objects
    assert served.status()["runs"] == 2

    runs = lake_reader.read_rows(
        served.lake.settings,
        served.lake.settings.location("ops.pipeline_runs"),
        ["job_name", "parent_run_id"],
    )
    parents = sorted(str(r["parent_run_id"]) for r in runs if r["job_name"] == "gold")
    assert parents == ["None", "airflow/finlake_medallion_daily/t1"]  # each client's own

    incremental = _gold_rows(spark, served.lake.settings)
    from jobs.gold_job import run_gold

    run_gold(spark, served.lake.settings, full=True)
    assert _gold_rows(spark, served.lake.settings) == incremental


def test_a_job_modules_entry_point_runs_in_the_driver(served: Served) -> None:
    """`python -m jobs.gold_job --until D` (an Airflow task) runs in the driver's session."""
    runs = served.status()["runs"]
    day = _received_days(served.lake)[-1].isoformat()
    done = served.job("jobs.gold_job", "--until", day)
    assert done.returncode == 0, done.stderr
    assert "no spark" in done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])  # the job's own JSON line
    assert result["as_of"] == day  # nothing new since the last run: Gold says so
    assert served.status()["runs"] == runs + 1
    usage = served.job("jobs.silver_job", "--bronze-version", "x")
    assert usage.returncode == EXIT_USAGE  # argparse's own error, before the driver is asked
    assert served.status()["runs"] == runs + 1


def test_an_error_is_the_commands_own_line_and_exit_code(served: Served) -> None:
    """A usage error inside the driver reaches the client as it would in-process: exit 2."""
    done = served.finlake("backfill", "--start", "2024-02-01", "--end", "2024-01-01")
    assert done.returncode == EXIT_USAGE
    assert "error: --start 2024-02-01 is after --end 2024-01-01" in done.stderr
    assert "no spark" in done.stderr


def test_a_client_with_other_settings_is_refused_not_served(served: Served) -> None:
    """Other settings than the driver's: a clear refusal, never a run with the wrong ones."""
    runs = served.status()["runs"]
    done = served.finlake("run", "gold", FINLAKE_MAX_QUARANTINE_RATIO="0.4")
    assert done.returncode == EXIT_USAGE
    assert "runs with other settings than this command" in done.stderr
    assert "--no-driver" in done.stderr
    assert served.status()["runs"] == runs


def test_a_second_driver_for_the_same_lake_is_refused_before_spark(served: Served) -> None:
    """One driver per lake: a second `serve` exits 2 at once and leaves the first serving."""
    second = served.finlake("driver", "serve")
    assert second.returncode == EXIT_USAGE
    assert "a driver already serves" in second.stderr
    assert "no spark" in second.stderr
    assert served.status()["pid"] == served.process.pid


def test_stop_ends_the_driver_and_commands_run_in_their_own_process_again(
    served: Served,
) -> None:
    """`driver stop` stops it cleanly; `status` then says none serves (exit 3)."""
    stopped = served.finlake("driver", "stop")
    assert stopped.returncode == 0, stopped.stderr
    assert served.process.wait(timeout=120) == 0
    status = served.finlake("driver", "status")
    assert status.returncode == EXIT_UNAVAILABLE
    assert "no driver serves" in status.stderr
    assert driver.status(served.lake.settings) is None


# ----------------------------------------------------------------- without a driver process


def test_the_socket_directory_must_be_private(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A socket directory others can enter is refused (whoever connects runs commands)."""
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    shared = tmp_path / f"finlake-{os.getuid()}"
    shared.mkdir(mode=0o755)
    shared.chmod(0o755)
    with pytest.raises(driver.CliError, match="not private to this user"):
        driver.socket_dir()
    shared.chmod(0o700)
    assert driver.socket_dir() == shared


def test_the_fingerprint_covers_secrets_without_revealing_them(tmp_path: Path) -> None:
    """Two settings differing only in a secret differ in fingerprint; the digest hides it."""
    one = Settings(lake_root=str(tmp_path), s3_secret_key="first-secret-value")
    two = Settings(lake_root=str(tmp_path), s3_secret_key="second-secret-value")
    assert driver.fingerprint(one) != driver.fingerprint(two)
    assert driver.fingerprint(one) == driver.fingerprint(
        Settings(lake_root=str(tmp_path), s3_secret_key="first-secret-value")
    )
    assert "first-secret-value" not in driver.fingerprint(one)


def test_output_to_a_client_that_left_is_dropped_not_raised() -> None:
    """A run whose client disconnected goes on: writes never raise."""
    ours, theirs = socket.socketpair()
    gone = threading.Event()
    stream = driver._ClientStream(ours, "err", False, gone)
    assert stream.write("first\n") == 6
    assert json.loads(theirs.recv(4096)) == {"stream": "err", "text": "first\n"}
    theirs.close()
    for _ in range(3):  # the first send may still succeed into the buffer
        stream.write("x" * 100_000)
    assert gone.is_set()
    assert stream.write("after\n") == 6
    ours.close()
