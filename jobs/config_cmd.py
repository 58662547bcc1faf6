"""`finlake config show|docs`: the effective settings (secrets masked) and their reference.

`docs/configuration.md` is generated from `conf.settings.Settings` by
`finlake config docs --write docs/configuration.md`; a test fails when it is out of date.
"""

from __future__ import annotations

import argparse
import json
import os
import types
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import SecretStr
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from conf.settings import (
    PLACEHOLDER_API_KEY,
    PLACEHOLDER_API_KEY_DIGEST,
    Settings,
    get_settings,
)
from jobs import console
from jobs.cli import CliError
from jobs.exit_codes import EXIT_FAILURE, EXIT_OK

ENV_PREFIX = "FINLAKE_"
DOCS_PATH = Path("docs/configuration.md")
MASK = "********"
SECRET_WORDS = ("key", "secret", "password", "token")

HEADER = """\
# Configuration reference

<!-- Generated from conf/settings.py by `finlake config docs --write docs/configuration.md`;
     tests/jobs/test_cli.py fails when this file is out of date. Do not edit by hand. -->

Every setting of finlake is one field of `conf.settings.Settings`, read from the environment
variable `FINLAKE_<NAME>` (case-insensitive). `FINLAKE_ENV` picks the profile (`local`, `test`,
`prod`); values that are lists or maps are JSON (`FINLAKE_API_KEYS='{"KEY": ["read"]}'`).
`finlake config show` prints the effective values of this shell, secrets masked, and where
each came from.

| variable | type | default | description |
|---|---|---|---|
"""


def env_name(field_name: str) -> str:
    """The environment variable of a settings field."""
    return ENV_PREFIX + field_name.upper()


def type_text(annotation: Any) -> str:
    """Readable type of a settings field."""
    origin = get_origin(annotation)
    if origin is Literal:
        return " | ".join(f"`{value}`" for value in get_args(annotation))
    if origin in (Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        inner = " or ".join(type_text(a) for a in args)
        return f"{inner}, optional" if len(args) < len(get_args(annotation)) else inner
    if origin is dict:
        return "JSON object"
    if origin in (list, tuple):
        args = [a for a in get_args(annotation) if a is not Ellipsis]
        return f"JSON list of {type_text(args[0])}" if args else "JSON list"
    names = {
        str: "string",
        int: "integer",
        float: "number",
        bool: "boolean",
        Path: "path",
        SecretStr: "secret string",
    }
    if annotation in names:
        return names[annotation]
    return getattr(annotation, "__name__", str(annotation))


def _constraints(field: FieldInfo) -> str:
    parts = []
    for item in field.metadata:
        for attr, symbol in (("ge", "≥"), ("gt", ">"), ("le", "≤"), ("lt", "<")):
            value = getattr(item, attr, None)
            if value is not None:
                parts.append(f"{symbol} {value}")
    return ", ".join(parts)


def _json_text(value: Any) -> str:
    if value is None:
        return "(unset)"
    if isinstance(value, SecretStr):
        return MASK
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list | tuple):
        return json.dumps(value)
    return str(value)


def default_text(field: FieldInfo) -> str:
    """The documented default of a field (a fixed text for environment-dependent factories)."""
    extra = field.json_schema_extra
    if isinstance(extra, Mapping) and "doc_default" in extra:
        return str(extra["doc_default"])
    if field.default is not PydanticUndefined:
        return _json_text(field.default)
    if field.default_factory is not None:
        return _json_text(field.default_factory())  # type: ignore[call-arg]
    return "(required)"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def settings_reference() -> str:
    """Markdown reference of every setting: variable, type, default and description."""
    lines = [HEADER.rstrip("\n")]
    for name, field in Settings.model_fields.items():
        kind = type_text(field.annotation)
        limits = _constraints(field)
        if limits:
            kind = f"{kind} ({limits})"
        default = default_text(field)
        lines.append(
            f"| `{env_name(name)}` | {_cell(kind)} | `{_cell(default)}` | "
            f"{_cell(field.description or '')} |"
        )
    return "\n".join(lines) + "\n"


def _is_secret_name(name: str) -> bool:
    return any(word in name for word in SECRET_WORDS)


def masked(name: str, value: Any) -> Any:
    """`value` fit to print: secrets masked (the documented local placeholder key stays)."""
    if isinstance(value, SecretStr):
        return MASK if value.get_secret_value() else ""
    if not _is_secret_name(name) or value is None:
        return value
    if name == "api_keys" and isinstance(value, tuple):  # only digests are held: show scopes
        return {
            (
                PLACEHOLDER_API_KEY
                if key.digest.get_secret_value() == PLACEHOLDER_API_KEY_DIGEST
                else MASK + f"#{i + 1}"
            ): sorted(key.scopes)
            for i, key in enumerate(value)
        }
    if isinstance(value, Mapping):
        return {
            (k if str(k) == PLACEHOLDER_API_KEY else MASK + f"#{i + 1}"): v
            for i, (k, v) in enumerate(value.items())
        }
    if isinstance(value, str) and value:
        return MASK
    return value


def effective_settings(settings: Settings) -> list[tuple[str, Any, str]]:
    """(variable, value fit to print, source `env` or `default`) of every setting."""
    environ = {k.upper() for k in os.environ}
    rows = []
    for name in Settings.model_fields:
        variable = env_name(name)
        source = "env" if variable in environ else "default"
        if name == "cache_dir" and source == "default" and "FINLAKE_CACHE_DIR" in environ:
            source = "env"
        value = masked(name, getattr(settings, name))
        rows.append((variable, value, source))
    return rows


def _cmd_show(args: argparse.Namespace) -> int:
    rows = effective_settings(get_settings())
    if args.json:
        print(json.dumps({v: value for v, value, _ in rows}, default=str, indent=2))
        return EXIT_OK
    console.out().print(
        console.table(["variable", "value", "source"], [(v, _json_text(x), s) for v, x, s in rows])
    )
    return EXIT_OK


def _cmd_docs(args: argparse.Namespace) -> int:
    text = settings_reference()
    if args.check is not None:
        current = args.check.read_text(encoding="utf-8") if args.check.exists() else ""
        if current != text:
            raise CliError(
                f"{args.check} is out of date with conf/settings.py",
                f"run `finlake config docs --write {args.check}`",
                EXIT_FAILURE,
            )
        console.print_note(f"{args.check} is up to date")
    elif args.write is not None:
        args.write.parent.mkdir(parents=True, exist_ok=True)
        args.write.write_text(text, encoding="utf-8")
        console.print_note(f"wrote {args.write} ({len(Settings.model_fields)} settings)")
    else:
        print(text, end="")
    return EXIT_OK


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `config show` and `config docs`."""
    parser = subparsers.add_parser("config", help="effective settings and their reference")
    actions = parser.add_subparsers(dest="config_command", required=True, metavar="ACTION")
    show = actions.add_parser("show", help="effective settings of this shell (secrets masked)")
    show.add_argument("--json", action="store_true", help="print a JSON object")
    show.set_defaults(func=_cmd_show)
    docs = actions.add_parser("docs", help="Markdown reference of every setting")
    target = docs.add_mutually_exclusive_group()
    target.add_argument("--write", type=Path, default=None, help="write the reference to a file")
    target.add_argument(
        "--check", type=Path, default=None, help="fail (exit 1) if this file is out of date"
    )
    docs.set_defaults(func=_cmd_docs)
