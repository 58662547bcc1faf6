"""The Airflow DAGs, run for real with the Airflow CLI of `.venv-airflow` (a subprocess).

The forecast task is skipped in these runs (DAG param `run_forecast=false`): the forecast job
has its own integration tests and would dominate the run time on a 2-core box.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import socket
import subprocess
import threading
from pathlib import Path
from typing import Any

import pytest

from conf.settings import Settings
from tests.dags.conftest import (
    AIRFLOW_PY,
    FRESHNESS_OPEN_HOURS,
    REPO,
    AirflowCli,
    small_lake,
)

pytestmark = [pytest.mark.airflow, pytest.mark.integration]

DAG_IDS = {"finlake_medallion_daily", "finlake_batch_ingest", "finlake_maintenance"}
NO_FORECAST = {"run_forecast": False}
# The last two days of the generated month: "several consecutive logical dates".
DAILY_DATES = (dt.date(2024, 1, 29), dt.date(2024, 1, 30))

DAGBAG_SCRIPT = """
import json, sys
from airflow.dag_processing.dagbag import DagBag
bag = DagBag(dag_folder=sys.argv[1])
ours = sorted(m for m in sys.modules if m.split(".")[0] in
              {"jobs", "conf", "bronze", "silver", "gold", "forecasting", "api", "pyspark"})
print(json.dumps({
    "errors": {k: str(v)[-500:] for k, v in bag.import_errors.items()},
    "our_modules": ours,
    "dags": {d.dag_id: {
        "tags": sorted(d.tags), "doc_md": bool(d.doc_md), "max_active_runs": d.max_active_runs,
        "catchup": d.catchup,
        "tasks": {t.task_id: {"owner": t.owner, "retries": t.retries,
                              "backoff": t.retry_exponential_backoff,
                              "timeout": t.execution_timeout.total_seconds()
                              if t.execution_timeout else None,
                              "callback": bool(t.on_failure_callback)} for t in d.tasks},
    } for d in bag.dags.values()},
}))
"""


def _closed_port() -> int:
    """A loopback port nothing listens on (a Trino started by another suite must not answer)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _lake_env(settings: Settings, **extra: str) -> dict[str, str]:
    return {
        "FINLAKE_LAKE_ROOT": settings.lake_root,
        "FINLAKE_FRESHNESS_MAX_HOURS": FRESHNESS_OPEN_HOURS,
        "FINLAKE_TRINO_PORT": str(_closed_port()),
        **extra,
    }


