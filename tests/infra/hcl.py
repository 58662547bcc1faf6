"""Load the Terraform tree with python-hcl2 into plain Python values.

python-hcl2 keeps string literals quoted (`'"aws:kms"'`) and expressions as `"${...}"`; the
loader strips the quotes and the parser's bookkeeping keys so tests compare plain values.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import pytest

try:
    import hcl2
except ImportError:  # a dev dependency: fail with the fix, never skip
    pytest.fail("python-hcl2 is not installed: run `make install` (dev extras)", pytrace=False)

REPO = Path(__file__).resolve().parents[2]
TERRAFORM = REPO / "terraform"
MODULES = TERRAFORM / "modules"
ENVS = TERRAFORM / "envs"
BOOTSTRAP = TERRAFORM / "bootstrap"
_BOOKKEEPING = {"__is_block__", "__comments__", "__start_line__", "__end_line__"}


def unquote(value: Any) -> Any:
    """Plain Python value of a parsed HCL value."""
    if isinstance(value, str):
        if len(value) >= 2 and value[0] == '"' and value[-1] == '"':
            return value[1:-1]
        return value
    if isinstance(value, list):
        return [unquote(v) for v in value]
    if isinstance(value, dict):
        return {unquote(k): unquote(v) for k, v in value.items() if k not in _BOOKKEEPING}
    return value


@dataclass
class TfDir:
    """One module or root: its blocks by kind, and the raw text of its files."""

    path: Path
    resources: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    data: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    modules: dict[str, dict[str, Any]] = field(default_factory=dict)
    variables: dict[str, dict[str, Any]] = field(default_factory=dict)
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    terraform: list[dict[str, Any]] = field(default_factory=list)
    providers: list[dict[str, Any]] = field(default_factory=list)
    text: str = ""

    def of_type(self, rtype: str) -> dict[str, dict[str, Any]]:
        """Resources of one type, by name."""
        return {name: body for (t, name), body in self.resources.items() if t == rtype}


def _blocks(parsed: dict[str, Any], kind: str) -> Iterator[tuple[str, dict[str, Any]]]:
    for entry in parsed.get(kind, []):
        yield from unquote(entry).items()


@cache
def load_dir(path: Path) -> TfDir:
    """Parse every .tf file of one directory."""
    tf = TfDir(path)
    for file in sorted(path.glob("*.tf")):
        text = file.read_text()
        tf.text += text
        parsed = hcl2.loads(text)
        for rtype, named in _blocks(parsed, "resource"):
            for name, body in named.items():
                tf.resources[(rtype, name)] = body
        for dtype, named in _blocks(parsed, "data"):
            for name, body in named.items():
                tf.data[(dtype, name)] = body
        for name, body in _blocks(parsed, "module"):
            tf.modules[name] = body
        for name, body in _blocks(parsed, "variable"):
            tf.variables[name] = body
        for name, body in _blocks(parsed, "output"):
            tf.outputs[name] = body
        tf.terraform += [unquote(t) for t in parsed.get("terraform", [])]
        for _, body in _blocks(parsed, "provider"):
            tf.providers.append(body)
    return tf


def module_dirs() -> list[Path]:
    return sorted(p for p in MODULES.iterdir() if p.is_dir())


def env_dirs() -> list[Path]:
    return sorted(p for p in ENVS.iterdir() if p.is_dir())


def bootstrap_dirs() -> list[Path]:
    return sorted(p for p in BOOTSTRAP.iterdir() if p.is_dir())


def root_dirs() -> list[Path]:
    """Every root module (environments and their account bootstraps)."""
    return env_dirs() + bootstrap_dirs()


def all_dirs() -> list[Path]:
    return module_dirs() + root_dirs()


def ref(expr: Any) -> str:
    """`${aws_s3_bucket.this.id}` -> `aws_s3_bucket.this.id` (other values unchanged)."""
    if isinstance(expr, str):
        match = re.fullmatch(r"\$\{(.*)\}", expr.strip())
        if match:
            return match.group(1).strip()
    return str(expr)


def first(block: Any) -> dict[str, Any]:
    """A nested block is parsed as a list of one dict."""
    if isinstance(block, list):
        assert block, "empty block"
        return dict(block[0])
    return dict(block)
