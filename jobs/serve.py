"""`finlake serve`: the public API listener plus a loopback admin listener; `finlake api-key`.

The public listener (`--host/--port`) serves ingestion, the metrics API, the dashboard and the
health probes. The admin listener (`--admin-host/--admin-port`, loopback by default) serves
`/metrics`, `/openapi.json` and `/docs`, unauthenticated, so it must never be routed publicly.
Both run in one process (one asyncio loop), so they share the app's metrics registry.

`serve` refuses to start without API keys, and with the public placeholder key when the public
listener is not on loopback.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import secrets
import sys
from collections.abc import Sequence
from typing import Any

from conf.settings import API_SCOPES, Settings, api_key_digest, get_settings, is_loopback_host
from jobs.exit_codes import EXIT_USAGE

log = logging.getLogger("finlake.serve")

DEFAULT_ADMIN_PORT = 9464  # the port Prometheus exporters conventionally use


class ServeRefused(ValueError):
    """The settings or arguments would serve the API insecurely."""


def check_serve_settings(settings: Settings, host: str, admin_host: str | None) -> list[str]:
    """Refuse unsafe combinations (raise `ServeRefused`); return warnings for risky ones."""
    if not settings.api_keys:
        raise ServeRefused("no API keys configured: set FINLAKE_API_KEYS (`finlake api-key new`)")
    if settings.has_placeholder_key and not is_loopback_host(host):
        raise ServeRefused(
            f"the placeholder API key is public: refusing to serve it on {host!r}; set "
            "FINLAKE_API_KEYS (`finlake api-key new`) or bind 127.0.0.1"
        )
    warnings = []
    if admin_host is not None and not is_loopback_host(admin_host):
        warnings.append(
            f"the admin listener ({admin_host}) serves /metrics and /docs without a key: "
            "keep its port private (never behind the public load balancer)"
        )
    return warnings


async def _serve(servers: Sequence[Any]) -> None:
    """Run uvicorn servers on one loop; when one stops (signal or failure), stop the others."""
    tasks = [asyncio.create_task(server.serve()) for server in servers]
    _, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    for server in servers:
        server.should_exit = True
    await asyncio.gather(*pending, return_exceptions=True)
    for task in tasks:
        if not task.cancelled() and task.exception() is not None:
            raise task.exception()  # type: ignore[misc]


def _run(args: argparse.Namespace) -> int:
    import uvicorn

    from api.app import create_admin_app, create_app

    admin_host = None if args.admin_port == 0 else args.admin_host
    try:
        settings = get_settings()
    except ValueError as exc:  # pydantic's ValidationError; inputs are hidden from its text
        print(f"finlake serve: invalid settings: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        for warning in check_serve_settings(settings, args.host, admin_host):
            log.warning(warning)
    except ServeRefused as exc:
        print(f"finlake serve: {exc}", file=sys.stderr)
        return EXIT_USAGE

    app = create_app(settings)
    common: dict[str, Any] = {"log_level": args.log_level, "server_header": False}
    public = uvicorn.Config(
        app,
        host=args.host,
        port=args.port,
        access_log=args.access_log,
        proxy_headers=args.proxy_headers,
        forwarded_allow_ips=args.forwarded_allow_ips,
        **common,
    )
    servers = [uvicorn.Server(public)]
    if admin_host is not None:
        admin = uvicorn.Config(
            create_admin_app(app), host=admin_host, port=args.admin_port, access_log=False, **common
        )
        servers.append(uvicorn.Server(admin))
    asyncio.run(_serve(servers))
    return 0 if all(s.started for s in servers) else 1


def _new_key(args: argparse.Namespace) -> int:
    key = secrets.token_urlsafe(32)
    scopes = sorted(set(args.scope or API_SCOPES))
    print(
        json.dumps(
            {
                "key": key,  # give this to the client, once; it is not stored anywhere
                "scopes": scopes,
                "api_keys_entry": {f"sha256:{api_key_digest(key)}": scopes},
            },
            indent=2,
        )
    )
    return 0


def build_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `serve` subcommand."""
    parser = subparsers.add_parser(
        "serve", help="serve the HTTP API (admin listener with /metrics and /docs on loopback)"
    )
    parser.add_argument("--host", default="127.0.0.1", help="public listener address")
    parser.add_argument("--port", type=int, default=8000, help="public listener port")
    parser.add_argument(
        "--admin-host", default="127.0.0.1", help="admin listener address (keep it private)"
    )
    parser.add_argument(
        "--admin-port",
        type=int,
        default=DEFAULT_ADMIN_PORT,
        help="admin listener port (/metrics, /openapi.json, /docs); 0 disables it",
    )
    parser.add_argument("--log-level", default="info", help="uvicorn log level")
    parser.add_argument(
        "--access-log",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="log every request",
    )
    parser.add_argument(
        "--proxy-headers",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="trust X-Forwarded-* headers (behind a load balancer)",
    )
    parser.add_argument(
        "--forwarded-allow-ips",
        default="127.0.0.1",
        help="proxies whose X-Forwarded-* headers are trusted (with --proxy-headers)",
    )
    parser.set_defaults(func=_run)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `serve` and `api-key` subcommands."""
    build_parser(subparsers)
    keys = subparsers.add_parser("api-key", help="generate API keys (only digests are stored)")
    actions = keys.add_subparsers(dest="api_key_command", required=True, metavar="ACTION")
    new = actions.add_parser("new", help="print a new random key and its FINLAKE_API_KEYS entry")
    new.add_argument(
        "--scope", action="append", choices=API_SCOPES, help="granted scope (repeatable)"
    )
    new.set_defaults(func=_new_key)


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m jobs.serve [serve options]` (the container entry point)."""
    from jobs.observability import configure_logging

    configure_logging()
    parser = argparse.ArgumentParser(prog="finlake")
    subparsers = parser.add_subparsers(dest="command", required=True)
    build_parser(subparsers)
    args = parser.parse_args(["serve", *(sys.argv[1:] if argv is None else argv)])
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
