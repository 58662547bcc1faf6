"""The `finlake` command line: one subcommand module per area, registered below.

Every error ends here, in one handler: one line saying what went wrong and a hint line saying
what to do, with the exit codes of `jobs.exit_codes` (usage 2, unavailable 3, critical DQ
failure 4, anything else 1). `--debug` adds the traceback.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from jobs.exit_codes import (
    EXIT_DQ_CRITICAL,
    EXIT_FAILURE,
    EXIT_UNAVAILABLE,
    EXIT_USAGE,
)

# Each module exposes `register(subparsers)`; its parsers set `func(args) -> int`. Only the
# module of the command being run is imported (some pull in Spark or statsforecast), so quick
# commands stay quick; `--help` imports them all. tests/jobs/test_cli.py keeps this map exact.
COMMANDS: dict[str, str] = {
    "generate": "jobs.generate",
    "run": "jobs.pipeline",
    "backfill": "jobs.pipeline",
    "replay": "jobs.pipeline",
    "demo": "jobs.pipeline",
    "ingest": "jobs.ingest",
    "serve": "jobs.serve",
    "api-key": "jobs.serve",
    "trino": "jobs.trino",
    "sql": "jobs.sql",
    "history": "jobs.history",
    "dq": "jobs.dq_report",
    "forecast": "jobs.forecast_job",
    "quarantine": "jobs.quarantine_replay",
    "config": "jobs.config_cmd",
    "driver": "jobs.driver",
}
COMMAND_MODULES: tuple[str, ...] = tuple(dict.fromkeys(COMMANDS.values()))
EXIT_INTERRUPTED = 130


class CliError(Exception):
    """An expected failure of a command: one message, a hint and an exit code."""

    def __init__(self, message: str, hint: str | None = None, code: int = EXIT_USAGE) -> None:
        """`code` is one of `jobs.exit_codes` (default: usage error)."""
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.code = code


class FinlakeParser(argparse.ArgumentParser):
    """ArgumentParser with defaults in every help text, `--debug`/`--verbose` on every level
    and one-line usage errors."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """Like ArgumentParser, with ArgumentDefaultsHelpFormatter unless told otherwise."""
        kwargs.setdefault("formatter_class", argparse.ArgumentDefaultsHelpFormatter)
        super().__init__(*args, **kwargs)
        # SUPPRESS: a subcommand's flag never resets what the top level parsed.
        self.add_argument(
            "--debug",
            action="store_true",
            default=argparse.SUPPRESS,
            help="on error, print the full traceback",
        )
        self.add_argument(
            "-v",
            "--verbose",
            action="store_true",
            default=argparse.SUPPRESS,
            help="show INFO logs on the console",
        )

    def error(self, message: str) -> NoReturn:
        """Usage error: one line and a hint, exit 2."""
        from jobs.console import print_error

        print_error(f"{self.prog}: {message}", f"see `{self.prog} --help`")
        sys.exit(EXIT_USAGE)


def existing_file(text: str) -> Path:
    """argparse type: a path that exists and is a file (checked before any work starts)."""
    path = Path(text)
    if not path.is_file():
        reason = "is a directory" if path.is_dir() else "does not exist"
        raise argparse.ArgumentTypeError(f"{text} {reason}")
    return path


def version() -> str:
    """Installed version of the finlake package."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as package_version

    try:
        return package_version("finlake")
    except PackageNotFoundError:  # running from a checkout that is not installed
        return "0+unknown"


def _wanted_modules(argv: Sequence[str] | None) -> tuple[str, ...]:
    """Modules to register for `argv`: the command's own, or all (help, typos, no command)."""
    if argv and argv[0] == "--version":
        return ()
    for arg in argv or ():
        if not arg.startswith("-"):
            module = COMMANDS.get(arg)
            return (module,) if module else COMMAND_MODULES
    return COMMAND_MODULES


