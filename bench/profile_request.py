"""In-process CPU cost of one request through the whole app (a script, not a test).

    python bench/profile_request.py [--n 3000] [--profile] [--strict] [--rate-limit] [--state]

Drives the Starlette app directly with ASGI messages (no socket, no uvicorn), so the figure
is the CPU our code spends per request: µs per call for each scenario of issue 10, and with
--profile the top of a cProfile listing for each.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import hashlib
import hmac
import json
import pstats
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mockserver.app import create_app  # noqa: E402
from mockserver.settings import Settings  # noqa: E402

S = Settings()
ORG, TOKEN = S.hubble_org_id, S.hubble_token


def hubby_headers(clock_ms: int, method: str, target: str) -> list[tuple[bytes, bytes]]:
    ts = str(clock_ms)
    sig = hmac.new(S.hubby_secret.encode(), (ts + method + target).encode(), hashlib.sha256).hexdigest()
    return [(b"x-api-key", S.hubby_api_key.encode()), (b"x-timestamp", ts.encode()), (b"x-signature", sig.encode())]


def scenarios(app) -> dict[str, tuple[str, str, list[tuple[bytes, bytes]]]]:
    rt = app.state.runtime
    hubble = [(b"authorization", f"Bearer {TOKEN}".encode()), (b"host", b"127.0.0.1")]
    device = next(iter(rt.backends["hubble"].devices.keys()), None)
    out = {
        "list-devices limit=10": ("GET", f"/hubble/api/org/{ORG}/devices?limit=10", hubble),
        "list-devices limit=100": ("GET", f"/hubble/api/org/{ORG}/devices?limit=100", hubble),
    }
    if device:
        out["get-device"] = ("GET", f"/hubble/api/org/{ORG}/devices/{device}", hubble)
        out["list-packets (100)"] = ("GET", f"/hubble/api/org/{ORG}/packets?device_id={device}", hubble)
    now_ms = int(rt.clock.now() * 1000)
    out["hubby GET /bookings"] = ("GET", "/hubby/api/bookings", hubby_headers(now_ms, "GET", "/bookings") + [(b"host", b"127.0.0.1")])
    return out


async def one(app, method: str, target: str, headers, body: bytes = b"") -> int:
    path, _, query = target.partition("?")
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
        "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": query.encode(),
        "root_path": "", "headers": headers, "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 8080),
    }
    status = 0

    async def receive():
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message):
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return status


async def top_up_packets(app, page: int = 100) -> None:
    """Give the first device a stream of `page` packets, as bench_compare.py does, so
    list-packets answers a page of that size."""
    rt = app.state.runtime
    device = next(iter(rt.backends["hubble"].devices.keys()), None)
    if device is None:
        return
    have = sum(1 for p in rt.backends["hubble"].packets.values() if p["dev"] == device)
    if have < page:
        body = json.dumps({"device_ids": [device], "count": page - have, "spacing_seconds": 1}).encode()
        json_headers = [(b"content-type", b"application/json"), (b"host", b"127.0.0.1")]
        await one(app, "POST", "/_mock/hubble/packets", json_headers, body)


async def run(args) -> None:
    state = None
    if args.state:
        import tempfile

        state = str(Path(tempfile.mkdtemp(prefix="mockserver-profile-")) / "state.sqlite")
    app = create_app(Settings(rate_limit=args.rate_limit, strict=args.strict, scenario=args.scenario, state_path=state))
    await top_up_packets(app)
    for name, (method, target, headers) in scenarios(app).items():
        status = await one(app, method, target, headers)
        for _ in range(50):
            await one(app, method, target, headers)
        prof = cProfile.Profile() if args.profile else None
        if prof:
            prof.enable()
        rounds = []
        for _ in range(5):  # the minimum of five rounds: the least disturbed by other load
            t0 = time.process_time()
            for _ in range(max(1, args.n // 5)):
                await one(app, method, target, headers)
            rounds.append((time.process_time() - t0) / max(1, args.n // 5) * 1e6)
        if prof:
            prof.disable()
        rounds.sort()
        print(f"{name:28s} status {status}  min {rounds[0]:7.1f}  median {rounds[2]:7.1f} µs CPU/request")
        if prof:
            pstats.Stats(prof).sort_stats("tottime").print_stats(args.top)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--n", type=int, default=2000)
    p.add_argument("--profile", action="store_true")
    p.add_argument("--strict", action="store_true")
    p.add_argument("--rate-limit", action="store_true")
    p.add_argument("--state", action="store_true", help="persist to a temporary SQLite file (flush per request)")
    p.add_argument("--scenario", default="demo")
    p.add_argument("--top", type=int, default=25)
    asyncio.run(run(p.parse_args()))


if __name__ == "__main__":
    main()