def test_dagbag_imports_cleanly_with_tags_owner_retries_docs(airflow_cli: AirflowCli) -> None:
    env = airflow_cli.env({"PYTHONPATH": str(REPO / "dags")})
    done = subprocess.run(
        [str(AIRFLOW_PY), "-c", DAGBAG_SCRIPT, str(REPO / "dags")],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["errors"] == {}
    assert report["our_modules"] == [], "dags/ must not import finlake or pyspark"
    assert set(report["dags"]) == DAG_IDS
    for dag_id, dag in report["dags"].items():
        assert dag["tags"] and "finlake" in dag["tags"], dag_id
        assert dag["doc_md"], dag_id
        assert dag["max_active_runs"] == 1, dag_id
        for task_id, task in dag["tasks"].items():
            where = f"{dag_id}.{task_id}"
            assert task["owner"] == "finlake-data", where
            assert task["retries"] >= 1, where
            assert task["backoff"] > 1, where
            assert task["timeout"], where
            assert task["callback"], where
    assert report["dags"]["finlake_medallion_daily"]["catchup"] is True
    assert list(report["dags"]["finlake_medallion_daily"]["tasks"]) == [
        "landing",
        "bronze",
        "silver",
        "gold",
        "forecast",
        "refresh_serving",
    ]


def _gold_tables(root: Path) -> list[str]:
    return sorted(p.name for p in (root / "gold").iterdir() if (p / "_delta_log").is_dir())


def test_daily_runs_build_gold_like_one_run_over_the_range(
    airflow_cli: AirflowCli, spark: Any, tmp_path: Path
) -> None:
    from pyspark.sql import functions as F

    from jobs.pipeline import run_layers

    dag_root, ref_root = tmp_path / "dag-lake", tmp_path / "ref-lake"
    settings = small_lake(dag_root, defects=False, seed=21)
    shutil.copytree(dag_root / "landing", ref_root / "landing")
    env = _lake_env(settings)

    # The DAG runs (subprocesses) and the reference run (in-process) overlap.
    runs: list[dict[str, Any]] = []

    def daily() -> None:
        for day in DAILY_DATES:
            runs.append(airflow_cli.dags_test("finlake_medallion_daily", day, env, NO_FORECAST))

    worker = threading.Thread(target=daily)
    worker.start()
    ref_settings = Settings(
        lake_root=str(ref_root), freshness_max_hours=settings.freshness_max_hours
    )
    run_layers(spark, ref_settings, ["bronze", "silver", "gold"], until=DAILY_DATES[-1])
    worker.join()

    for day, result in zip(DAILY_DATES, runs, strict=True):
        assert result["run"]["state"] == "success", (day, result["tasks"], result["output"][-3000:])
        assert result["tasks"] == {
            "landing": "success",
            "bronze": "success",
            "silver": "success",
            "gold": "success",
            "forecast": "skipped",
            "refresh_serving": "skipped",  # no Trino running: soft skip
        }

    tables = _gold_tables(dag_root)
    assert tables == _gold_tables(ref_root)
    assert {"dim_customer", "mrr_daily", "revenue_daily", "mrr_movements_monthly"} <= set(tables)
    for name in tables:
        dag_df = spark.read.format("delta").load(str(dag_root / "gold" / name))
        ref_df = spark.read.format("delta").load(str(ref_root / "gold" / name))
        assert dag_df.count() == ref_df.count() > 0 or name == "cohort_retention", name
        assert dag_df.exceptAll(ref_df).isEmpty(), f"gold.{name} differs from the one-run build"
        assert ref_df.exceptAll(dag_df).isEmpty(), f"gold.{name} differs from the one-run build"

    # every job run of the DAG is linked to its Airflow run in ops.pipeline_runs
    parents = {
        r["job_name"]: r["parent_run_id"]
        for r in spark.read.format("delta")
        .load(str(dag_root / "ops" / "pipeline_runs"))
        .filter(F.col("parent_run_id").startswith("airflow/"))
        .collect()
    }
    assert {"bronze", "silver", "gold"} <= set(parents)
    airflow_runs = {f"airflow/finlake_medallion_daily/{r['run']['run_id']}" for r in runs}
    assert set(parents.values()) <= airflow_runs


def test_critical_dq_gate_fails_the_run_and_alerts(
    airflow_cli: AirflowCli, tmp_path: Path, webhook: tuple[str, list[dict[str, Any]]]
) -> None:
    url, received = webhook
    settings = small_lake(tmp_path / "lake", defects=True, seed=5)
    env = _lake_env(
        settings,
        FINLAKE_MAX_QUARANTINE_RATIO="0",  # any quarantined row is a critical failure
        FINLAKE_ALERT_SINK="webhook",
        FINLAKE_ALERT_WEBHOOK_URL=url,
    )
    day = dt.date(2024, 1, 20)
    result = airflow_cli.dags_test("finlake_medallion_daily", day, env, NO_FORECAST)

    assert result["run"]["state"] == "failed", result["tasks"]
    tasks = result["tasks"]
    assert tasks["landing"] == tasks["bronze"] == "success"
    assert tasks["silver"] == "failed"
    assert tasks["gold"] == tasks["forecast"] == "upstream_failed"
    airflow_run = f"airflow/finlake_medallion_daily/{result['run']['run_id']}"
    texts = [body["text"] for body in received]
    # Silver's own critical-gate alert, then the DAG's on-failure alert (same sink)
    assert any(t.startswith("finlake DQ critical") for t in texts), texts
    task_alerts = [t for t in texts if "finlake_medallion_daily.silver" in t]
    assert len(task_alerts) == 1, texts
    assert airflow_run in task_alerts[0]
    assert all("blocks" in body for body in received)


def test_batch_ingest_lands_dropped_files_once(airflow_cli: AirflowCli, tmp_path: Path) -> None:
    lake, drop = tmp_path / "lake", tmp_path / "drop"
    (drop / "payment").mkdir(parents=True)
    event = {
        "event_id": "7d0c5a52-5a8e-4a43-9a55-0b7c0b1b7a01",
        "event_time": "2024-01-05T10:00:00+00:00",
        "payment_id": "pay-1",
        "customer_id": "cus-1",
        "invoice_id": "inv-1",
        "amount": "10.00",
        "currency": "USD",
        "status": "succeeded",
        "payment_method": "card",
    }
    (drop / "payment" / "payments.jsonl").write_text(json.dumps(event) + "\n")
    env = {"FINLAKE_LAKE_ROOT": str(lake), "FINLAKE_DROP_DIR": str(drop)}

    result = airflow_cli.dags_test("finlake_batch_ingest", dt.date(2024, 1, 6), env, {})

    assert result["run"]["state"] == "success", result["output"][-3000:]
    landed = list((lake / "landing" / "events" / "payment").rglob("*_batch_*.jsonl"))
    assert len(landed) == 1
    assert not (drop / "payment" / "payments.jsonl").exists()
    assert (drop / "_ingested" / "2024-01-06" / "payment" / "payments.jsonl").exists()
