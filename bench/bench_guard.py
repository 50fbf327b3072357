"""What the hostile-input guards cost per request, in process (no sockets, so the figures
are the guards' own CPU): the ASGI `RequestGuard` in front of the mounts (head size,
X-Request-ID) and `jsonguard.check` after a body is parsed.

    python bench/bench_guard.py [--rounds 50000]

Each line compares, in the same run, the work with and without the guard.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time

from mockserver.guard import RequestGuard
from mockserver.kernel import jsonguard

HEADERS = [
    (b"host", b"127.0.0.1:8080"), (b"user-agent", b"python-httpx/0.28.1"), (b"accept", b"*/*"),
    (b"accept-encoding", b"gzip, deflate"), (b"connection", b"keep-alive"),
    (b"authorization", b"Bearer hubble-sandbox-token-0123456789abcdef"), (b"content-type", b"application/json"),
]  # fmt: skip


async def plain(scope: dict, receive: object, send: object) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": [(b"x-request-id", b"abc")]})
    await send({"type": "http.response.body", "body": b"{}"})


async def sink(message: dict) -> None:
    return None


def asgi_round(app: object, rounds: int, path: str) -> float:
    scope = {"type": "http", "method": "GET", "path": path, "raw_path": path.encode(), "query_string": b"limit=10", "headers": HEADERS}

    async def go() -> float:
        start = time.perf_counter()
        for _ in range(rounds):
            await app(scope, None, sink)  # type: ignore[operator]
        return (time.perf_counter() - start) / rounds * 1e6

    return asyncio.run(go())


def body_round(raw: bytes, rounds: int, guarded: bool) -> float:
    start = time.perf_counter()
    for _ in range(rounds):
        value = json.loads(raw)
        if guarded:
            jsonguard.check(raw, value)
    return (time.perf_counter() - start) / rounds * 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=50_000)
    n = parser.parse_args().rounds
    guard = RequestGuard(plain, max_header_bytes=32768, seed=1, renderers={"/hubble": lambda e: {}})
    for path in ("/hubble/api/org/x/devices", "/_mock/clock"):
        base, with_guard = asgi_round(plain, n, path), asgi_round(guard, n, path)
        print(f"ASGI call {path}: {base:.2f} us bare, {with_guard:.2f} us with RequestGuard (+{with_guard - base:.2f} us)")
    small = json.dumps({"n_devices": 2, "encryption": "AES-256-CTR", "names": ["pallet-1", "pallet-2"]}).encode()
    large = json.dumps({"devices": [{"id": f"d{i}", "name": f"pallet {i}", "tags": {"site": "dc"}} for i in range(1500)]}).encode()
    emoji = json.dumps({"names": ["pallet \U0001f69a"] * 200}).encode()  # \\ud83d escapes: the walk runs
    for label, raw, rounds in (("small body", small, n), ("100 KB body", large, max(1, n // 200)), ("emoji body", emoji, max(1, n // 50))):
        base, guarded = body_round(raw, rounds, False), body_round(raw, rounds, True)
        print(f"json.loads {label} ({len(raw)} bytes): {base:.1f} us, with jsonguard.check {guarded:.1f} us (+{(guarded / base - 1) * 100:.0f}%)")


if __name__ == "__main__":
    main()
