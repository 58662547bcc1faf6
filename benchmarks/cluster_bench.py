"""Medallion throughput on a Spark standalone cluster (2 workers x 1 core) versus `local[2]`.

One generated lake is copied twice; Bronze, Silver and Gold run as the jobs users run:
`python -m jobs.<job>` (embedded, `local[2]`) on one copy, `spark-submit --master spark://...`
(client mode, the arguments of `jobs.spark.spark_submit_args`) on the other. Each layer's wall
time includes its JVM start, as a scheduler would see it. Reports events/s of the whole
medallion (events / sum of the three layers' seconds), per-layer seconds, and whether the Gold
tables of both runs have the same checksums. One run each; the load average is recorded.

Usage: `.venv/bin/python benchmarks/cluster_bench.py [--days 180 --customers 700]`
(`make dist` first, or the script builds the distribution into a temp folder).
"""

from __future__ import annotations

import os

os.environ.setdefault("FINLAKE_ENV", "test")
os.environ.setdefault("FINLAKE_API_KEYS", '{"bench-read-key": ["read"]}')

import argparse
import datetime as dt
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bronze.objectstore import LocalObjectStore  # noqa: E402
from conf.settings import Settings  # noqa: E402
from jobs.bootstrap import build_dist  # noqa: E402
from jobs.generator import generate  # noqa: E402
from jobs.spark import spark_submit_args  # noqa: E402
from tests.cluster.standalone import StandaloneCluster, spark_env  # noqa: E402

LAYERS = ("bronze_job", "silver_job", "gold_job")
RESULTS = ROOT / "benchmarks" / "results"


def _env(lake: Path, **extra: str) -> dict[str, str]:
    env = spark_env(
        FINLAKE_ENV="test",
        FINLAKE_API_KEYS='{"bench-read-key": ["read"]}',
        FINLAKE_LAKE_ROOT=str(lake),
        FINLAKE_FRESHNESS_MAX_HOURS=str(24 * 1000),
        GX_ANALYTICS_ENABLED="False",
        TQDM_DISABLE="1",
        PYTHONPATH=str(ROOT),
        **extra,
    )
    if "FINLAKE_CACHE_DIR" in os.environ:
        env["FINLAKE_CACHE_DIR"] = os.environ["FINLAKE_CACHE_DIR"]
    return env


def _timed(command: list[str], env: dict[str, str], log: Path) -> float:
    t0 = time.perf_counter()
    with log.open("w") as out:
        done = subprocess.run(command, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    if done.returncode != 0:
        raise RuntimeError(f"{command[-1]} failed ({done.returncode}); see {log}")
    return round(time.perf_counter() - t0, 2)


def _gold_checksums(lake: Path) -> dict[str, Any]:
    """Checksums of every Gold table, computed in a child process (its own session)."""
    code = (
        "import json, sys; from pathlib import Path;"
        "from benchmarks.pipeline_bench import table_checksum;"
        "from conf.settings import Settings; from jobs.spark import get_spark;"
        "spark = get_spark(Settings(lake_root=sys.argv[1]), 'bench-checksums');"
        "root = Path(sys.argv[1]) / 'gold';"
        "print(json.dumps({p.name: table_checksum(spark, str(p)) for p in sorted(root.iterdir())"
        " if (p / '_delta_log').is_dir()}))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(lake)],
        env=_env(lake),
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> int:
    """Generate, run both ways, print and save the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=180)
    parser.add_argument("--customers", type=int, default=700)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--out", type=Path, default=RESULTS / "cluster_vs_local.json")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="finlake-cluster-bench-"))
    try:
        local_lake, cluster_lake = work / "local", work / "cluster"
        manifest = generate(
            LocalObjectStore(local_lake / "landing"),
            work / "truth",
            seed=args.seed,
            start=dt.date(2024, 1, 1),
            days=args.days,
            customers=args.customers,
        )
        shutil.copytree(local_lake / "landing", cluster_lake / "landing")
        events = int(manifest["lines"])
        dist = work / "dist"
        build_dist(dist, Settings())
        out: dict[str, Any] = {
            "events": events,
            "days": args.days,
            "customers": args.customers,
            "load_avg_start": [round(v, 2) for v in os.getloadavg()],
        }
        local: dict[str, float] = {}
        for job in LAYERS:
            command = [sys.executable, "-m", f"jobs.{job}"]
            env = _env(local_lake, FINLAKE_SPARK_MASTER="local[2]")
            local[job] = _timed(command, env, work / f"local-{job}.log")
        out["load_avg_after_local"] = [round(v, 2) for v in os.getloadavg()]
        cluster = StandaloneCluster(work / "spark-cluster").start()
        remote: dict[str, float] = {}
        try:
            submit = str(Path(sys.executable).parent / "spark-submit")
            for job in LAYERS:
                app = f"finlake-{job.removesuffix('_job')}"
                submit_args = spark_submit_args(Settings(), app, dist_dir=dist)
                command = [
                    submit,
                    "--master",
                    cluster.master_url,
                    "--conf",
                    "spark.ui.enabled=false",
                ]
                command += [*submit_args, str(ROOT / "jobs" / f"{job}.py")]
                remote[job] = _timed(command, _env(cluster_lake), work / f"cluster-{job}.log")
        finally:
            cluster.stop()
        out["load_avg_end"] = [round(v, 2) for v in os.getloadavg()]
        for name, seconds in (("local[2]", local), ("standalone 2x1 core", remote)):
            total = sum(seconds.values())
            out[name] = {
                "seconds": seconds,
                "total_s": round(total, 2),
                "events_per_s": round(events / total, 1),
            }
        out["gold_identical"] = _gold_checksums(local_lake) == _gold_checksums(cluster_lake)
        out["measured_at"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(out, indent=2) + "\n")
        print(json.dumps(out, indent=2))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
