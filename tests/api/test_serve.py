"""`finlake serve` as a real process: two listeners, refusals, and junk under concurrency."""

from __future__ import annotations

import concurrent.futures as cf
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.api.conftest import make_event

REPO = Path(__file__).resolve().parents[2]
INGEST_KEY = "serve-ingest-key-0123456789abcdef0123"
KEYS = json.dumps({INGEST_KEY: ["ingest"]})


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FINLAKE_")}
    env.update(
        FINLAKE_ENV="local",
        FINLAKE_LAKE_ROOT=str(tmp_path / "lake"),
        PYTHONPATH=str(REPO),
        **extra,
    )
    return env


def _finlake(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "jobs.cli", *args],
        env=_env(tmp_path, **env),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@dataclass
class Served:
    process: subprocess.Popen[bytes]
    public: str
    admin: str

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        raise AssertionError("no VmRSS")


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    """`finlake serve` on loopback with a real key: public and admin listeners."""
    port, admin_port = _free_port(), _free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jobs.cli",
            "serve",
            "--port",
            str(port),
            "--admin-port",
            str(admin_port),
            "--no-access-log",
        ],
        env=_env(tmp_path, FINLAKE_API_KEYS=KEYS),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    server = Served(process, f"http://127.0.0.1:{port}", f"http://127.0.0.1:{admin_port}")
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(server.admin + "/healthz").raise_for_status()
                httpx.get(server.public + "/healthz").raise_for_status()
                break
            except httpx.HTTPError:
                assert process.poll() is None, "finlake serve exited"
                assert time.monotonic() < deadline, "finlake serve did not start"
                time.sleep(0.2)
        yield server
    finally:
        process.terminate()
        process.wait(timeout=20)


def test_operator_endpoints_live_on_the_admin_listener_only(served: Served) -> None:
    for path in ("/metrics", "/docs", "/openapi.json"):
        assert httpx.get(served.public + path).status_code == 404, path
        assert httpx.get(served.admin + path).status_code == 200, path
    assert httpx.get(served.public + "/readyz").json() == {"status": "ready"}
    spec = httpx.get(served.admin + "/openapi.json").json()
    assert "/v1/events/{event_type}" in spec["paths"]


def test_concurrent_five_megabyte_junk_is_refused_in_bounded_memory(served: Served) -> None:
    """The review's probe: 8 concurrent ~5 MB events with junk fields (was 1.7 GB and 202/500)."""
    event = json.dumps(make_event("usage"))[:-1]
    junk = [
        (event + ',"extra":[' + ",".join(["0"] * 2_400_000) + "]}").encode(),
        (event + ',"extra":[' + ",".join(['{"a":[1,2,3]}'] * 350_000) + "]}").encode(),
        (event + ',"extra":' + '{"x":' * 600 + "1" + "}" * 600 + "}").encode(),
    ]
    headers = {"X-API-Key": INGEST_KEY, "Content-Type": "application/json"}
    before = served.rss_mb()
    peak = before

    def send(body: bytes) -> int:
        with httpx.Client(timeout=120) as client:
            return client.post(
                served.public + "/v1/events/usage", content=body, headers=headers
            ).status_code

    with cf.ThreadPoolExecutor(8) as pool:
        futures = [pool.submit(send, junk[i % len(junk)]) for i in range(16)]
        while not all(f.done() for f in futures):
            peak = max(peak, served.rss_mb())
            time.sleep(0.02)
    codes = [f.result() for f in futures]
    assert all(400 <= code < 500 for code in codes), codes
    assert peak - before < 250, f"RSS grew from {before:.0f} MB to {peak:.0f} MB"
    ok = httpx.post(
        served.public + "/v1/events/usage",
        json={"events": [make_event("usage") for _ in range(1000)]},
        headers=headers,
    )
    assert ok.status_code == 202


def test_the_placeholder_key_is_refused_off_loopback(tmp_path: Path) -> None:
    result = _finlake(tmp_path, "serve", "--host", "0.0.0.0", "--port", str(_free_port()))
    assert result.returncode == 2
    assert "placeholder API key" in result.stderr


def test_serve_refuses_without_keys_and_never_prints_a_bad_key(tmp_path: Path) -> None:
    no_keys = _finlake(tmp_path, "serve", FINLAKE_API_KEYS="{}")
    assert no_keys.returncode == 2 and "no API keys" in no_keys.stderr
    secret = "tooShortSecret-" + uuid.uuid4().hex[:8]
    bad = _finlake(tmp_path, "serve", FINLAKE_API_KEYS=json.dumps({secret: ["ingest"]}))
    assert bad.returncode == 2 and "shorter than 32" in bad.stderr
    assert secret not in bad.stderr + bad.stdout and secret[-6:] not in bad.stderr


def test_api_key_new_prints_a_key_and_its_digest_entry(tmp_path: Path) -> None:
    result = _finlake(tmp_path, "api-key", "new", "--scope", "read")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert len(out["key"]) >= 32
    ((entry, scopes),) = out["api_keys_entry"].items()
    assert scopes == ["read"] and entry.startswith("sha256:") and out["key"] not in entry
