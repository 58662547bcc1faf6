"""Structured JSON logging with a run id, and the `ops.pipeline_runs` bookkeeping."""

from __future__ import annotations

import contextvars
import datetime as dt
import json
import logging
import os
import sys
import time
import traceback
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from conf.settings import Settings

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

_run_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("run_id", default=None)

# Set by an orchestrator (the Airflow DAGs pass `airflow/{dag_id}/{run_id}`): the parent of the
# top-level job runs of this process, so ops.pipeline_runs links back to the orchestrator run.
PARENT_RUN_ID_ENV = "FINLAKE_PARENT_RUN_ID"


class JsonFormatter(logging.Formatter):
    """One JSON object per line with timestamp, level, logger, run_id and extras."""

    _STANDARD = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message"}

    def format(self, record: logging.LogRecord) -> str:
        """Render a record as JSON."""
        payload: dict[str, Any] = {
            "ts": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
            "run_id": _run_id.get(),
        }
        for key, value in record.__dict__.items():
            if key not in self._STANDARD and not key.startswith("_"):
                payload[key] = value
        if record.exc_info:
            payload["exc"] = self.formatException(record.exc_info)
        return json.dumps(payload, default=str)


class TextFormatter(logging.Formatter):
    """Human-readable line: the message, then `key=value` extras (long values shortened)."""

    _STANDARD = JsonFormatter._STANDARD
    MAX_EXTRA_CHARS = 80

    def format(self, record: logging.LogRecord) -> str:
        """Render a record as one readable line (plus a traceback when there is one)."""
        parts = [record.getMessage()]
        for key, value in record.__dict__.items():
            if key not in self._STANDARD and not key.startswith("_") and key != "markup":
                text = json.dumps(value, default=str) if isinstance(value, dict | list) else value
                text = str(text)
                if len(text) > self.MAX_EXTRA_CHARS:  # the JSON format keeps the whole value
                    text = text[: self.MAX_EXTRA_CHARS - 1] + "…"
                parts.append(f"{key}={text}")
        line = "  ".join(str(p) for p in parts)
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


NOISY_LOGGERS = (
    "py4j",
    "great_expectations",
    "urllib3",
    "botocore",
    "s3transfer",
    "fugue",
    "trino",
)
HANDLER_NAME = "finlake-console"


