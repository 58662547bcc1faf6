"""`finlake generate`: write a seeded sample business into the landing zone."""

from __future__ import annotations

import argparse
import datetime as dt
import json
from pathlib import Path
from typing import Any

from conf.settings import get_settings
from jobs.generator import generate


def default_truth_dir(lake_root: str) -> Path:
    """Ground truth lives next to the lake for local roots, else under ./truth."""
    if lake_root.startswith(("s3://", "s3a://")):
        return Path("truth")
    return Path(lake_root) / "truth"


def _run(args: argparse.Namespace) -> int:
    from bronze.objectstore import make_object_store

    settings = get_settings()
    store = make_object_store(settings)
    truth_dir = Path(args.truth_dir) if args.truth_dir else default_truth_dir(settings.lake_root)
    manifest = generate(
        store,
        truth_dir,
        seed=args.seed,
        start=args.start,
        days=args.days,
        customers=args.customers,
        defects=args.defects,
        horizon_days=settings.restatement_horizon_days,
        fx_weekends=not args.no_weekend_fx,
        with_truth=not args.no_truth,
    )
    print(json.dumps(_summary(manifest, truth_dir), indent=2))
    return 0


def _summary(manifest: dict[str, Any], truth_dir: Path) -> dict[str, Any]:
    keys = ("events", "lines", "objects", "lines_per_type", "defects", "as_of", "seconds")
    return {"truth_dir": str(truth_dir), **{k: manifest[k] for k in keys}}


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `generate` subcommand."""
    parser = subparsers.add_parser("generate", help="write a seeded sample business to landing")
    parser.add_argument("--seed", type=int, default=42, help="random seed (same seed, same data)")
    parser.add_argument(
        "--start",
        type=dt.date.fromisoformat,
        default=None,
        help="first business day, YYYY-MM-DD (default: DAYS days before today, so the data "
        "ends today)",
    )
    parser.add_argument("--days", type=int, default=365, help="days of history to simulate")
    parser.add_argument("--customers", type=int, default=1000, help="customers to simulate")
    parser.add_argument("--defects", action="store_true", help="inject counted bad input")
    parser.add_argument(
        "--no-weekend-fx",
        action="store_true",
        help="publish no weekend FX rates, as real feeds do (conversions use the as-of rate)",
    )
    parser.add_argument(
        "--no-truth",
        action="store_true",
        help="skip the reference truth (slow for years of data and thousands of customers)",
    )
    parser.add_argument(
        "--truth-dir", default=None, help="where ground truth goes (default: {lake_root}/truth)"
    )
    parser.set_defaults(func=_run)
