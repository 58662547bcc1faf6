"""`finlake driver`: a warm Spark driver that `finlake run`, `backfill` and `replay` attach to.

A new process pays for its driver twice: the JVM's start (5-8 s) and, worse, its first run
of every code path (a fresh process's daily run takes about 30 s longer than the same day in
a session that has run before; docs/benchmarks.md). `finlake driver serve` starts one session,
imports the jobs, and then runs the pipeline commands sent to it, one at a time, in that
session, so the daily run pays neither.

The client side is light (no pyspark import): `finlake run ...` looks for a driver serving its
lake, sends its arguments, streams the driver's output to its own stdout/stderr and exits with
the driver's exit code. No driver: the command runs in its own process, as before
(`--no-driver` forces that). A driver started with other settings than the client's is refused
with a clear error, never used silently.

The socket is a Unix socket in a directory only its user can open (mode 0700, checked), like
ssh-agent's: whoever can connect could also run `finlake` as that user. Messages are JSON
lines, never pickles. A client that goes away (Ctrl-C) does not stop the run: the pipeline is
safe to kill, but finishing is cheaper; its output is dropped from then on.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import fcntl
import hashlib
import io
import json
import logging
import os
import signal
import socket
import socketserver
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from conf.settings import Settings, get_settings
from jobs.cli import CliError
from jobs.exit_codes import EXIT_OK, EXIT_UNAVAILABLE, EXIT_USAGE

log = logging.getLogger("finlake.driver")

# What a driver runs: the CLI, and the job modules' own entry points (Airflow's tasks).
ENTRIES = ("jobs.cli", "jobs.bronze_job", "jobs.silver_job", "jobs.gold_job", "jobs.forecast_job")
# Environment a client passes to its run (per run, not part of the settings it must share).
PER_RUN_ENV = ("FINLAKE_PARENT_RUN_ID", "COLUMNS", "LINES")
CONNECT_TIMEOUT_S = 2.0
_serving = threading.Event()  # set in the driver's own process: never delegate to itself


# ---------------------------------------------------------------------------- addressing


def socket_dir() -> Path:
    """Directory of this user's driver sockets (created 0700; refused if others can enter)."""
    base = os.environ.get("XDG_RUNTIME_DIR") or tempfile.gettempdir()
    path = Path(base) / f"finlake-{os.getuid()}"
    path.mkdir(mode=0o700, exist_ok=True)
    info = path.stat()
    if info.st_uid != os.getuid() or info.st_mode & 0o077:
        raise CliError(
            f"{path} is not private to this user (owner {info.st_uid}, mode "
            f"{info.st_mode & 0o777:o}): refusing to use a driver socket there",
            "remove it, or set XDG_RUNTIME_DIR to a directory only you can open",
            EXIT_USAGE,
        )
    return path


def socket_path(settings: Settings) -> Path:
    """The socket of the driver serving `settings.lake_root` (one driver per lake)."""
    key = hashlib.sha256(settings.lake_root.encode()).hexdigest()[:16]
    return socket_dir() / f"driver-{key}.sock"


@contextlib.contextmanager
def _only_driver(settings: Settings) -> Iterator[None]:
    """Hold the lake's driver lock (a second `serve` for the same lake is refused at once)."""
    lock_path = socket_path(settings).with_suffix(".lock")
    with lock_path.open("a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise CliError(
                f"a driver already serves {settings.lake_root} (or is starting)",
                "`finlake driver status` shows it; `finlake driver stop` stops it",
            ) from None
        yield  # the lock goes with the file's close, or with the process


def _plain(value: Any) -> Any:
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, set | frozenset):
        return sorted(str(_plain(v)) for v in value)
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


