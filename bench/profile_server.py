"""In-process CPU cost of one request through the server layer (a script, not a test).

    python bench/profile_server.py [--n 20000] [--connections 32] [--app raw|mockserver]
                                   [--scenario NAME] [--loop uvloop|asyncio] [--profile]
                                   [--protocol ours|stock]

Drives `mockserver serve`'s HTTP protocol (`server_protocol.uvicorn_options()`, or with
`--protocol stock` uvicorn's own httptools protocol) on an event loop with in-memory
sockets: each turn, every one of `--connections` kept-alive connections receives one
request, and the loop runs until every answer is written. No kernel, no load generator: the
figure is the Python CPU of the protocol's per-request machinery and the app, steady on a
busy machine where wrk's figures move several-fold. `--app raw` serves a bare ASGI app
answering a fixed 3.7 KB JSON body with the seven headers of a list-devices answer (the
server layer alone); `--app mockserver` the demo scenario.
The loop is uvloop when installed, as `mockserver serve` runs.
Run it once per code version (e.g. with PYTHONPATH at a `git archive` of the other).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import hashlib
import hmac
import importlib.util
import pstats
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import memory_socket  # noqa: E402  (bench/, beside this script)

from mockserver.server_protocol import uvicorn_options  # noqa: E402

ORG = "2f4c5a8e-1d3b-4e6f-9a7c-0b1d2e3f4a5b"
TOKEN = "hubble-sandbox-token-0123456789abcdef"
RAW_BODY = (
    b'{"devices":[' + b",".join([b'{"id":"%036d","name":"device","tags":{}}' % i for i in range(60)]) + b"]}"
)
RAW_HEADERS = [
    (b"x-ratelimit-limit", b"3"), (b"x-ratelimit-remaining", b"3"), (b"x-ratelimit-reset", b"1796213956"),
    (b"continuation-token", b"eyJvcmciOiIyZjRjNWE4ZS0xZDNiLTRlNmYtOWE3Yy0wYjFkMmUzZjRhNWIiLCJxIjp7ImxpbWl0IjoxMH19.BpR8E2wGslJvFwy3"),
    (b"x-request-id", b"4e1a2685-7e5e-436d-aead-618daaac52fd"), (b"content-type", b"application/json"),
    (b"content-length", str(len(RAW_BODY)).encode()),
]  # fmt: skip


async def raw_app(scope: dict, receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": RAW_HEADERS})
    await send({"type": "http.response.body", "body": RAW_BODY})


def request(scenario: str) -> bytes:
    if scenario == "bookings":
        ts = str(int(time.time() * 1000))
        sig = hmac.new(
            b"hubby-sandbox-secret-0123456789", (ts + "GET/bookings").encode(), hashlib.sha256
        ).hexdigest()
        return (
            f"GET /hubby/api/bookings HTTP/1.1\r\nHost: 127.0.0.1\r\nx-api-key: hubby-sandbox-key\r\n"
            f"x-timestamp: {ts}\r\nx-signature: {sig}\r\n\r\n"
        ).encode()
    return (
        f"GET /hubble/api/org/{ORG}/devices?limit=10 HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {TOKEN}\r\n\r\n"
    ).encode()


async def drive(
    app: Any, options: dict[str, Any], n: int, connections: int, scenario: str, profile: bool
) -> float:
    pairs = memory_socket.connections(app, options, connections)
    protocols, sockets = [p for p, _ in pairs], [s for _, s in pairs]
    data = request(scenario)

    async def turns(count: int) -> None:
        for _ in range(count):
            target = [s.answers + 1 for s in sockets]
            for proto in protocols:
                proto.data_received(data)
            while any(s.answers < t for s, t in zip(sockets, target, strict=True)):
                await asyncio.sleep(0)

    await turns(max(1, 500 // connections))  # warm caches
    prof = cProfile.Profile() if profile else None
    if prof:
        prof.enable()
    rounds = []
    for _ in range(5):
        t0 = time.process_time()
        await turns(max(1, n // 5 // connections))
        rounds.append((time.process_time() - t0) / (max(1, n // 5 // connections) * connections) * 1e6)
    if prof:
        prof.disable()
        pstats.Stats(prof).sort_stats("tottime").print_stats(30)
    for proto in protocols:
        proto.connection_lost(None)
    return sorted(rounds)[0]


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--n", type=int, default=20000)
    p.add_argument("--connections", type=int, default=32)
    p.add_argument("--app", choices=["raw", "mockserver"], default="raw")
    p.add_argument("--scenario", choices=["devices", "bookings"], default="devices")
    p.add_argument("--profile", action="store_true")
    p.add_argument(
        "--protocol", choices=["ours", "stock"], default="ours", help="stock: uvicorn's httptools protocol"
    )
    p.add_argument(
        "--loop",
        choices=["uvloop", "asyncio"],
        default="uvloop" if importlib.util.find_spec("uvloop") else "asyncio",
    )
    args = p.parse_args()
    if args.app == "raw":
        app: Any = raw_app
    else:
        from mockserver.app import create_app  # noqa: PLC0415
        from mockserver.settings import Settings  # noqa: PLC0415

        app = create_app(Settings(scenario="demo", rate_limit=False))
    loop_factory = asyncio.new_event_loop
    if args.loop == "uvloop":
        import uvloop  # noqa: PLC0415

        loop_factory = uvloop.new_event_loop
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        options = uvicorn_options() if args.protocol == "ours" else {"http": "httptools"}
        us = runner.run(drive(app, options, args.n, args.connections, args.scenario, args.profile))
    print(
        f"{args.app} {args.scenario if args.app != 'raw' else ''} ({args.loop}, {args.protocol} protocol): min {us:.1f} µs CPU/request"
    )


if __name__ == "__main__":
    main()
