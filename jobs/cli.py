"""The `finlake` command line: one subcommand module per area, registered below."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from jobs.observability import configure_logging

# Each module exposes `register(subparsers)`; its parsers set `func(args) -> int`.
COMMAND_MODULES: tuple[str, ...] = (
    "jobs.generate",
    "jobs.pipeline",
    "jobs.ingest",
    "jobs.serve",
    "jobs.trino",
    "jobs.dq_report",
    "jobs.forecast_job",
    "jobs.quarantine_replay",
)


def build_parser() -> argparse.ArgumentParser:
    """Parser with every registered subcommand."""
    parser = argparse.ArgumentParser(
        prog="finlake", description="finlake: a financial forecasting lakehouse"
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `finlake` console script."""
    configure_logging()
    args = build_parser().parse_args(argv)
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