def build_parser(argv: Sequence[str] | None = None) -> FinlakeParser:
    """Parser with every registered subcommand (only the one `argv` names, when it names one)."""
    parser = FinlakeParser(
        prog="finlake",
        description="finlake: a financial forecasting lakehouse (Bronze → Silver → Gold → "
        "forecasts, served by Trino and a metrics API)",
        epilog="Settings come from FINLAKE_* environment variables: `finlake config show`.",
    )
    parser.add_argument("--version", action="version", version=f"finlake {version()}")
    parser.set_defaults(debug=False, verbose=False)
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in _wanted_modules(argv):
        importlib.import_module(name).register(subparsers)
    return parser


def settings_error_message(exc: Exception) -> str:
    """One line naming the FINLAKE_ variable(s) a pydantic ValidationError is about."""
    errors: list[dict[str, Any]] = list(exc.errors())  # type: ignore[attr-defined]
    parts: list[str] = []
    for error in errors:
        loc = [str(p) for p in error.get("loc", ())]
        msg = str(error.get("msg", "invalid value")).removeprefix("Value error, ")
        if loc:
            name = "FINLAKE_" + loc[0].upper()
            value = error.get("input")
            shown = f"={value!r}" if isinstance(value, str | int | float) else ""
            parts.append(f"{name}{shown}: {msg}")
        else:
            parts.append(msg)
    return "invalid settings: " + "; ".join(parts)


def _exception_outcome(exc: BaseException) -> tuple[int, str, str | None]:
    """(exit code, message, hint) of an exception a command raised."""
    if isinstance(exc, CliError):
        return exc.code, exc.message, exc.hint
    if isinstance(exc, KeyboardInterrupt):
        return EXIT_INTERRUPTED, "interrupted", None
    # Modules are only consulted if they were imported, so `--help` stays light.
    pydantic_core = sys.modules.get("pydantic_core")
    if pydantic_core is not None and isinstance(exc, pydantic_core.ValidationError):
        return (
            EXIT_USAGE,
            settings_error_message(exc),
            "`finlake config docs` lists every setting, its values and default",
        )
    dq = sys.modules.get("silver.dq")
    if dq is not None and isinstance(exc, dq.DQCriticalFailure):
        return (
            EXIT_DQ_CRITICAL,
            str(exc),
            "`finlake dq report` shows the failed checks and the Data Docs pages",
        )
    objectstore = sys.modules.get("bronze.objectstore")
    if objectstore is not None and isinstance(exc, objectstore.ObjectStoreUnavailable):
        return EXIT_UNAVAILABLE, f"object store unavailable: {exc}", "check the S3 endpoint"
    store = sys.modules.get("api.trino_client")
    if store is not None and isinstance(exc, store.StoreUnavailableError):
        return EXIT_UNAVAILABLE, str(exc), "start it with `finlake trino up`"
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return EXIT_FAILURE, f"{type(exc).__name__}: {message}".rstrip(": "), None


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `finlake` console script."""
    from jobs.console import print_error, reset_consoles
    from jobs.observability import configure_logging

    reset_consoles()
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args = build_parser(argv).parse_args(argv)
    except SystemExit as done:  # --help, --version, or a usage error already printed
        return done.code if isinstance(done.code, int) else EXIT_USAGE
    try:
        from conf.settings import get_settings

        settings = get_settings()  # a bad FINLAKE_* value stops here, before any work
        configure_logging(
            level=logging.INFO if args.verbose or args.debug else None, fmt=settings.log_format
        )
        if getattr(args, "driver_ok", False) and not args.no_driver:
            from jobs.driver import delegate

            delegated = delegate(argv, settings)  # a warm driver serving this lake runs it
            if delegated is not None:
                return delegated
        result: int = args.func(args)
        return result
    except (Exception, KeyboardInterrupt) as exc:
        code, message, hint = _exception_outcome(exc)
        if args.debug:
            traceback.print_exception(exc, file=sys.stderr)
        elif code == EXIT_FAILURE:
            hint = hint or "rerun with --debug for the traceback"
        print_error(message, hint)
        logging.getLogger("finlake.cli").debug("command failed", exc_info=exc)
        return code
    finally:
        sys.stdout.flush()


if __name__ == "__main__":  # `python -m jobs.cli`: run the importable module's main, so the
    from jobs.cli import main as _main  # exception classes commands raise are the ones caught

    sys.exit(_main())
