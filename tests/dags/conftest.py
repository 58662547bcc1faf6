"""Airflow fixtures: the Airflow CLI of `.venv-airflow` run as a subprocess, a small lake, and a
loopback webhook receiver. Skipped with a reason when `.venv-airflow` is not built."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from bronze.objectstore import LocalObjectStore
from conf.settings import Settings
from jobs.generator import generate
from tests.cluster.conftest import dist_dir, spark_cluster  # noqa: F401 (shared, session-wide)

REPO = Path(__file__).resolve().parents[2]
AIRFLOW_VENV = REPO / ".venv-airflow"
AIRFLOW_BIN = AIRFLOW_VENV / "bin" / "airflow"
AIRFLOW_PY = AIRFLOW_VENV / "bin" / "python"
JOBS_PY = REPO / ".venv" / "bin" / "python"
START = dt.date(2024, 1, 1)
DAYS = 30
CUSTOMERS = 40
# Old business dates: freshness is measured against the newest arrival, keep the gate open.
FRESHNESS_OPEN_HOURS = str(24 * 365 * 30)
_DROP = ("VIRTUAL_ENV", "PYTHONHOME", "PYTHONPATH")


def small_lake(root: Path, defects: bool, seed: int) -> Settings:
    """Like tests.pipeline_fixtures.make_lake, smaller: 30 days, 40 customers (landing only)."""
    settings = Settings(lake_root=str(root), freshness_max_hours=float(FRESHNESS_OPEN_HOURS))
    generate(
        LocalObjectStore(settings.landing),
        root / "truth",
        seed=seed,
        start=START,
        days=DAYS,
        customers=CUSTOMERS,
        defects=defects,
        horizon_days=settings.restatement_horizon_days,
    )
    return settings


def _json_out(stdout: str) -> Any:
    """The JSON document of a CLI's output (warnings may precede it on stdout)."""
    for line in reversed(stdout.splitlines()):
        if line.startswith(("[", "{")):
            return json.loads(line)
    raise AssertionError(f"no JSON in output: {stdout[-2000:]}")


@dataclass
class AirflowCli:
    """The Airflow CLI with its own AIRFLOW_HOME (SQLite) and our dags/ folder."""

    home: Path
    base_env: dict[str, str] = field(default_factory=dict)

    def env(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in _DROP}
        env.update(self.base_env)
        env.update(extra or {})
        return env

    def run(
        self, args: Sequence[str], extra: dict[str, str] | None = None, timeout: float = 900
    ) -> subprocess.CompletedProcess[str]:
        log = self.home / "cli.log"
        done = subprocess.run(
            [str(AIRFLOW_BIN), *args],
            env=self.env(extra),
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        with log.open("a") as f:
            f.write(f"$ airflow {' '.join(args)}\n{done.stdout}\n{done.stderr}\n")
        return done

    def dags_test(
        self, dag_id: str, day: dt.date, lake_env: dict[str, str], conf: dict[str, Any]
    ) -> dict[str, Any]:
        """`airflow dags test`, then the run's state and task states (from the metadata DB)."""
        done = self.run(["dags", "test", dag_id, day.isoformat(), "-c", json.dumps(conf)], lake_env)
        runs = _json_out(self.run(["dags", "list-runs", dag_id, "-o", "json"]).stdout)
        run = next(r for r in runs if str(r["logical_date"]).startswith(day.isoformat()))
        states = self.run(
            ["tasks", "states-for-dag-run", dag_id, run["run_id"], "-o", "json"]
        ).stdout
        tasks = {t["task_id"]: t["state"] for t in _json_out(states)}
        return {"run": run, "tasks": tasks, "returncode": done.returncode, "output": done.stderr}


@pytest.fixture(scope="session")
def airflow_cli(tmp_path_factory: pytest.TempPathFactory) -> AirflowCli:
    """AIRFLOW_HOME in a temp folder, `airflow db migrate` once per session."""
    if not AIRFLOW_BIN.exists():
        pytest.fail(
            f"{AIRFLOW_VENV} is not built: run `make airflow-venv` (`make test` builds it)",
            pytrace=False,
        )
    home = tmp_path_factory.mktemp("airflow-home")
    cli = AirflowCli(
        home,
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
            "FINLAKE_HOME": str(REPO),
            "FINLAKE_PYTHON": str(JOBS_PY),
            "FINLAKE_ENV": "test",
            "GX_ANALYTICS_ENABLED": "False",
            "TQDM_DISABLE": "1",
        },
    )
    done = cli.run(["db", "migrate"], timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return cli


class _Receiver(BaseHTTPRequestHandler):
    received: list[dict[str, Any]]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.server.received.append(json.loads(body))  # type: ignore[attr-defined]
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture
def webhook() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A Slack-compatible webhook receiver on loopback: (url, received bodies)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    server.received = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", server.received  # type: ignore[attr-defined]
    server.shutdown()
    server.server_close()
