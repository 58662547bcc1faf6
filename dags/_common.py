"""Shared configuration of the finlake DAGs (imports nothing of finlake's; no pyspark here).

Airflow runs in its own virtual environment (its Spark provider installs `pyspark-client`, which
collides with `pyspark`), so every task runs a `jobs/` entry point in the *jobs* environment as
a subprocess: ``$FINLAKE_PYTHON -m jobs.<job> ...`` in ``$FINLAKE_HOME``.

Environment read here (at parse time and in the task processes):

- ``FINLAKE_HOME``: the finlake checkout (default: the parent of this folder).
- ``FINLAKE_PYTHON``: the jobs interpreter (default: ``$FINLAKE_HOME/.venv/bin/python``).
- ``FINLAKE_DROP_DIR``: drop folder of the batch-ingest DAG (default: ``$FINLAKE_HOME/drop``).
- ``FINLAKE_AIRFLOW_SKIP_FORECAST=1``: skip the forecast task (tests, small machines).
- every other ``FINLAKE_*`` setting is inherited by the jobs (lake root, alert sink, ...).

Exit codes of the jobs (`jobs/exit_codes.py`): 0 ok; 2 = usage error (fails, no retry);
4 = a critical data-quality gate failed (the task fails at once, no retry: rerunning does not
fix data); 3 = a soft dependency is down (the task is skipped
where the caller allows it); anything else is treated as transient and retried with
exponential backoff.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import signal
import subprocess
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import Any

from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

log = logging.getLogger("finlake.dags")

FINLAKE_HOME = Path(os.environ.get("FINLAKE_HOME", Path(__file__).resolve().parent.parent))
FINLAKE_PYTHON = os.environ.get("FINLAKE_PYTHON", str(FINLAKE_HOME / ".venv" / "bin" / "python"))
DROP_DIR = Path(os.environ.get("FINLAKE_DROP_DIR", FINLAKE_HOME / "drop"))

OWNER = "finlake-data"
START_DATE = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
EXIT_DQ_CRITICAL = 4  # copy of jobs/exit_codes.py (a test keeps them equal)
EXIT_UNAVAILABLE = 3
EXIT_USAGE = 2
ALERT_TIMEOUT_S = 120
PARENT_RUN_ID_ENV = "FINLAKE_PARENT_RUN_ID"
# Variables of the Airflow interpreter that must not leak into the jobs interpreter.
_ENV_DROP = ("VIRTUAL_ENV", "PYTHONHOME", "PYTHONPATH", "PYSPARK_PYTHON", "PYSPARK_DRIVER_PYTHON")


def skip_forecast() -> bool:
    """Whether the environment asks to skip the forecast task."""
    return os.environ.get("FINLAKE_AIRFLOW_SKIP_FORECAST", "").lower() in {"1", "true", "yes"}


def parent_run_id(context: Mapping[str, Any]) -> str:
    """Id recorded as `parent_run_id` in ops.pipeline_runs: `airflow/{dag_id}/{run_id}`."""
    dag_run = context["dag_run"]
    return f"airflow/{dag_run.dag_id}/{dag_run.run_id}"


def job_env(context: Mapping[str, Any]) -> dict[str, str]:
    """Environment of a job subprocess: ours plus the parent run id, minus interpreter vars."""
    env = {k: v for k, v in os.environ.items() if k not in _ENV_DROP}
    env[PARENT_RUN_ID_ENV] = parent_run_id(context)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _last_json(lines: Sequence[str]) -> Any:
    for line in reversed(lines):
        text = line.strip()
        if text.startswith(("{", "[")):
            try:
                return json.loads(text)
            except ValueError:
                continue
    return None


def run_job(
    module: str,
    args: Sequence[str],
    context: Mapping[str, Any],
    *,
    skip_codes: Collection[int] = (),
) -> Any:
    """Run ``$FINLAKE_PYTHON -m <module> <args>``; stream its output; return its last JSON line.

    Exit 2 fails the task without retry (critical DQ gate), exit codes in `skip_codes` skip it,
    any other non-zero exit raises (Airflow retries). The child runs in its own process group
    and is killed with it when the task is stopped or times out.
    """
    command = [FINLAKE_PYTHON, "-m", module, *args]
    log.info("running %s (cwd %s)", " ".join(command), FINLAKE_HOME)
    stdout: list[str] = []
    with subprocess.Popen(
        command,
        cwd=FINLAKE_HOME,
        env=job_env(context),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    ) as proc:
        try:
            assert proc.stdout is not None
            for line in proc.stdout:
                stdout.append(line)
                log.info("%s", line.rstrip())
            code = proc.wait()
        except BaseException:  # timeout, task stopped: take the whole job down with us
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            raise
    if code == EXIT_USAGE:
        raise AirflowFailException(f"{module}: usage error (exit {EXIT_USAGE}): {_tail(stdout)}")
    if code == EXIT_DQ_CRITICAL:
        raise AirflowFailException(
            f"{module}: critical data-quality gate failed (exit {EXIT_DQ_CRITICAL})"
        )
    if code in skip_codes:
        raise AirflowSkipException(f"{module}: exit {code}, skipped ({_tail(stdout)})")
    if code != 0:
        raise RuntimeError(f"{module} exited with {code}: {_tail(stdout)}")
    return _last_json(stdout)


def _tail(lines: Sequence[str], n: int = 5) -> str:
    return " | ".join(line.strip() for line in lines[-n:])


def on_failure_callback(context: Mapping[str, Any]) -> None:
    """Alert through the jobs' sinks (`python -m jobs.alerts`), like Silver's critical gate.

    The alert's run id is the Airflow run (`airflow/{dag_id}/{run_id}`), the same value the
    jobs record as `parent_run_id` in ops.pipeline_runs. Never raises.
    """
    try:
        ti = context["ti"]
        dag_run = context["dag_run"]
        exception = context.get("exception")
        title = f"finlake Airflow task failed: {dag_run.dag_id}.{ti.task_id}"
        if exception is not None:
            title += f" ({type(exception).__name__}: {str(exception)[:200]})"
        command = [
            FINLAKE_PYTHON,
            "-m",
            "jobs.alerts",
            "--title",
            title,
            "--run-id",
            parent_run_id(context),
            "--table",
            ti.task_id,
            "--severity",
            "critical",
        ]
        link = getattr(ti, "log_url", None)
        if link:
            command += ["--link", str(link)]
        done = subprocess.run(
            command,
            cwd=FINLAKE_HOME,
            env=job_env(context),
            capture_output=True,
            text=True,
            timeout=ALERT_TIMEOUT_S,
            check=False,
        )
        log.info("alert sent (exit %s): %s", done.returncode, done.stdout.strip()[-500:])
    except Exception:
        log.exception("could not send the failure alert")


def default_args(**overrides: Any) -> dict[str, Any]:
    """Task defaults shared by the finlake DAGs (owner, retries with backoff, alerts)."""
    args: dict[str, Any] = {
        "owner": OWNER,
        "retries": 2,
        "retry_delay": dt.timedelta(minutes=2),
        "retry_exponential_backoff": 2.0,
        "max_retry_delay": dt.timedelta(minutes=30),
        "execution_timeout": dt.timedelta(minutes=30),
        "on_failure_callback": on_failure_callback,
        "depends_on_past": False,
    }
    args.update(overrides)
    return args