class _QuietLibraries(logging.Filter):
    """Drop chatty libraries' records below WARNING (some reset their own logger levels)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING or not record.name.startswith(NOISY_LOGGERS)


def resolve_log_format(fmt: str | None = None, stream: Any = None) -> Literal["text", "json"]:
    """`text` or `json`: an explicit choice, else FINLAKE_LOG_FORMAT, else text on a terminal."""
    choice = fmt or os.environ.get("FINLAKE_LOG_FORMAT", "auto").strip().lower()
    if choice == "json":
        return "json"
    if choice == "text":
        return "text"
    target = stream if stream is not None else sys.stderr
    return "text" if getattr(target, "isatty", lambda: False)() else "json"


def configure_logging(level: int | None = None, fmt: str | None = None) -> Literal["text", "json"]:
    """Send logs to stderr: readable text on a terminal, JSON lines (with run_id) otherwise.

    `fmt` is `auto`/`text`/`json` (default: FINLAKE_LOG_FORMAT, else `auto`). The default level
    is INFO for JSON (machines keep everything) and WARNING for text (the console shows
    progress instead). Returns the format chosen.
    """
    chosen = resolve_log_format(fmt)
    handler: logging.Handler
    if chosen == "json":
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
    else:
        from rich.console import Console
        from rich.logging import RichHandler

        handler = RichHandler(
            console=Console(stderr=True),
            show_path=False,
            rich_tracebacks=False,
            markup=False,
            log_time_format="%H:%M:%S",
        )
        handler.setFormatter(TextFormatter())
    handler.addFilter(_QuietLibraries())
    handler.set_name(HANDLER_NAME)
    root = logging.getLogger()
    kept = [
        h
        for h in root.handlers
        if h.get_name() != HANDLER_NAME and type(h) is not logging.StreamHandler
    ]
    root.handlers = [*kept, handler]
    root.setLevel(
        level if level is not None else logging.INFO if chosen == "json" else logging.WARNING
    )
    for noisy in NOISY_LOGGERS:
        logging.getLogger(noisy).setLevel(logging.WARNING)
    return chosen


def current_run_id() -> str | None:
    """Run id of the job being executed, if any."""
    return _run_id.get()


def new_run_id(job_name: str) -> str:
    """A sortable, unique run id."""
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"{job_name}-{stamp}-{uuid.uuid4().hex[:8]}"


@dataclass
class RunRecord:
    """Mutable record a job fills while it runs."""

    run_id: str
    job_name: str
    params: dict[str, Any]
    rows_in: int | None = None
    rows_out: int | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    parent_run_id: str | None = None
    phase_seconds: dict[str, float] = field(default_factory=dict)
    _phase: str | None = None
    _phase_t0: float = field(default_factory=time.perf_counter)

    def phase(self, name: str) -> None:
        """Start phase `name` (closing the previous one) and tell the progress listeners."""
        self.close_phase()
        self._phase, self._phase_t0 = name, time.perf_counter()
        for listener in tuple(_PHASE_LISTENERS):
            listener(self.job_name, name)

    def add_phase_seconds(self, name: str, seconds: float) -> None:
        """Record `seconds` under `name` for work timed by its own thread (overlapping phases)."""
        self.phase_seconds[name] = round(self.phase_seconds.get(name, 0.0) + seconds, 3)

    def close_phase(self) -> None:
        """Record the wall seconds of the current phase in `phase_seconds`."""
        if self._phase is not None:
            elapsed = time.perf_counter() - self._phase_t0
            self.phase_seconds[self._phase] = round(
                self.phase_seconds.get(self._phase, 0.0) + elapsed, 3
            )
            self._phase = None


PhaseListener = Callable[[str, str], None]
_PHASE_LISTENERS: list[PhaseListener] = []


def add_phase_listener(listener: PhaseListener) -> Callable[[], None]:
    """Call `listener(job_name, phase)` whenever a job starts a phase; returns a remover."""
    _PHASE_LISTENERS.append(listener)
    return lambda: _PHASE_LISTENERS.remove(listener)


@contextmanager
def pipeline_run(
    spark: SparkSession,
    settings: Settings,
    job_name: str,
    params: dict[str, Any] | None = None,
    run_id: str | None = None,
) -> Iterator[RunRecord]:
    """Bind a run id to the logs and append one row to `ops.pipeline_runs` on exit."""
    record = RunRecord(
        run_id=run_id or new_run_id(job_name),
        job_name=job_name,
        params=params or {},
        parent_run_id=_run_id.get() or os.environ.get(PARENT_RUN_ID_ENV) or None,
    )
    token = _run_id.set(record.run_id)
    log = logging.getLogger(f"finlake.{job_name}")
    started = dt.datetime.now(dt.UTC)
    t0 = time.perf_counter()
    log.info("job started", extra={"job": job_name, "params": record.params})
    # A job never reuses another job's cached frames: after a rebuild they may describe a
    # replaced Delta snapshot, and Spark re-checks every cached plan on the next unpersist.
    spark.catalog.clearCache()
    status, error = "succeeded", None
    try:
        yield record
    except BaseException as exc:
        status = "failed"
        error = "".join(traceback.format_exception_only(type(exc), exc)).strip()[:4000]
        log.error("job failed", extra={"job": job_name, "error": error})
        raise
    finally:
        record.close_phase()
        if record.phase_seconds:
            record.metrics.setdefault("phase_seconds", record.phase_seconds)
        duration = time.perf_counter() - t0
        row = (
            record.run_id,
            job_name,
            status,
            started.replace(tzinfo=None),
            dt.datetime.now(dt.UTC).replace(tzinfo=None),
            round(duration, 3),
            record.rows_in,
            record.rows_out,
            json.dumps(record.params, default=str, sort_keys=True),
            json.dumps(record.metrics, default=str, sort_keys=True),
            error,
            record.parent_run_id,
        )
        try:
            from jobs.lake import Lake

            lake = Lake(spark, settings)
            lake.append_rows("ops.pipeline_runs", [row])
        except Exception:  # bookkeeping must never hide the job's own outcome
            log.exception("could not record pipeline run")
        log.info(
            "job finished",
            extra={"job": job_name, "status": status, "duration_s": round(duration, 3)},
        )
        _run_id.reset(token)
