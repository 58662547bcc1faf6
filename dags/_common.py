"""Shared configuration of the finlake DAGs (imports nothing of finlake's; no pyspark here).

Airflow runs in its own virtual environment (its Spark provider installs `pyspark-client`, which
collides with `pyspark`), so no task imports the jobs. How a job runs is a per-deployment choice,
the **runner** (`FINLAKE_RUNNER` in the environment, else the Airflow Variable `finlake_runner`):

- ``local`` (default, development): ``$FINLAKE_PYTHON -m jobs.<job> ...`` as a subprocess in
  ``$FINLAKE_HOME`` (an embedded Spark session, `FINLAKE_SPARK_MASTER`); when a warm driver
  serves the lake with the same settings (`finlake driver serve`), the job runs in that
  driver's session instead, with the same arguments, output and exit code;
- ``spark_submit``: `SparkSubmitOperator` with the Airflow Spark connection
  ``finlake_spark`` (`FINLAKE_SPARK_CONN_ID`), client mode, launch settings from
  ``$FINLAKE_HOME/dist/spark-submit.json`` (`make dist`; `FINLAKE_SPARK_SUBMIT_PROFILE`);
- ``emr_serverless``: `EmrServerlessStartJobOperator`, application id, runtime role, artifacts
  and log locations from Airflow Variables (see `docs/deploy-aws.md`).

Light tasks that start no Spark session (landing status, Trino registration, batch ingest) run
locally under the ``local`` and ``spark_submit`` runners.

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
exponential backoff. The `spark_submit` runner maps spark-submit's exit code (the driver's, in
client mode) the same way; EMR Serverless reports a failed job run without the code.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
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

RUNNERS = ("local", "spark_submit", "emr_serverless")
# Copy of conf/settings.py's `spark_packages` (a test keeps them equal): the JARs a launcher
# passes when no resolved JAR files are at hand (EMR; `spark_submit` without `make dist`).
SPARK_PACKAGES = ("io.delta:delta-spark_4.1_2.13:4.4.0", "org.apache.hadoop:hadoop-aws:3.4.2")
# EMR Serverless: the packed jobs venv (CD uploads it beside the entry points) and its Python.
EMR_VENV_ARCHIVE = "finlake_venv.tar.gz"
EMR_PYTHON = "./environment/bin/python"
EMR_WAITER_DELAY_S = 30
ARTIFACTS_URI = "{{ var.value.finlake_artifacts_uri }}"

OWNER = "finlake-data"
START_DATE = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
EXIT_DQ_CRITICAL = 4  # copy of jobs/exit_codes.py (a test keeps them equal)
EXIT_UNAVAILABLE = 3
EXIT_USAGE = 2
ALERT_TIMEOUT_S = 120
PARENT_RUN_ID_ENV = "FINLAKE_PARENT_RUN_ID"
# Variables of the Airflow interpreter that must not leak into the jobs interpreter.
_ENV_DROP = ("VIRTUAL_ENV", "PYTHONHOME", "PYTHONPATH", "PYSPARK_PYTHON", "PYSPARK_DRIVER_PYTHON")


def deployment_setting(name: str, default: str) -> str:
    """`FINLAKE_<NAME>` from the environment, else the Airflow Variable `finlake_<name>`."""
    value = os.environ.get(f"FINLAKE_{name.upper()}")
    if value:
        return value
    try:
        from airflow.sdk import Variable

        return str(Variable.get(f"finlake_{name}", default=default))
    except Exception:  # no metadata database or API server reachable while parsing
        return default


RUNNER = deployment_setting("runner", "local")
if RUNNER not in RUNNERS:
    raise ValueError(
        f"FINLAKE_RUNNER / Variable finlake_runner must be one of {RUNNERS}: {RUNNER!r}"
    )


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

    Exit 2 (usage) and 4 (critical DQ gate) fail the task without retry, exit codes in
    `skip_codes` skip it, any other non-zero exit raises (Airflow retries). The child runs in
    its own process group and is killed with it when the task is stopped or times out.
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
    check_exit_code(module, code, _tail(stdout), skip_codes)
    return _last_json(stdout)


def check_exit_code(
    name: str, code: int | None, detail: str, skip_codes: Collection[int] = ()
) -> None:
    """Map a job's exit code to the task outcome: usage and DQ failures never retry."""
    if code == EXIT_USAGE:
        raise AirflowFailException(f"{name}: usage error (exit {EXIT_USAGE}): {detail}")
    if code == EXIT_DQ_CRITICAL:
        raise AirflowFailException(
            f"{name}: critical data-quality gate failed (exit {EXIT_DQ_CRITICAL})"
        )
    if code in skip_codes:
        raise AirflowSkipException(f"{name}: exit {code}, skipped ({detail})")
    if code:
        raise RuntimeError(f"{name} exited with {code}: {detail}")


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


# ----------------------------------------------------------------------------- runners


@functools.cache  # one read per DAG-file parse (each parse is a fresh process)
def launch_profile() -> dict[str, str]:
    """spark-submit launch settings of `make dist` (JAR files, Python, code archive)."""
    default = str(FINLAKE_HOME / "dist" / "spark-submit.json")
    path = Path(deployment_setting("spark_submit_profile", default))
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        log.warning("%s missing (run `make dist`): Maven packages, no code archive", path)
        return {
            "spark.jars.packages": ",".join(SPARK_PACKAGES),
            "spark.pyspark.python": FINLAKE_PYTHON,
            "spark.pyspark.driver.python": FINLAKE_PYTHON,
        }
    return {str(key): str(value) for key, value in data.items()}


