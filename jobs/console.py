"""Console output of the `finlake` CLI (rich): results on stdout, progress and errors on stderr.

Results (tables, next steps) go to stdout so they can be piped; progress, warnings and errors go
to stderr. On a terminal the pipeline shows one live line per layer with its current step (the
jobs announce steps with `RunRecord.phase`, heard here through `add_phase_listener`); elsewhere
(CI, Airflow, a pipe) each finished layer prints one plain line instead.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from rich.console import Console, RenderableType
from rich.progress import (
    Progress,
    SpinnerColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from rich.text import Text

from jobs.observability import add_phase_listener

PIPE_WIDTH = 200
_OUT: Console | None = None
_ERR: Console | None = None


def out() -> Console:
    """Console of results (stdout)."""
    global _OUT
    if _OUT is None:
        _OUT = Console(highlight=False)
        if not _OUT.is_terminal:  # a pipe or file: never wrap tables at 80 columns
            _OUT = Console(highlight=False, width=PIPE_WIDTH)
    return _OUT


def err() -> Console:
    """Console of progress, warnings and errors (stderr)."""
    global _ERR
    if _ERR is None:
        _ERR = Console(stderr=True, highlight=False, soft_wrap=True)
    return _ERR


def reset_consoles() -> None:
    """Forget the consoles (tests swap sys.stdout / sys.stderr between runs)."""
    global _OUT, _ERR
    _OUT = _ERR = None


def print_error(message: str, hint: str | None = None) -> None:
    """One error line on stderr, and an optional hint line."""
    console = err()
    console.print(f"[bold red]error:[/] {_escape(message)}")
    if hint:
        console.print(f"[dim]hint:[/] {_escape(hint)}")


def print_note(message: str) -> None:
    """One informational line on stderr (not part of a command's result)."""
    err().print(f"[cyan]•[/] {_escape(message)}")


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


def cell(value: Any) -> str:
    """Display text of one value: thousands separators, dates as ISO, None as empty."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return f"{value:,.2f}" if value == value.quantize(Decimal("0.0001")) else f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.4f}"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def table(
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    title: str | None = None,
    numeric: Iterable[str] = (),
) -> Table:
    """A rich table: `numeric` columns (and any column whose values are numbers) right-aligned."""
    materialised = [list(r) for r in rows]
    right = set(numeric)
    for i, name in enumerate(columns):
        values = [r[i] for r in materialised if r[i] is not None]
        if values and all(
            isinstance(v, int | float | Decimal) and not isinstance(v, bool) for v in values
        ):
            right.add(name)
    result = Table(title=title, title_justify="left", header_style="bold", box=None, pad_edge=False)
    for name in columns:
        result.add_column(name, justify="right" if name in right else "left", overflow="fold")
    for row in materialised:
        result.add_row(*(cell(v) for v in row))
    return result


# ------------------------------------------------------------------------ layer progress


def layer_summary(layer: str, result: Mapping[str, Any] | None) -> str:
    """A short human summary of a layer's result dict (tolerant of unknown shapes)."""
    if not result:
        return ""
    if result.get("skipped"):
        return "nothing to do"
    if layer == "bronze":
        objects, rows = result.get("objects"), result.get("rows")
        if objects is not None:
            return f"{objects:,} new landing objects, {rows or 0:,} rows"
    if layer == "silver":
        per_type = [v for v in result.values() if isinstance(v, Mapping) and "valid" in v]
        if per_type:
            valid = sum(int(v.get("valid", 0)) for v in per_type)
            quarantined = sum(int(v.get("quarantined", 0)) for v in per_type)
            duplicates = sum(int(v.get("duplicates", 0)) for v in per_type)
            return f"{valid:,} valid, {quarantined:,} quarantined, {duplicates:,} duplicates"
    if layer == "gold" and result.get("range_start"):
        text = f"dates {result['range_start']} .. {result.get('range_end')}"
        restated = result.get("restatements")
        return f"{text}, {restated} restated values" if restated else text
    if layer == "forecast" and result.get("series") is not None:
        return f"{result['series']} series forecast, run {result.get('run_id', '?')}"
    scalars = [f"{k} {v}" for k, v in result.items() if isinstance(v, int | float | str)]
    return ", ".join(scalars[:3])


class _StateColumn(SpinnerColumn):
    """A spinner while running, ✓ when done, ✗ when failed."""

    def render(self, task: Task) -> RenderableType:
        """The state mark of one progress line."""
        if task.fields.get("failed"):
            return Text("✗", style="bold red")
        return super().render(task)


@dataclass
class _Layer:
    name: str
    task: TaskID | None = None
    started: float = field(default_factory=time.perf_counter)
    phase: str = ""


class LayerProgress:
    """Live progress of pipeline layers and the step each job is in.

    Use as a context manager around the work; call `start(layer)`, then `done(layer, result)`
    or `failed(layer)`. Jobs report steps with `RunRecord.phase(...)`; the step shown is the
    latest phase of the layer running now.
    """

    def __init__(self, console: Console | None = None, live: bool | None = None) -> None:
        """Live display on a terminal (or when `live`), plain finished-layer lines otherwise."""
        self.console = console or err()
        self.live = self.console.is_terminal if live is None else live
        self._progress: Progress | None = None
        self._layers: dict[str, _Layer] = {}
        self._current: _Layer | None = None
        self._remove_listener: Any = None
        self.lines_printed = 0

    def __enter__(self) -> LayerProgress:
        if self.live:
            self._progress = Progress(
                _StateColumn(finished_text="[green]✓[/]"),
                TextColumn("[bold]{task.fields[layer]:<9}[/]"),
                TextColumn("{task.description}"),
                TimeElapsedColumn(),
                console=self.console,
                transient=False,
            )
            self._progress.start()
        self._remove_listener = add_phase_listener(self._on_phase)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._remove_listener is not None:
            self._remove_listener()
        if self._current is not None:  # interrupted or failed: mark the running layer
            self.failed(self._current.name)
        if self._progress is not None:
            self._progress.stop()

    def start(self, layer: str, description: str = "starting") -> None:
        """A layer (or a preparatory step such as starting Spark) begins."""
        state = _Layer(layer)
        if self._progress is not None:
            state.task = self._progress.add_task(description, total=None, layer=layer)
        self._layers[layer] = state
        self._current = state

    def _on_phase(self, job_name: str, phase: str) -> None:
        state = self._layers.get(job_name) or self._current
        if state is None:
            return
        state.phase = phase
        if self._progress is not None and state.task is not None:
            self._progress.update(state.task, description=phase.replace("_", " "))

    def done(self, layer: str, summary: str = "") -> None:
        """A layer finished; `summary` is shown next to it."""
        state = self._layers[layer]
        seconds = time.perf_counter() - state.started
        if self._progress is not None and state.task is not None:
            self._progress.update(
                state.task, description=f"[green]{summary or 'done'}[/]", total=1, completed=1
            )
        else:
            suffix = f"  {summary}" if summary else ""
            self.console.print(f"✓ {layer:<9} {seconds:6.1f} s{suffix}", highlight=False)
            self.lines_printed += 1
        if self._current is state:
            self._current = None

    def failed(self, layer: str) -> None:
        """A layer failed (the error itself is reported by the CLI's error handler)."""
        state = self._layers[layer]
        seconds = time.perf_counter() - state.started
        where = f" during {state.phase.replace('_', ' ')}" if state.phase else ""
        if self._progress is not None and state.task is not None:
            self._progress.update(state.task, description=f"[red]failed{where}[/]", failed=True)
            self._progress.stop_task(state.task)
        else:
            self.console.print(f"✗ {layer:<9} {seconds:6.1f} s  failed{where}", highlight=False)
            self.lines_printed += 1
        if self._current is state:
            self._current = None


@contextmanager
def step(progress: LayerProgress, layer: str, description: str = "starting") -> Iterator[None]:
    """Run a block as one progress line: done on success, failed on an exception."""
    progress.start(layer, description)
    try:
        yield
    except BaseException:
        progress.failed(layer)
        raise
    progress.done(layer)
