"""The DAGs' runners: `spark_submit` for real against the standalone cluster, and the operator
arguments each runner renders (EMR Serverless cannot run here: its rendered StartJobRun
arguments are checked instead, with Airflow's own template rendering)."""

from __future__ import annotations

import ast
import datetime as dt
import json
import shlex
import socket
import subprocess
from pathlib import Path
from typing import Any

import pytest

from conf.settings import Settings
from tests.cluster.standalone import StandaloneCluster
from tests.dags.conftest import (
    AIRFLOW_PY,
    FRESHNESS_OPEN_HOURS,
    JOBS_PY,
    REPO,
    AirflowCli,
    small_lake,
)

DAY = dt.date(2024, 1, 30)
ARTIFACTS = "s3://finlake-dev-artifacts-123456789012/jobs/0123abcd"
EMR_VARIABLES = {
    "AIRFLOW_VAR_FINLAKE_EMR_APPLICATION_ID": "00fq1example2app",
    "AIRFLOW_VAR_FINLAKE_EMR_EXECUTION_ROLE_ARN": (
        "arn:aws:iam::123456789012:role/finlake-dev-emr-job-runtime"
    ),
    "AIRFLOW_VAR_FINLAKE_ARTIFACTS_URI": ARTIFACTS,
    "AIRFLOW_VAR_FINLAKE_EMR_LOG_URI": "s3://finlake-dev-logs-123456789012/emr-serverless/",
    "AIRFLOW_VAR_FINLAKE_EMR_JOB_ENV": json.dumps(
        {"FINLAKE_ENV": "prod", "FINLAKE_LAKE_ROOT": "s3a://finlake-dev-lakehouse-123456789012"}
    ),
}
# Job arguments per layer task of the daily DAG (the contract with jobs/).
DAILY_JOBS = {
    "landing": ("landing_status.py", ["--date", DAY.isoformat()]),
    "bronze": ("bronze_job.py", ["--until", DAY.isoformat()]),
    "silver": ("silver_job.py", ["--until", DAY.isoformat()]),
    "gold": ("gold_job.py", ["--until", DAY.isoformat()]),
    "forecast": ("forecast_job.py", ["--as-of", DAY.isoformat()]),
}

# Renders every task of a DAG as `airflow tasks render` does (same internals), as JSON.
RENDER_SCRIPT = """
import json, sys
from airflow.cli.commands.task_command import _get_template_context, _get_ti
from airflow.dag_processing.bundles.manager import DagBundlesManager
from airflow.dag_processing.dagbag import DagBag, sync_bag_to_db
from airflow.serialization.serialized_objects import DagSerialization
folder, dag_id, day = sys.argv[1:4]
bag = DagBag(dag_folder=folder)
assert not bag.import_errors, bag.import_errors
DagBundlesManager().sync_bundles_to_db()
sync_bag_to_db(bag, "dags-folder", None)  # a task instance needs a serialized DAG version
dag = bag.dags[dag_id]
scheduler_dag = DagSerialization.from_dict(DagSerialization.to_dict(dag))
out = {}
for task_id in dag.task_ids:
    ti, _ = _get_ti(scheduler_dag.get_task(task_id), -1, logical_date_or_run_id=day,
                    create_if_necessary="memory")
    task = dag.get_task(task_id)
    context = _get_template_context(ti, task)
    task.render_template_fields(context)
    out[task_id] = {"type": type(task).__name__, "run_id": ti.run_id,
                    "fields": {f: getattr(task, f) for f in task.template_fields},
                    "conn_id": getattr(task, "_conn_id", None)}
print(json.dumps(out, default=str))
"""


