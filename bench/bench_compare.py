"""Throughput of the fake against Prism on the same call (a script, not a test).

    python bench/bench_compare.py [--seconds 8] [--connections 32] [--prism PATH_TO_PRISM_BIN]

Starts `mockserver serve` (demo scenario, rate limit off, so every request does the whole
pipeline: journal, auth, request and response validation) and, when a Prism binary is
given or found under /tmp/prism, Prism's static and dynamic mocks of the vendor document;
then drives GET list-devices on each with `wrk` (Debian package `wrk`) and prints
requests/s and latency. Nothing is sent off the loopback interface.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENDOR_SPEC = ROOT.parent / "shared" / "reference" / "hubble-openapi.yaml"
ORG = "2f4c5a8e-1d3b-4e6f-9a7c-0b1d2e3f4a5b"
TOKEN = "hubble-sandbox-token-0123456789abcdef"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_up(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=1)  # noqa: S310 - loopback only
            return
        except OSError as exc:
            if getattr(exc, "code", None):  # an HTTP error status: the server answers
                return
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not come up")


def wrk(url: str, seconds: int, connections: int) -> str:
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "-H", f"Authorization: Bearer {TOKEN}", url],
        capture_output=True, text=True, check=True,
    ).stdout
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    p50 = re.search(r"50%\s+([\d.]+\w+)", out)
    p99 = re.search(r"99%\s+([\d.]+\w+)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return (
        f"{float(rps.group(1)) if rps else 0:9.0f} req/s  p50 {p50.group(1) if p50 else '?':>8}  "
        f"p99 {p99.group(1) if p99 else '?':>8}" + (f"  ({non2xx.group(1)} non-2xx)" if non2xx else "")
    )


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--prism", default=None, help="path to the prism binary (default: /tmp/prism/node_modules/.bin/prism)")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("wrk is not installed (apt-get install wrk)", file=sys.stderr)
        return 2

    procs: list[subprocess.Popen] = []
    rows: list[tuple[str, str]] = []
    try:
        port = free_port()
        env = dict(os.environ, MOCKSERVER_RATE_LIMIT="false")
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "mockserver", "serve", "--port", str(port)],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        ))
        base = f"http://127.0.0.1:{port}"
        wait_up(f"{base}/_mock/health")
        for query in ("limit=10", "limit=100"):
            url = f"{base}/hubble/api/org/{ORG}/devices?{query}"
            rows.append((f"mockserver list-devices {query}", wrk(url, args.seconds, args.connections)))

        prism = args.prism or "/tmp/prism/node_modules/.bin/prism"
        if Path(prism).exists() and VENDOR_SPEC.exists():
            for label, extra in (("static", []), ("dynamic", ["-d"])):
                pport = free_port()
                proc = subprocess.Popen(
                    [prism, "mock", *extra, "-h", "127.0.0.1", "-p", str(pport), str(VENDOR_SPEC)],
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                )
                procs.append(proc)
                wait_up(f"http://127.0.0.1:{pport}/api/org/{ORG}/devices")
                rows.append((f"prism {label} list-devices", wrk(f"http://127.0.0.1:{pport}/api/org/{ORG}/devices", args.seconds, args.connections)))
                proc.send_signal(signal.SIGTERM)
        else:
            rows.append(("prism", "not found (npm install @stoplight/prism-cli under /tmp/prism to compare)"))
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                proc.wait(timeout=20)
    for label, figures in rows:
        print(f"{label:36s} {figures}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
