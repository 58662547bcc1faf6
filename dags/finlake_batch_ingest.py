"""finlake_batch_ingest: copy files from a drop folder into the landing zone (`finlake ingest`)."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path
from typing import Any

from _common import DROP_DIR, START_DATE, default_args, run_job
from airflow.sdk import CronTriggerTimetable, dag, get_current_context, task

EVENT_TYPES = ("subscription", "payment", "usage", "operational_cost")
SUFFIXES = (".jsonl", ".ndjson", ".csv", ".parquet", ".pq")
ARCHIVE = "_ingested"

DOC_MD = f"""
### Batch ingest from a drop folder

Producers that cannot call the REST API drop files into
`$FINLAKE_DROP_DIR/<event_type>/` (default `{DROP_DIR}`), one folder per event type
({", ".join(f"`{t}`" for t in EVENT_TYPES)}); JSONL, CSV or Parquet.

Every 30 minutes: `discover` lists the files, `ingest` (one mapped task per event type) runs
`finlake ingest FILES --type TYPE` in the jobs environment, which copies each file
content-addressed and write-once into the landing zone, then the files are moved to
`$FINLAKE_DROP_DIR/{ARCHIVE}/<ds>/<event_type>/`. A retry or a re-dropped file is a no-op
("already ingested"): the same bytes land once. When a file fails (exit 1), nothing is moved
and the task retries with backoff; the daily medallion DAG picks the landed objects up.
"""


@dag(
    dag_id="finlake_batch_ingest",
    description="drop folder -> landing zone (content-addressed, write-once)",
    schedule=CronTriggerTimetable("*/30 * * * *", timezone="UTC"),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=default_args(execution_timeout=dt.timedelta(minutes=20)),
    tags=["finlake", "ingest", "landing"],
    doc_md=DOC_MD,
)
def finlake_batch_ingest() -> None:
    """Drop folder -> landing zone."""

    @task(execution_timeout=dt.timedelta(minutes=5))
    def discover() -> list[dict[str, Any]]:
        """One batch per event type that has files waiting."""
        batches = []
        for event_type in EVENT_TYPES:
            folder = DROP_DIR / event_type
            files = (
                sorted(str(p) for p in folder.iterdir() if p.is_file() and p.suffix in SUFFIXES)
                if folder.is_dir()
                else []
            )
            if files:
                batches.append({"event_type": event_type, "files": files})
        return batches

    @task
    def ingest(batch: dict[str, Any], ds: str | None = None) -> dict[str, Any]:
        """`finlake ingest` one event type's files, then archive them."""
        files: list[str] = batch["files"]
        run_job(
            "jobs.cli", ["ingest", *files, "--type", batch["event_type"]], get_current_context()
        )
        archive = DROP_DIR / ARCHIVE / str(ds) / batch["event_type"]
        archive.mkdir(parents=True, exist_ok=True)
        for name in files:
            shutil.move(name, archive / Path(name).name)
        return {"event_type": batch["event_type"], "files": len(files)}

    ingest.expand(batch=discover())


finlake_batch_ingest()