def submit_env() -> dict[str, str]:
    """Environment of spark-submit (client mode: the driver runs here, in the jobs venv)."""
    bin_dir = str(Path(FINLAKE_PYTHON).parent)
    return {
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",  # the jobs' spark-submit
        # pip-installed pyspark finds its Spark home through this Python
        "PYSPARK_PYTHON": FINLAKE_PYTHON,
        "PYSPARK_DRIVER_PYTHON": FINLAKE_PYTHON,
        "PYTHONPATH": str(FINLAKE_HOME),  # the driver imports the checkout it runs from
        "PYTHONUNBUFFERED": "1",
        PARENT_RUN_ID_ENV: "airflow/{{ dag.dag_id }}/{{ run_id }}",
    }


def emr_submit_parameters(app_name: str) -> str:
    """`sparkSubmitParameters` of an EMR Serverless job run (rendered at run time).

    The packed jobs venv (finlake installed from the wheel) is the Python of the driver and the
    executors; Delta/hadoop-aws come as Maven packages (Variable `finlake_spark_packages`
    overrides them, e.g. with the EMR release's own Delta); every entry of the JSON Variable
    `finlake_emr_job_env` becomes a driver environment variable (`FINLAKE_LAKE_ROOT`, ...).
    finlake's session settings are filled in by the driver itself (`jobs.spark.get_spark`).
    """
    conf = {
        "spark.app.name": app_name,
        "spark.archives": f"{ARTIFACTS_URI}/{EMR_VENV_ARCHIVE}#environment",
        "spark.emr-serverless.driverEnv.PYSPARK_DRIVER_PYTHON": EMR_PYTHON,
        "spark.emr-serverless.driverEnv.PYSPARK_PYTHON": EMR_PYTHON,
        "spark.executorEnv.PYSPARK_PYTHON": EMR_PYTHON,
        "spark.jars.packages": (
            "{{ var.value.get('finlake_spark_packages', '" + ",".join(SPARK_PACKAGES) + "') }}"
        ),
        f"spark.emr-serverless.driverEnv.{PARENT_RUN_ID_ENV}": (
            "airflow/{{ dag.dag_id }}/{{ run_id }}"
        ),
    }
    job_env = (
        "{% for name, value in var.json.get('finlake_emr_job_env', {}).items() %}"
        " --conf spark.emr-serverless.driverEnv.{{ name }}={{ value }}{% endfor %}"
    )
    return " ".join(f"--conf {key}={value}" for key, value in conf.items()) + job_env


def job_task(
    task_id: str,
    module: str,
    args: Sequence[str] = (),
    *,
    spark: bool = True,
    skip_codes: Collection[int] = (),
    **task_kwargs: Any,
) -> Any:
    """A task running `python -m <module> <args>` / `jobs/<job>.py <args>` with the runner.

    `args` may hold Jinja (`{{ ds }}`). `spark=False` marks a job that starts no Spark
    session: it runs locally under the `spark_submit` runner as well.
    """
    runner = "local" if RUNNER == "spark_submit" and not spark else RUNNER
    script = module.replace(".", "/") + ".py"
    if runner == "spark_submit":
        from _spark_submit import JobSparkSubmitOperator

        return JobSparkSubmitOperator(
            task_id=task_id,
            conn_id=deployment_setting("spark_conn_id", "finlake_spark"),
            application=str(FINLAKE_HOME / script),
            application_args=list(args),
            name=f"finlake-{task_id}",
            conf=dict(launch_profile()),
            env_vars=submit_env(),
            skip_codes=tuple(skip_codes),
            **task_kwargs,
        )
    if runner == "emr_serverless":
        from airflow.providers.amazon.aws.operators.emr import EmrServerlessStartJobOperator

        timeout = task_kwargs.get("execution_timeout") or dt.timedelta(hours=1)
        return EmrServerlessStartJobOperator(
            task_id=task_id,
            application_id="{{ var.value.finlake_emr_application_id }}",
            execution_role_arn="{{ var.value.finlake_emr_execution_role_arn }}",
            name=f"finlake-{task_id}-{{{{ ds }}}}",
            job_driver={
                "sparkSubmit": {
                    "entryPoint": f"{ARTIFACTS_URI}/{Path(script).name}",
                    "entryPointArguments": list(args),
                    "sparkSubmitParameters": emr_submit_parameters(f"finlake-{task_id}"),
                }
            },
            configuration_overrides={
                "monitoringConfiguration": {
                    "s3MonitoringConfiguration": {"logUri": "{{ var.value.finlake_emr_log_uri }}"}
                }
            },
            waiter_delay=EMR_WAITER_DELAY_S,
            waiter_max_attempts=max(1, int(timeout.total_seconds() // EMR_WAITER_DELAY_S)),
            **task_kwargs,
        )
    return _local_task(task_id, module, list(args), tuple(skip_codes), **task_kwargs)


def _local_task(
    task_id: str, module: str, args: list[str], skip_codes: tuple[int, ...], **task_kwargs: Any
) -> Any:
    from airflow.sdk import get_current_context, task

    @task(task_id=task_id, **task_kwargs)
    def run_local(job_args: list[str]) -> Any:
        """Run the job in the jobs environment; its last JSON line is the task's result."""
        return run_job(module, job_args, get_current_context(), skip_codes=skip_codes)

    return run_local(args)  # op_args are templated: `{{ ds }}` is rendered per run
