"""The dashboard renders its charts with data in real headless Chromium (DOM + screenshot).

Chromium is a system package: `make test` installs it (apt-get, as root) when it is missing;
elsewhere this module fails with the command to run, never skips.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import struct
import subprocess
import threading
import time
import zlib
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from fastapi.testclient import TestClient

from api.app import create_app
from conf.settings import Settings

pytestmark = [pytest.mark.integration, pytest.mark.trino]

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--window-size=1280,2300",
    "--virtual-time-budget=30000",
)
# Colours the charts draw with (see api/static/dashboard.js).
SERIES_COLOURS = {
    "mrr line": (0x25, 0x63, 0xEB),
    "churn line": (0xDC, 0x26, 0x26),
    "new mrr bars": (0x16, 0xA3, 0x4A),
    "EMEA revenue bars": (0x93, 0x33, 0xEA),
    "95% band": (0xC7, 0xD7, 0xF5),
    "80% band": (0x93, 0xB4, 0xEC),
    "forecast line": (0x1E, 0x40, 0xAF),
    "actual revenue line": (0x47, 0x55, 0x69),
    "GRR line": (0xB4, 0x53, 0x09),
    "NRR line": (0x4F, 0x46, 0xE5),
}
CHARTS = (
    "chart-mrr",
    "chart-movements",
    "chart-transfers",
    "chart-churn",
    "chart-retention",
    "chart-revenue",
    "chart-forecast",
)
INSTALL_CHROMIUM = "apt-get update && apt-get install -y chromium"


def _chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.fail(f"chromium is not installed: run `{INSTALL_CHROMIUM}` (as root)")
    return path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture(scope="module")
def base_url(metrics_lake: dict[str, str], trino_server: Settings) -> Iterator[str]:
    """The app served by uvicorn on a loopback port (a real browser needs a real socket)."""
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(trino_server), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "uvicorn did not start"
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def _run_chromium(args: list[str], profile: Path) -> str:
    proc = subprocess.run(
        [_chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def _png_pixels(path: Path) -> tuple[int, int, list[tuple[int, int, int]]]:
    """Decode an 8-bit RGB/RGBA, non-interlaced PNG (what Chromium writes) to RGB pixels."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width, height, colour = 8, b"", 0, 0, 0
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert depth == 8 and colour in (2, 6) and interlace == 0
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    channels = 4 if colour == 6 else 3
    raw, stride = zlib.decompress(idat), width * channels
    pixels: list[tuple[int, int, int]] = []
    prev = bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        for i in range(stride):
            a = line[i - channels] if i >= channels else 0
            b = prev[i]
            c = prev[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + a) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + b) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 0xFF
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else b if pb <= pc else c
                line[i] = (line[i] + pred) & 0xFF
        pixels += [tuple(line[x : x + 3]) for x in range(0, stride, channels)]  # type: ignore[misc]
        prev = line
    return width, height, pixels


def test_dashboard_page_and_assets_are_served(base_url: str) -> None:
    del base_url
    with TestClient(create_app()) as client:
        page = client.get("/dashboard")
        assert page.status_code == 200 and "dashboard.js" in page.text
        assert client.get("/dashboard/static/dashboard.js").status_code == 200
        assert client.get("/dashboard/static/secrets.txt").status_code == 404


def test_charts_render_with_data_in_chromium(base_url: str, tmp_path: Path) -> None:
    url = f"{base_url}/dashboard#key=test-read-key-7f3a9c2e5b8d4f01aa"
    dom = _run_chromium(["--dump-dom", url], tmp_path / "profile-dom")
    assert 'data-ready="1"' in dom, dom[-3000:]
    assert 'class="error"' not in dom, re.findall(r'id="status"[^>]*>([^<]*)', dom)
    for chart in CHARTS:
        section = dom.split(f'id="{chart}"', 1)[1].split("</section>", 1)[0]
        points = re.search(r'data-points="(\d+)"', section)
        assert points and int(points.group(1)) > 0, f"{chart} drew nothing"
    assert 'class="band"' in dom and 'class="dot"' in dom  # interval bands and actuals
    # the default range runs to the end of the latest forecast horizon (run-mar: 2026-04-30)
    assert re.search(r'id="controls"[^>]*data-range="[0-9-]+\.\.2026-04-30"', dom), dom[:2000]
    assert "run run-feb" in dom  # forecast vs actual: the latest run with actuals in range
    assert "transfer" in dom.split('id="chart-movements"', 1)[1].split("</div>", 1)[0]
    assert re.search(r'id="dq-badge"[^>]*>DQ warning<', dom)
    assert "gold.mrr_daily" in dom  # provenance table lists Delta versions

    shot = Path(os.environ.get("FINLAKE_SCREENSHOT_DIR", tmp_path)) / "dashboard.png"
    shot.parent.mkdir(parents=True, exist_ok=True)
    _run_chromium([f"--screenshot={shot}", url], tmp_path / "profile-shot")
    width, height, pixels = _png_pixels(shot)
    assert (width, height) == (1280, 2300)
    counts = Counter(pixels)
    for name, colour in SERIES_COLOURS.items():
        assert counts[colour] >= 40, f"{name} not visible in the screenshot ({counts[colour]} px)"
    non_background = sum(
        n for c, n in counts.items() if c not in {(255, 255, 255), (246, 247, 249)}
    )
    assert non_background > 50_000
