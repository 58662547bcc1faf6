"""Run every finlake benchmark once (quick or full sizes) and write one combined report.

Each benchmark runs in its own process (its own Spark session / servers), one after another,
so they never compete with each other for the CPUs. Raw outputs go to
`benchmarks/results/runs/<size>/`, the pipeline result to `benchmarks/results/pipeline.json`,
and the combined figures to `benchmarks/results/report.json` and `report.md`.

Usage: `.venv/bin/python benchmarks/run_all.py [--size quick|full] [--only pipeline ...]`
(or `make bench BENCH_SIZE=quick|full`).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
BENCHES = ("pipeline", "ingest_api", "forecast", "metrics_api")


def load() -> list[float]:
    """1/5/15-minute load averages."""
    return [round(v, 2) for v in os.getloadavg()]


def commands(size: str, runs_dir: Path) -> dict[str, tuple[list[str], Path | None]]:
    """Per benchmark: its command line and the JSON file it writes (None: JSON on stdout)."""
    py = sys.executable
    b = ROOT / "benchmarks"
    quick = size == "quick"
    pipeline_out = RESULTS / "pipeline.json"
    forecast_out = runs_dir / "forecast.json" if quick else RESULTS / "forecast.json"
    return {
        "pipeline": (
            [py, str(b / "pipeline_bench.py"), "--out", str(pipeline_out)]
            + (["--days", "180", "--customers", "400"] if quick else ["--scales"]),
            pipeline_out,
        ),
        "ingest_api": (
            [py, str(b / "ingest_api.py"), "--backends", "local", "s3"]
            + (["--batches", "30", "--latency-requests", "150"] if quick else []),
            None,
        ),
        "forecast": (
            [py, str(b / "forecast_bench.py"), "--out", str(forecast_out)]
            + (["--series", "24", "--days", "365"] if quick else ["--series", "48"]),
            forecast_out,
        ),
        "metrics_api": (
            [py, str(b / "metrics_api_bench.py")]
            + (["--days", "365", "--cold", "15", "--cached", "20"] if quick else []),
            None,
        ),
    }


def _last_json(text: str) -> dict[str, Any]:
    """The last top-level JSON object printed on stdout."""
    start = text.rfind("\n{")
    while start != -1:
        try:
            value: dict[str, Any] = json.loads(text[start + 1 :])
            return value
        except ValueError:
            start = text.rfind("\n{", 0, start)
    value = json.loads(text)
    return value


def run_one(
    name: str, argv: list[str], out: Path | None, runs_dir: Path, timeout: int
) -> dict[str, Any]:
    """Run one benchmark; its parsed result, or the failure."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    entry: dict[str, Any] = {"command": " ".join(Path(a).name if "/" in a else a for a in argv)}
    entry["load_avg_before"] = load()
    t0 = time.perf_counter()
    print(f"[run_all] {name}: {entry['command']}", file=sys.stderr, flush=True)
    try:
        proc = subprocess.run(
            argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        entry.update(status="timeout", seconds=timeout)
        return entry
    entry["seconds"] = round(time.perf_counter() - t0, 1)
    entry["load_avg_after"] = load()
    (runs_dir / f"{name}.log").write_text(proc.stderr[-20000:])
    if proc.returncode != 0:
        entry.update(status="failed", returncode=proc.returncode, stderr=proc.stderr[-3000:])
        return entry
    try:
        result = json.loads(out.read_text()) if out else _last_json(proc.stdout)
    except (OSError, ValueError) as exc:
        entry.update(status="failed", error=f"unreadable result: {exc}")
        return entry
    if out is None:
        (runs_dir / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n")
    entry.update(status="ok", result=result)
    return entry


def reuse(name: str, path: Path) -> dict[str, Any]:
    """An earlier result of a benchmark not run this time (status `reused`), if any."""
    if not path.exists():
        return {"status": "missing", "command": f"(not run; no {path.name})"}
    result = json.loads(path.read_text())
    runs = result.get("runs") or [{}]
    return {
        "status": "reused",
        "command": f"(earlier run: {path.relative_to(ROOT)})",
        "load_avg_before": result.get("load_avg_start") or runs[0].get("load_avg_start"),
        "load_avg_after": result.get("load_avg_end") or runs[-1].get("load_avg_end"),
        "result": result,
    }


def _get(data: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(data, dict) or key not in data:
            return None
        data = data[key]
    return data


def ratios(entries: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The headline figures of all benchmarks."""
    out: dict[str, Any] = {}
    pipe = _get(entries, "pipeline", "result", "runs")
    if pipe:
        out["medallion_vs_bare_copy"] = [
            {
                "events": r["events"],
                "bare_copy_events_per_s": r["bare_copy"]["events_per_s"],
                "bronze_x": r["medallion"]["bronze_x_bare_copy"],
                "silver_x": r["medallion"]["silver_x_bare_copy"],
                "medallion_x": r["medallion"]["x_bare_copy"],
            }
            for r in pipe
        ]
        out["one_new_day"] = [
            {
                "events": r["events"],
                "medallion_s": r["medallion"]["seconds"],
                "day_s": r["incremental_day"]["seconds"],
                "ratio": r["incremental_day"]["vs_medallion"],
                "goal_met": r["incremental_day"]["goal_met"],
                "run_all_day_s": r["finlake_run_all_day"]["seconds"],
                "identical": r["determinism"]["identical"]
                and r["determinism"]["incremental_equals_full_rebuild"],
            }
            for r in pipe
        ]
        out["seconds_per_1k_events"] = [
            {"events": r["events"], **r["seconds_per_1k_events"]} for r in pipe
        ]
    fc = _get(entries, "forecast", "result")
    if fc:
        out["spark_forecast_vs_single_process"] = {
            "series": fc.get("series"),
            "single_process_s": _get(fc, "single_process", "seconds"),
            "spark_local2_s": _get(fc, "spark_local2", "seconds"),
            "speedup": fc.get("spark_speedup"),
            "goal_met": fc.get("spark_speedup_goal_met"),
        }
        out["refit_vs_full_autoarima"] = {
            "speedup": _get(fc, "refit_vs_auto", "speedup"),
            "mase_rel_diff_pct": _get(fc, "refit_vs_auto", "mase_rel_diff_pct"),
            "speedup_goal_met": _get(fc, "refit_vs_auto", "speedup_goal_met"),
            "mase_goal_met": _get(fc, "refit_vs_auto", "mase_goal_met"),
        }
    ing = _get(entries, "ingest_api", "result", "backends")
    if ing:
        out["ingest_api"] = {
            backend: {
                "events_per_s": _get(v, "throughput", "events_per_s"),
                "batch_size": _get(v, "throughput", "batch_size"),
                "single_event_p50_ms": _get(v, "single_event_latency", "p50_ms"),
                "single_event_p99_ms": _get(v, "single_event_latency", "p99_ms"),
            }
            for backend, v in ing.items()
        }
    met = _get(entries, "metrics_api", "result", "latency")
    if met:
        out["metrics_api"] = {
            "worst_cold_p50_ms": _get(met, "summary", "worst_cold_p50_ms"),
            "worst_cached_p50_ms": _get(met, "summary", "worst_cached_p50_ms"),
            "worst_cold_p95_ms": max(v["cold"]["p95_ms"] for k, v in met.items() if k != "summary"),
            "worst_cached_p95_ms": max(
                v["cached"]["p95_ms"] for k, v in met.items() if k != "summary"
            ),
            "worst_after_start_p50_ms": max(
                (v["after_start"] or {}).get("p50_ms", 0.0)
                for k, v in met.items()
                if k != "summary"
            ),
            "trino_start_s": _get(entries, "metrics_api", "result", "trino_start_s"),
        }
    return out


def markdown(report: dict[str, Any]) -> str:
    """Human summary of the combined report."""
    r = report["ratios"]
    lines = [
        f"# finlake benchmarks ({report['size']})",
        "",
        f"Run {report['started_at']} -> {report['finished_at']} on {report['cpus']} CPUs "
        f"(shared machine). Load average at start {report['load_avg_start']}, at end "
        f"{report['load_avg_end']}. Reproduce: `make bench BENCH_SIZE={report['size']}`.",
        "",
        "| benchmark | status | seconds | load before -> after |",
        "|---|---|---:|---|",
    ]
    for name, e in report["benchmarks"].items():
        lines.append(
            f"| {name} | {e['status']} | {e.get('seconds', '')} "
            f"| {e.get('load_avg_before')} -> {e.get('load_avg_after')} |"
        )
    lines += ["", "## Headline figures", "", "| figure | value |", "|---|---|"]
    for m in r.get("medallion_vs_bare_copy", []):
        lines.append(
            f"| Medallion vs bare copy ({m['events']:,} events) | Bronze {m['bronze_x']}x, "
            f"Silver {m['silver_x']}x, whole {m['medallion_x']}x |"
        )
    for m in r.get("one_new_day", []):
        lines.append(
            f"| One new day B+S+G vs medallion ({m['events']:,} events) | "
            f"{m['day_s']} s vs {m['medallion_s']} s = {m['ratio']:.1%} "
            f"(goal <= 10 %: {'met' if m['goal_met'] else 'not met'}); `finlake run all` "
            f"{m['run_all_day_s']} s; identical: {m['identical']} |"
        )
    for m in r.get("seconds_per_1k_events", []):
        lines.append(
            f"| s per 1k events ({m['events']:,}) | bare {m['bare_copy']}, Bronze {m['bronze']}, "
            f"Silver {m['silver']}, Gold full {m['gold_full']} |"
        )
    if "spark_forecast_vs_single_process" in r:
        f = r["spark_forecast_vs_single_process"]
        lines.append(
            f"| Spark forecast vs single process ({f['series']} series) | "
            f"{f['spark_local2_s']} s vs {f['single_process_s']} s = {f['speedup']}x "
            f"(goal >= 1.7x: {'met' if f['goal_met'] else 'not met'}) |"
        )
        g = r["refit_vs_full_autoarima"]
        lines.append(
            f"| Refit vs full AutoARIMA | {g['speedup']}x faster (goal >= 10x: "
            f"{'met' if g['speedup_goal_met'] else 'not met'}), MASE "
            f"{g['mase_rel_diff_pct']:+} % (goal within 2 %: "
            f"{'met' if g['mase_goal_met'] else 'not met'}) |"
        )
    for backend, v in r.get("ingest_api", {}).items():
        lines.append(
            f"| Ingest API ({backend}) | {v['events_per_s']:,} events/s in batches of "
            f"{v['batch_size']}; single event p50 {v['single_event_p50_ms']} ms, "
            f"p99 {v['single_event_p99_ms']} ms |"
        )
    if "metrics_api" in r:
        v = r["metrics_api"]
        lines.append(
            f"| Metrics API via Trino | worst endpoint cold p50 {v['worst_cold_p50_ms']} ms / "
            f"p95 {v['worst_cold_p95_ms']} ms; cached p50 {v['worst_cached_p50_ms']} ms / "
            f"p95 {v['worst_cached_p95_ms']} ms; first requests after a Trino start p50 "
            f"{v['worst_after_start_p50_ms']} ms |"
        )
    failed = [n for n, e in report["benchmarks"].items() if e["status"] not in ("ok", "reused")]
    if failed:
        lines += ["", f"Failed: {', '.join(failed)} (see benchmarks/results/runs/*/<name>.log)"]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks and write report.json and report.md; 1 if any failed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=("quick", "full"), default="quick")
    parser.add_argument("--only", nargs="+", choices=BENCHES, default=list(BENCHES))
    parser.add_argument(
        "--reuse", action="store_true", help="report earlier results of benchmarks not run"
    )
    parser.add_argument(
        "--report-only", action="store_true", help="run nothing; rebuild the report"
    )
    parser.add_argument("--timeout", type=int, default=None, help="seconds per benchmark")
    args = parser.parse_args(argv)
    timeout = args.timeout or (1800 if args.size == "quick" else 4 * 3600)
    runs_dir = RESULTS / "runs" / args.size
    runs_dir.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {
        "size": args.size,
        "started_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
        "load_avg_start": load(),
        "benchmarks": {},
    }
    for name, (cmd, out) in commands(args.size, runs_dir).items():
        if name in args.only and not args.report_only:
            report["benchmarks"][name] = run_one(name, cmd, out, runs_dir, timeout)
        elif args.reuse or args.report_only:
            report["benchmarks"][name] = reuse(name, out or runs_dir / f"{name}.json")
    report["ratios"] = ratios(report["benchmarks"])
    report["load_avg_end"] = load()
    report["finished_at"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    compact = {
        **report,
        "benchmarks": {
            n: {k: v for k, v in e.items() if k != "result"}
            for n, e in report["benchmarks"].items()
        },
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "report.json").write_text(json.dumps(compact, indent=2, default=str) + "\n")
    (RESULTS / "report.md").write_text(markdown(report))
    print(json.dumps(compact["ratios"], indent=2, default=str))
    good = ("ok", "reused")
    return 0 if all(e["status"] in good for e in report["benchmarks"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
