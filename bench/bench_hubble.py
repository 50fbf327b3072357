"""Benchmark the Hubble fake (a script, not a test).

    python bench/bench_hubble.py [--devices 2000] [--packets-per-device 25] [--concurrency 16]
                                 [--seconds 5] [--memory-devices 100000]

1. A live server (`MockServer`, rate limit off, lenient responses, empty scenario) runs in a
   child process so the load generator does not share its interpreter; it is filled through
   the API (`--devices` devices) and the control plane (each device transmits
   `--packets-per-device` packets).
2. `--concurrency` concurrent keep-alive connections (a minimal asyncio HTTP/1.1 client:
   httpx would cost more CPU than the server) call GET get-device, GET list-devices (limit 250), then GET
   list-packets (pages of up to 1000, following tokens), each for `--seconds`; the script
   prints requests/s and p50/p99 latency.
3. State memory: tracemalloc around registering `--memory-devices` devices in an in-process
   backend (the store rows, the paging index and the decoder's key records).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mockserver.settings import Settings  # noqa: E402


def _serve(conn, seed: int) -> None:  # runs in the child process
    from mockserver.testing import MockServer

    server = MockServer(Settings(rate_limit=False, strict=False, scenario="empty", seed=seed)).start()
    creds = server.credentials()["hubble"]
    conn.send({"url": server.hubble_url, "control": f"{server.base_url}/_mock", **creds})
    conn.recv()  # wait until told to stop
    server.stop()


def fill(info: dict, devices: int, per_device: int) -> None:
    org = info["org_id"]
    headers = {"Authorization": f"Bearer {info['token']}"}
    with httpx.Client(timeout=600, trust_env=False, headers=headers) as client:
        left = devices
        while left:
            n = min(1000, left)
            r = client.post(f"{info['url']}/api/v2/org/{org}/devices", json={"encryption": "AES-256-CTR", "n_devices": n})
            r.raise_for_status()
            left -= n
        if per_device:
            r = client.post(f"{info['control']}/hubble/packets", json={"count": per_device, "spacing_seconds": 1})
            r.raise_for_status()


class _Connection:
    """A minimal keep-alive HTTP/1.1 client (httpx costs more CPU than the server under test)."""

    def __init__(self, host: str, port: int, headers: dict[str, str]) -> None:
        self.host, self.port = host, port
        self.extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def get(self, target: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        more = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
        self.writer.write(f"GET {target} HTTP/1.1\r\nHost: {self.host}\r\n{self.extra}{more}\r\n".encode())
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        found = {}
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if sep:
                found[name.strip().lower()] = value.strip()
        body = await self.reader.readexactly(int(found.get("content-length", 0)))
        return status, found, body

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


async def _worker(conn: _Connection, target: str, deadline: float, latencies: list[float], follow: bool) -> None:
    token = None
    while time.perf_counter() < deadline:
        started = time.perf_counter()
        status, headers, _ = await conn.get(target, {"Continuation-Token": token} if token else None)
        latencies.append(time.perf_counter() - started)
        if status != 200:
            raise RuntimeError(f"GET {target} answered {status}")
        token = headers.get("continuation-token") if follow else None
        if follow and (not token or headers.get("retry-after")):
            token = None  # caught up: start the stream again
    conn.close()


async def load(info: dict, path: str, params: str, concurrency: int, seconds: float, follow: bool) -> dict:
    url = httpx.URL(f"{info['url']}/api/org/{info['org_id']}{path}{params}")
    target = url.raw_path.decode()
    latencies: list[float] = []
    auth = {"Authorization": f"Bearer {info['token']}"}
    conns = [_Connection(url.host, url.port, auth) for _ in range(concurrency)]
    await conns[0].get(target)  # warm up
    deadline = time.perf_counter() + seconds
    started = time.perf_counter()
    await asyncio.gather(*(_worker(c, target, deadline, latencies, follow) for c in conns))
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "requests": len(latencies),
        "rps": len(latencies) / elapsed,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
    }


def memory_per_devices(count: int) -> tuple[float, float]:
    """(MiB of state, seconds) for registering `count` devices in an in-process backend."""
    from mockserver.app import create_app

    app = create_app(Settings(rate_limit=False, scenario="empty"))
    backend = app.state.runtime.backends["hubble"]
    org = app.state.runtime.settings.hubble_org_id
    tracemalloc.start()
    base = tracemalloc.take_snapshot()
    started = time.perf_counter()
    left = count
    while left:
        n = min(1000, left)
        backend.register_devices(org, {"encryption": "AES-256-CTR", "n_devices": n, "tags": [{"site": "bench"}] * n})
        left -= n
    elapsed = time.perf_counter() - started
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    grown = sum(s.size_diff for s in after.compare_to(base, "filename"))
    return grown / 2**20, elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--devices", type=int, default=2000)
    parser.add_argument("--packets-per-device", type=int, default=25)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--memory-devices", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    parent, child = multiprocessing.Pipe()
    proc = multiprocessing.get_context("spawn").Process(target=_serve, args=(child, args.seed), daemon=True)
    proc.start()
    info = parent.recv()
    try:
        started = time.perf_counter()
        fill(info, args.devices, args.packets_per_device)
        total_packets = args.devices * args.packets_per_device
        print(f"filled {args.devices} devices, {total_packets} packets in {time.perf_counter() - started:.1f} s")
        with httpx.Client(trust_env=False, headers={"Authorization": f"Bearer {info['token']}"}) as client:
            one = client.get(f"{info['url']}/api/org/{info['org_id']}/devices", params={"limit": 10}).json()["devices"][0]["id"]
        runs = [
            ("get-device (one record)", f"/devices/{one}", "", False),
            ("list-devices (limit 250)", "/devices", "?limit=250", False),
            ("list-packets (1000/page, following tokens)", "/packets", "", True),
        ]
        for label, path, params, follow in runs:
            result = asyncio.run(load(info, path, params, args.concurrency, args.seconds, follow))
            print(
                f"{label:45s} {result['rps']:8.1f} req/s  p50 {result['p50_ms']:7.2f} ms  "
                f"p99 {result['p99_ms']:7.2f} ms  ({result['requests']} requests, {args.concurrency} clients)"
            )
    finally:
        parent.send("stop")
        proc.join(timeout=30)
    mib, seconds = memory_per_devices(args.memory_devices)
    per_100k = mib * 100_000 / max(1, args.memory_devices)
    print(f"state memory: {mib:.1f} MiB for {args.memory_devices} devices ({per_100k:.1f} MiB per 100k; registered in {seconds:.1f} s)")


if __name__ == "__main__":
    main()
