"""`finlake trino up|down|status|register|passwd`."""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from typing import Any

from conf.settings import get_settings
from jobs.trino.config import password_file_line
from jobs.trino.paths import trino_paths
from jobs.trino.registration import register_tables
from jobs.trino.server import is_ready, server_info, start, stop


def _cmd_up(args: argparse.Namespace) -> int:
    settings = get_settings()
    seconds = start(settings)
    tables = register_tables(settings)
    print(
        json.dumps(
            {
                "status": "up",
                "port": settings.trino_port,
                "scheme": settings.trino_scheme,
                "start_seconds": round(seconds, 1),
                "tables": tables,
            }
        )
    )
    return 0


def _cmd_down(args: argparse.Namespace) -> int:
    stop(get_settings())
    print(json.dumps({"status": "down"}))
    return 0


def _cmd_status(args: argparse.Namespace) -> int:
    settings = get_settings()
    info = server_info(settings)
    pid_file = trino_paths(settings).pid_file
    print(
        json.dumps(
            {
                "running": info is not None,
                "ready": info is not None and info.get("starting") is False,
                "version": (info or {}).get("nodeVersion", {}).get("version"),
                "port": settings.trino_port,
                "pid": (pid_file.read_text().strip() or None) if pid_file.exists() else None,
            }
        )
    )
    return 0 if info else 3


def _cmd_register(args: argparse.Namespace) -> int:
    settings = get_settings()
    if not is_ready(settings):
        print(json.dumps({"error": "trino is not running; run `finlake trino up`"}))
        return 3
    print(json.dumps({"tables": register_tables(settings)}))
    return 0


def _cmd_passwd(args: argparse.Namespace) -> int:
    password = sys.stdin.readline().rstrip("\n") if args.stdin else getpass.getpass()
    if len(password) < 16:
        print("finlake trino passwd: use a password of 16+ characters", file=sys.stderr)
        return 2
    print(password_file_line(args.user, password))
    return 0


def register(subparsers: Any) -> None:
    """Add `finlake trino up|down|status|register|passwd`."""
    parser = subparsers.add_parser("trino", help="start/stop the local Trino server")
    actions = parser.add_subparsers(dest="trino_command", required=True, metavar="ACTION")
    for name, func, text in (
        ("up", _cmd_up, "install (once), start and register Gold/ops tables"),
        ("down", _cmd_down, "stop the local Trino"),
        ("status", _cmd_status, "show whether Trino is running"),
        ("register", _cmd_register, "(re-)register Gold/ops Delta tables"),
    ):
        sub = actions.add_parser(name, help=text)
        sub.set_defaults(func=func)
    passwd = actions.add_parser(
        "passwd", help="print a password-file line (PBKDF2 hash) for a Trino user"
    )
    passwd.add_argument("user", help="Trino user whose password line is printed")
    passwd.add_argument("--stdin", action="store_true", help="read the password from stdin")
    passwd.set_defaults(func=_cmd_passwd)