def fingerprint(settings: Settings) -> str:
    """Digest of every setting, secrets included (only the digest leaves the process)."""
    text = json.dumps(_plain(settings.model_dump()), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


# --------------------------------------------------------------------------------- client


def _send(sock: socket.socket, message: Mapping[str, Any]) -> None:
    sock.sendall(json.dumps(message).encode() + b"\n")


def _connect(settings: Settings) -> socket.socket | None:
    """A connection to the driver of this lake, or None when none is listening."""
    path = socket_path(settings)
    if not path.exists():
        return None
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(CONNECT_TIMEOUT_S)
    try:
        sock.connect(str(path))
    except (ConnectionRefusedError, FileNotFoundError):  # a driver that died: its stale socket
        sock.close()
        return None
    sock.settimeout(None)
    return sock


def _replies(sock: socket.socket) -> Iterator[dict[str, Any]]:
    with sock.makefile("rb") as lines:
        for line in lines:
            yield json.loads(line)


def status(settings: Settings) -> dict[str, Any] | None:
    """The driver's status (pid, lake, runs served, busy), or None when none serves this lake."""
    sock = _connect(settings)
    if sock is None:
        return None
    with sock:
        _send(sock, {"op": "status"})
        for reply in _replies(sock):
            return reply
    return None


def add_no_driver_flag(parser: argparse.ArgumentParser) -> None:
    """`--no-driver` on a command a driver can run (CLI commands also get `driver_ok`)."""
    parser.add_argument(
        "--no-driver",
        action="store_true",
        help="run in this process even when a warm driver (`finlake driver serve`) serves "
        "this lake",
    )
    parser.set_defaults(driver_ok=True)


def delegate(argv: Sequence[str], settings: Settings) -> int | None:
    """Run `finlake ARGV` in this lake's driver; its exit code, or None when none serves it."""
    return _delegate("jobs.cli", argv, settings)


def delegate_job(module: str, argv: Sequence[str] | None) -> int | None:
    """Run job `module`'s `main(argv)` in this lake's driver (how Airflow's local tasks run).

    None when no driver serves the lake, or under spark-submit: a launched job runs where its
    launcher put it. A refusal is printed as the CLI prints errors and is the exit code.
    """
    if "PYSPARK_GATEWAY_PORT" in os.environ:
        return None
    try:
        return _delegate(module, sys.argv[1:] if argv is None else argv, get_settings())
    except CliError as exc:
        from jobs.console import print_error

        print_error(exc.message, exc.hint)
        return exc.code


def _delegate(entry: str, argv: Sequence[str], settings: Settings) -> int | None:
    if _serving.is_set():
        return None
    sock = _connect(settings)
    if sock is None:
        return None
    columns, lines = _terminal_size()
    env = {name: os.environ[name] for name in PER_RUN_ENV if name in os.environ}
    env.setdefault("COLUMNS", str(columns))
    env.setdefault("LINES", str(lines))
    message = {
        "op": "run",
        "entry": entry,
        "argv": list(argv),
        "fingerprint": fingerprint(settings),
        "env": env,
        "tty": {"out": sys.stdout.isatty(), "err": sys.stderr.isatty()},
    }
    with sock:
        try:
            _send(sock, message)
            for reply in _replies(sock):
                if "refused" in reply:
                    code = int(reply.get("code", EXIT_USAGE))
                    raise CliError(reply["refused"], reply.get("hint"), code)
                if "exit" in reply:
                    return int(reply["exit"])
                stream = sys.stdout if reply.get("stream") == "out" else sys.stderr
                stream.write(str(reply.get("text", "")))
                stream.flush()
        except KeyboardInterrupt:
            print(
                "the driver finishes the run on its own: `finlake driver status`", file=sys.stderr
            )
            raise
        except (ConnectionError, ValueError) as exc:
            raise _driver_lost(settings) from exc
    raise _driver_lost(settings)


def _driver_lost(settings: Settings) -> CliError:
    return CliError(
        f"the driver of {settings.lake_root} closed the connection without a result "
        "(stopped or died)",
        "see its log; rerun with --no-driver to run in this process",
        EXIT_UNAVAILABLE,
    )


def _terminal_size() -> tuple[int, int]:
    try:
        size = os.get_terminal_size(sys.stderr.fileno())
    except (OSError, ValueError, io.UnsupportedOperation):
        return 80, 24
    return size.columns, size.lines


# --------------------------------------------------------------------------------- server


class _ClientStream(io.TextIOBase):
    """stdout or stderr of one run, sent to its client; output after a disconnect is dropped."""

    def __init__(self, sock: socket.socket, name: str, is_tty: bool, gone: threading.Event):
        """`gone` is shared by a run's two streams: the first failed send marks the client gone."""
        super().__init__()
        self._sock, self._name, self._is_tty, self._gone = sock, name, is_tty, gone

    def writable(self) -> bool:
        """Always: text goes to the client (or nowhere once it left)."""
        return True

    def isatty(self) -> bool:
        """What the client's own stream is: rich and the log format follow it."""
        return self._is_tty

    @property
    def encoding(self) -> str:  # type: ignore[override]
        """Text is sent as UTF-8 JSON."""
        return "utf-8"

    def write(self, text: str) -> int:
        """Send `text` as one message (never raises: a lost client must not fail the run)."""
        if text and not self._gone.is_set():
            try:
                _send(self._sock, {"stream": self._name, "text": text})
            except OSError:
                self._gone.set()
        return len(text)


@contextlib.contextmanager
def _environment(values: Mapping[str, str]) -> Iterator[None]:
    """Set the per-run variables `values` for the duration of one run, then restore them."""
    saved = {name: os.environ.get(name) for name in PER_RUN_ENV}
    for name in PER_RUN_ENV:
        os.environ.pop(name, None)
    os.environ.update({k: str(v) for k, v in values.items() if k in PER_RUN_ENV})
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


class DriverServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    """The warm driver: one session, one run at a time, status and stop at any time."""

    daemon_threads = True

    def __init__(self, path: Path, settings: Settings, runner: Callable[[str, list[str]], int]):
        """Listen on `path`; `runner(entry, argv)` runs one command: `entry`'s `main(argv)`."""
        self.settings = settings
        self.fingerprint = fingerprint(settings)
        self.runner = runner
        self.run_lock = threading.Lock()
        self.started_at = dt.datetime.now(dt.UTC)
        self.runs = 0
        self.current: list[str] | None = None
        self.stopping = threading.Event()
        super().__init__(str(path), _Handler)
        path.chmod(0o600)

    def status(self) -> dict[str, Any]:
        """What `finlake driver status` shows."""
        return {
            "pid": os.getpid(),
            "lake_root": self.settings.lake_root,
            "started_at": self.started_at.isoformat(timespec="seconds"),
            "runs": self.runs,
            "busy": self.current is not None,
            "current": self.current,
            "stopping": self.stopping.is_set(),
        }

    def stop(self) -> None:
        """Stop accepting requests (a run in progress finishes); returns at once."""
        if not self.stopping.is_set():
            self.stopping.set()
            threading.Thread(target=self.shutdown, name="driver-stop", daemon=True).start()

    def run(self, message: Mapping[str, Any], sock: socket.socket) -> None:
        """One `run` request: refused, or executed in this session with its output streamed."""
        if message.get("fingerprint") != self.fingerprint:
            _send(
                sock,
                {
                    "refused": f"the driver of {self.settings.lake_root} (pid {os.getpid()}) "
                    "runs with other settings than this command",
                    "hint": "stop it (`finlake driver stop`) and start it with these settings, "
                    "or add --no-driver to run in this process",
                },
            )
            return
        if self.stopping.is_set():  # transient: exit 3, which Airflow retries
            refusal = {"refused": "the driver is stopping", "code": EXIT_UNAVAILABLE}
            _send(sock, {**refusal, "hint": "rerun when it stopped, or with --no-driver"})
            return
        entry = str(message.get("entry", "jobs.cli"))
        if entry not in ENTRIES:
            _send(sock, {"refused": f"the driver runs {', '.join(ENTRIES)}, not {entry}"})
            return
        if not self.run_lock.acquire(blocking=False):
            running = _describe(self.current or [])
            _send(sock, {"stream": "err", "text": f"waiting for the driver's `{running}`\n"})
            self.run_lock.acquire()
        try:
            argv = [str(a) for a in message.get("argv", [])]
            self.current = [entry, *argv]
            code = self._execute(entry, argv, message, sock)
            self.runs += 1
        finally:
            self.current = None
            self.run_lock.release()
        with contextlib.suppress(OSError):
            _send(sock, {"exit": code})
        if not _session_alive():
            log.error("the driver's Spark session has stopped: the driver exits")
            self.stop()

    def _execute(
        self, entry: str, argv: list[str], message: Mapping[str, Any], sock: socket.socket
    ) -> int:
        gone = threading.Event()
        tty = message.get("tty") or {}
        out = _ClientStream(sock, "out", bool(tty.get("out")), gone)
        err = _ClientStream(sock, "err", bool(tty.get("err")), gone)
        started = time.perf_counter()
        code = 1
        try:
            with (
                _environment(message.get("env") or {}),
                contextlib.redirect_stdout(out),
                contextlib.redirect_stderr(err),
            ):
                code = self.runner(entry, argv)
        except SystemExit as done:
            code = done.code if isinstance(done.code, int) else 1
        finally:
            _own_logging()
        from jobs.console import print_note

        left = " (its client left before the end)" if gone.is_set() else ""
        seconds = time.perf_counter() - started
        print_note(f"ran `{_describe([entry, *argv])}`: exit {code} in {seconds:.1f} s{left}")
        return code


class _Handler(socketserver.StreamRequestHandler):
    server: DriverServer

    def handle(self) -> None:
        try:
            message = json.loads(self.rfile.readline() or b"{}")
        except ValueError:
            return
        op = message.get("op") if isinstance(message, dict) else None
        if op == "status":
            _send(self.request, self.server.status())
        elif op == "stop":
            self.server.stop()
            _send(self.request, {"stopping": True, **self.server.status()})
        elif op == "run":
            self.server.run(message, self.request)


def _command_name(entry: str) -> str:
    return "finlake" if entry == "jobs.cli" else f"python -m {entry}"


def _describe(current: Sequence[str]) -> str:
    """A run's command line as its user typed it (`current` is [entry, *argv])."""
    return " ".join([_command_name(current[0]), *current[1:]]) if current else ""


def run_entry(entry: str, argv: list[str]) -> int:
    """`entry`'s `main(argv)` as its process would end: an uncaught error is a traceback, 1."""
    import importlib
    import traceback

    main: Callable[[list[str]], int] = importlib.import_module(entry).main
    try:
        return int(main(argv))
    except Exception:
        traceback.print_exc()
        return 1


def _session_alive() -> bool:
    from pyspark import SparkContext

    context = SparkContext._active_spark_context
    return context is not None and not context._jsc.sc().isStopped()


def _own_logging() -> None:
    """Logs back to the driver's own stderr after a run pointed them at its client."""
    from jobs.observability import configure_logging

    configure_logging(fmt=get_settings().log_format)


def serve(settings: Settings, ready: Callable[[Path], None] | None = None) -> int:
    """Start the session, import the jobs and serve until stopped (SIGTERM, SIGINT or `stop`)."""
    with _only_driver(settings):
        return _serve(settings, ready)


def _serve(settings: Settings, ready: Callable[[Path], None] | None) -> int:
    from jobs.pipeline import LAYER_MODULES, get_spark
    from jobs.spark import use_session

    path = socket_path(settings)
    path.unlink(missing_ok=True)  # a stale socket of a driver that died (we hold the lock)
    spark = get_spark(settings, "finlake-driver")
    for module in LAYER_MODULES:
        __import__(module)
    use_session(spark)
    _serving.set()
    server = DriverServer(path, settings, run_entry)
    previous = {
        sig: signal.signal(sig, lambda *_: server.stop()) for sig in (signal.SIGTERM, signal.SIGINT)
    }
    try:
        if ready is not None:
            ready(path)
        server.serve_forever(poll_interval=0.2)
        with server.run_lock:  # a run in progress finishes before the session stops
            pass
    finally:
        server.server_close()
        path.unlink(missing_ok=True)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        use_session(None)
        _serving.clear()
        spark.stop()
    return EXIT_OK


# ------------------------------------------------------------------------------ commands


def _cmd_serve(args: argparse.Namespace) -> int:
    from jobs import console

    settings = get_settings()

    def ready(path: Path) -> None:
        console.print_note(
            f"driver ready for {settings.lake_root} (pid {os.getpid()}, socket {path}): "
            "`finlake run`, `backfill`, `replay`, `forecast` and the job entry points run here "
            "until `finlake driver stop`"
        )

    del args
    console.print_note(f"starting the driver of {settings.lake_root}")
    return serve(settings, ready)


def _cmd_status(args: argparse.Namespace) -> int:
    from jobs import console

    settings = get_settings()
    found = status(settings)
    if found is None:
        raise CliError(
            f"no driver serves {settings.lake_root}",
            "start one with `finlake driver serve`; until then commands run in their own process",
            EXIT_UNAVAILABLE,
        )
    if args.json:
        print(json.dumps(found))
        return EXIT_OK
    state = f"running `{_describe(found['current'])}`" if found["busy"] else "idle"
    console.out().print(
        f"driver pid {found['pid']} serves {found['lake_root']} since {found['started_at']}: "
        f"{found['runs']} runs, {state}",
        markup=False,
    )
    return EXIT_OK


def _cmd_stop(args: argparse.Namespace) -> int:
    from jobs import console

    settings = get_settings()
    sock = _connect(settings)
    if sock is None:
        console.print_note(f"no driver serves {settings.lake_root}")
        return EXIT_OK
    with sock:
        _send(sock, {"op": "stop"})
        reply = next(_replies(sock), {})
    if reply.get("busy"):
        console.print_note(f"the driver finishes `{_describe(reply['current'])}` first")
    deadline = time.monotonic() + args.wait
    while socket_path(settings).exists():
        if time.monotonic() > deadline:
            raise CliError(
                f"the driver (pid {reply.get('pid')}) has not stopped after {args.wait} s",
                "it is still finishing a run; `finlake driver status` shows it",
                EXIT_UNAVAILABLE,
            )
        time.sleep(0.2)
    console.print_note(f"driver pid {reply.get('pid')} stopped")
    return EXIT_OK


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `driver serve`, `driver status` and `driver stop`."""
    driver = subparsers.add_parser(
        "driver",
        help="a warm Spark driver that `run`, `backfill`, `replay` and `forecast` attach to",
        description="A long-lived Spark driver for this lake: `finlake run`, `backfill`, "
        "`replay` and `forecast`, and the job modules' entry points (Airflow's local tasks), "
        "send their work to it when it serves the lake (same settings), and skip the JVM's "
        "start and warm-up.",
    )
    commands = driver.add_subparsers(dest="driver_command", required=True, metavar="COMMAND")
    serve_cmd = commands.add_parser(
        "serve", help="start the session and serve commands (foreground, until stopped)"
    )
    serve_cmd.set_defaults(func=_cmd_serve)
    status_cmd = commands.add_parser("status", help="whether a driver serves this lake")
    status_cmd.add_argument("--json", action="store_true", help="print the status as JSON")
    status_cmd.set_defaults(func=_cmd_status)
    stop_cmd = commands.add_parser("stop", help="stop this lake's driver after its current run")
    stop_cmd.add_argument(
        "--wait", type=float, default=3600.0, help="seconds to wait for it to stop"
    )
    stop_cmd.set_defaults(func=_cmd_stop)