def _render(cli: AirflowCli, dag_id: str, env: dict[str, str]) -> dict[str, Any]:
    done = subprocess.run(
        [str(AIRFLOW_PY), "-c", RENDER_SCRIPT, str(REPO / "dags"), dag_id, DAY.isoformat()],
        env=cli.env({"PYTHONPATH": str(REPO / "dags"), **env}),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    rendered: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return rendered


def _conf_pairs(parameters: str) -> dict[str, str]:
    """`--conf k=v ...` of a sparkSubmitParameters string as a dict."""
    tokens = shlex.split(parameters)
    assert tokens[::2] == ["--conf"] * (len(tokens) // 2), tokens
    return dict(token.split("=", 1) for token in tokens[1::2])


def test_dag_copy_of_the_spark_packages_matches_the_settings() -> None:
    tree = ast.parse((REPO / "dags" / "_common.py").read_text())
    (packages,) = [
        ast.literal_eval(node.value)
        for node in tree.body
        if isinstance(node, ast.Assign)
        and any(isinstance(t, ast.Name) and t.id == "SPARK_PACKAGES" for t in node.targets)
    ]
    assert list(packages) == Settings().spark_packages


@pytest.mark.airflow
@pytest.mark.integration
def test_emr_serverless_tasks_render_start_job_run_arguments(airflow_cli: AirflowCli) -> None:
    env = {"FINLAKE_RUNNER": "emr_serverless", **EMR_VARIABLES}
    tasks = _render(airflow_cli, "finlake_medallion_daily", env)

    assert set(tasks) == set(DAILY_JOBS), "no refresh_serving on EMR (Trino reads via Glue)"
    job_env = json.loads(EMR_VARIABLES["AIRFLOW_VAR_FINLAKE_EMR_JOB_ENV"])
    for task_id, (script, args) in DAILY_JOBS.items():
        task = tasks[task_id]
        fields = task["fields"]
        assert task["type"] == "EmrServerlessStartJobOperator", task_id
        assert fields["application_id"] == EMR_VARIABLES["AIRFLOW_VAR_FINLAKE_EMR_APPLICATION_ID"]
        assert fields["execution_role_arn"].endswith(":role/finlake-dev-emr-job-runtime")
        assert fields["name"] == f"finlake-{task_id}-{DAY.isoformat()}"
        driver = fields["job_driver"]["sparkSubmit"]
        assert driver["entryPoint"] == f"{ARTIFACTS}/{script}", task_id
        assert driver["entryPointArguments"] == args, task_id
        conf = _conf_pairs(driver["sparkSubmitParameters"])
        assert conf["spark.archives"] == f"{ARTIFACTS}/finlake_venv.tar.gz#environment"
        python = "./environment/bin/python"
        assert conf["spark.emr-serverless.driverEnv.PYSPARK_DRIVER_PYTHON"] == python
        assert conf["spark.emr-serverless.driverEnv.PYSPARK_PYTHON"] == python
        assert conf["spark.executorEnv.PYSPARK_PYTHON"] == python
        assert conf["spark.jars.packages"].split(",") == Settings().spark_packages
        assert conf["spark.app.name"] == f"finlake-{task_id}"
        assert conf["spark.emr-serverless.driverEnv.FINLAKE_PARENT_RUN_ID"] == (
            f"airflow/finlake_medallion_daily/{task['run_id']}"
        )
        for name, value in job_env.items():
            assert conf[f"spark.emr-serverless.driverEnv.{name}"] == value
        assert not [k for k in conf if "secret" in k.lower() or "access.key" in k.lower()]
        log_uri = fields["configuration_overrides"]["monitoringConfiguration"]
        assert log_uri["s3MonitoringConfiguration"]["logUri"].endswith("/emr-serverless/")

    maintenance = _render(airflow_cli, "finlake_maintenance", env)
    for task_id, task in maintenance.items():
        driver = task["fields"]["job_driver"]["sparkSubmit"]
        assert driver["entryPoint"] == f"{ARTIFACTS}/maintenance_job.py"
        layer = task_id.removeprefix("maintain_")
        assert driver["entryPointArguments"][:2] == ["--layers", layer]


@pytest.mark.airflow
@pytest.mark.integration
def test_spark_submit_tasks_render_submit_arguments(
    airflow_cli: AirflowCli, tmp_path: Path
) -> None:
    profile = {"spark.jars": "/x/a.jar", "spark.pyspark.python": str(JOBS_PY)}
    (tmp_path / "spark-submit.json").write_text(json.dumps(profile))
    env = {
        "FINLAKE_RUNNER": "spark_submit",
        "FINLAKE_SPARK_SUBMIT_PROFILE": str(tmp_path / "spark-submit.json"),
    }
    tasks = _render(airflow_cli, "finlake_medallion_daily", env)

    assert (
        tasks["landing"]["type"]
        == tasks["refresh_serving"]["type"]
        == (
            "_PythonDecoratedOperator"  # no Spark session: a local subprocess
        )
    )
    for task_id, (script, args) in DAILY_JOBS.items():
        if task_id == "landing":
            assert tasks[task_id]["fields"]["op_args"] == [args]
            continue
        task = tasks[task_id]
        fields = task["fields"]
        assert task["type"] == "JobSparkSubmitOperator", task_id
        assert task["conn_id"] == "finlake_spark"
        assert fields["application"] == str(REPO / "jobs" / script)
        assert fields["application_args"] == args
        assert fields["name"] == f"finlake-{task_id}"
        assert fields["conf"] == profile
        assert fields["env_vars"]["FINLAKE_PARENT_RUN_ID"] == (
            f"airflow/finlake_medallion_daily/{task['run_id']}"
        )
        assert fields["env_vars"]["PATH"].startswith(f"{JOBS_PY.parent}:")


def _closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.airflow
@pytest.mark.integration
@pytest.mark.cluster
def test_daily_dag_submits_to_the_standalone_cluster(
    airflow_cli: AirflowCli,
    spark_cluster: StandaloneCluster,
    dist_dir: Path,
    spark: Any,
    tmp_path: Path,
) -> None:
    from pyspark.sql import functions as F

    settings = small_lake(tmp_path / "lake", defects=False, seed=31)
    before = {app["id"] for app in spark_cluster.status()["completedapps"]}
    connection = {
        "conn_type": "spark",
        "host": "spark://127.0.0.1",
        "port": spark_cluster.master_port,
    }
    env = {
        "FINLAKE_RUNNER": "spark_submit",
        "FINLAKE_SPARK_SUBMIT_PROFILE": str(dist_dir / "spark-submit.json"),
        "AIRFLOW_CONN_FINLAKE_SPARK": json.dumps(connection),
        "FINLAKE_LAKE_ROOT": settings.lake_root,
        "FINLAKE_FRESHNESS_MAX_HOURS": FRESHNESS_OPEN_HOURS,
        "FINLAKE_TRINO_PORT": str(_closed_port()),
        "SPARK_LOCAL_IP": "127.0.0.1",
    }
    result = airflow_cli.dags_test("finlake_medallion_daily", DAY, env, {"run_forecast": False})

    assert result["run"]["state"] == "success", (result["tasks"], result["output"][-3000:])
    assert result["tasks"] == {
        "landing": "success",
        "bronze": "success",
        "silver": "success",
        "gold": "success",
        "forecast": "skipped",
        "refresh_serving": "skipped",  # no Trino running: soft skip
    }
    new_apps = {
        app["name"]: app
        for app in spark_cluster.status()["completedapps"]
        if app["id"] not in before
    }
    assert set(new_apps) == {"finlake-bronze", "finlake-silver", "finlake-gold"}
    assert all(app["state"] == "FINISHED" and app["cores"] >= 1 for app in new_apps.values())
    gold_rows = spark.read.format("delta").load(settings.location("gold.mrr_daily")).count()
    assert gold_rows > 0
    parents = {
        r["job_name"]: r["parent_run_id"]
        for r in spark.read.format("delta")
        .load(settings.location("ops.pipeline_runs"))
        .filter(F.col("parent_run_id").startswith("airflow/"))
        .collect()
    }
    run_id = result["run"]["run_id"]
    assert parents == dict.fromkeys(
        ("bronze", "silver", "gold"), f"airflow/finlake_medallion_daily/{run_id}"
    )
