"""Benchmark of the ingest API on loopback: batch throughput and single-event latency.

Starts the API with uvicorn in a separate process (and, for the S3 case, a moto S3 server in
another process), then measures with bounded loops:

* throughput: batches of 500 events posted by a few keep-alive clients (events/s);
* latency: single-event POSTs one after another (p50/p99 in ms).

Run: ``.venv/bin/python benchmarks/ingest_api.py [--backends local s3] [--batches 80]``.
Prints one JSON document.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

import boto3
import httpx

ROOT = Path(__file__).resolve().parents[1]
API_KEY = "bench-ingest-key-7f3a9c2e5b8d4f0"
BUCKET = "finlake-bench"
HEADERS = {"X-API-Key": API_KEY, "Content-Type": "application/json"}


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_http(url: str, timeout_s: float = 30.0, expect: int = 200) -> None:
    """Poll `url` until it answers `expect`."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1.0).status_code == expect:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not become ready within {timeout_s}s")


@contextmanager
def process(args: list[str], env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    """Run a child process (output to a temp log, never a full pipe) during the block."""
    with tempfile.TemporaryFile() as log:
        child = subprocess.Popen(args, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        try:
            yield child
        except BaseException:
            log.seek(0)
            sys.stderr.write(log.read()[-4000:].decode(errors="replace"))
            raise
        finally:
            child.terminate()
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()


def payment_event(i: int) -> dict[str, Any]:
    """One valid payment event."""
    return {
        "event_id": str(uuid.uuid4()),
        "event_time": "2026-11-25T10:15:00+00:00",
        "payment_id": f"pay-{i}",
        "customer_id": f"cus-{i % 997}",
        "subscription_id": f"sub-{i % 997}",
        "invoice_id": f"inv-{i}",
        "amount": "149.9700",
        "currency": "USD",
        "status": "succeeded",
        "payment_method": "card",
    }


def measure_throughput(
    base_url: str, batches: int, batch_size: int, clients: int
) -> dict[str, Any]:
    """Post `batches` batches with `clients` keep-alive clients; events/s over wall time."""
    bodies = [
        json.dumps(
            {"events": [payment_event(b * batch_size + i) for i in range(batch_size)]}
        ).encode()
        for b in range(8)
    ]
    counter = iter(range(batches))
    lock = threading.Lock()
    statuses: dict[int, int] = {}

    def worker() -> None:
        with httpx.Client(base_url=base_url, headers=HEADERS, timeout=60.0) as client:
            while True:
                with lock:
                    n = next(counter, None)
                if n is None:
                    return
                status = client.post("/v1/events/payment", content=bodies[n % len(bodies)])
                with lock:
                    statuses[status.status_code] = statuses.get(status.status_code, 0) + 1

    with httpx.Client(base_url=base_url, headers=HEADERS) as warm:  # warm-up, not measured
        warm.post("/v1/events/payment", content=bodies[0])
    threads = [threading.Thread(target=worker) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    accepted = statuses.get(202, 0) * batch_size
    return {
        "batches": batches,
        "batch_size": batch_size,
        "clients": clients,
        "body_bytes": len(bodies[0]),
        "seconds": round(elapsed, 3),
        "events_per_s": round(accepted / elapsed),
        "statuses": statuses,
    }


def measure_latency(base_url: str, requests: int) -> dict[str, Any]:
    """Sequential single-event POSTs; p50/p99/max latency in milliseconds."""
    bodies = [json.dumps(payment_event(i)).encode() for i in range(requests + 20)]
    samples: list[float] = []
    statuses: dict[int, int] = {}
    with httpx.Client(base_url=base_url, headers=HEADERS, timeout=30.0) as client:
        for i, body in enumerate(bodies):
            t0 = time.perf_counter()
            status = client.post("/v1/events/payment", content=body).status_code
            if i >= 20:  # the first 20 warm up connections and caches
                samples.append((time.perf_counter() - t0) * 1000)
                statuses[status] = statuses.get(status, 0) + 1
    quantiles = statistics.quantiles(samples, n=100)
    return {
        "requests": len(samples),
        "p50_ms": round(statistics.median(samples), 2),
        "p99_ms": round(quantiles[98], 2),
        "max_ms": round(max(samples), 2),
        "statuses": statuses,
    }


def run_backend(backend: str, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    """Benchmark one landing backend (`local` folder or `s3` on a moto server)."""
    env = {
        **os.environ,
        "FINLAKE_ENV": "test",
        "FINLAKE_API_KEYS": json.dumps({API_KEY: ["ingest"]}),
        "FINLAKE_MAX_EVENTS_PER_REQUEST": str(max(1000, args.batch_size)),
        "PYTHONPATH": str(ROOT),
    }
    with nullcontext() if backend == "local" else _moto(env):
        if backend == "local":
            env["FINLAKE_LAKE_ROOT"] = str(workdir / "lake")
        port = free_port()
        api_args = [
            sys.executable,
            "-m",
            "uvicorn",
            "api.app:create_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-access-log",
            "--log-level",
            "warning",
        ]
        with process(api_args, env):
            base_url = f"http://127.0.0.1:{port}"
            wait_http(f"{base_url}/readyz")
            throughput = measure_throughput(base_url, args.batches, args.batch_size, args.clients)
            latency = measure_latency(base_url, args.latency_requests)
    return {"throughput": throughput, "single_event_latency": latency}


@contextmanager
def _moto(env: dict[str, str]) -> Iterator[None]:
    """A moto S3 server in its own process with the bench bucket; sets the S3 settings."""
    port = free_port()
    with process([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)], env):
        endpoint = f"http://127.0.0.1:{port}"
        wait_http(f"{endpoint}/moto-api/data.json")
        boto3.client(
            "s3",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id="bench",
            aws_secret_access_key="bench",
        ).create_bucket(Bucket=BUCKET)
        env.update(
            {
                "FINLAKE_LAKE_ROOT": f"s3a://{BUCKET}/bench-{uuid.uuid4().hex[:8]}",
                "FINLAKE_S3_ENDPOINT": endpoint,
                "FINLAKE_S3_ACCESS_KEY": "bench",
                "FINLAKE_S3_SECRET_KEY": "bench",
                "AWS_EC2_METADATA_DISABLED": "true",
            }
        )
        yield


def main() -> int:
    """Run the benchmark and print a JSON result."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", nargs="+", choices=("local", "s3"), default=["local", "s3"])
    parser.add_argument("--batches", type=int, default=80, help="batches per throughput run")
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--clients", type=int, default=4, help="concurrent keep-alive clients")
    parser.add_argument("--latency-requests", type=int, default=300)
    args = parser.parse_args()
    results: dict[str, Any] = {"cpu_count": os.cpu_count(), "backends": {}}
    with tempfile.TemporaryDirectory(prefix="finlake-bench-") as tmp:
        for backend in args.backends:
            results["backends"][backend] = run_backend(backend, args, Path(tmp) / backend)
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
