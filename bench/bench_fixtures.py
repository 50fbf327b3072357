"""What the pytest fixtures cost a downstream suite, on the demo scenario (or another), each
figure printed next to its goal (issue 9).

    python bench/bench_fixtures.py [--scenario demo] [--rounds 30] [--no-serve]

Prints:
- start-up: importing the package, building the app (spec compilation, seeding), starting
  the server until `/_mock/health` answers: what the session-scoped `mockserver` fixture
  costs once per session/worker; then `mockserver serve` as a command (demo and large) until
  its health check answers;
- per-test reset: what `hubble_api` / `hubby_api` / `bumblebee` do before each test (reset
  that API, clear faults and journal, open a client), after a read-only test and after a
  test that wrote something, and a full `POST /_mock/reset`;
- snapshot / restore: `GET /_mock/state` and `PUT /_mock/state` of the whole state.
Times are wall-clock medians (and p90) over the rounds, in milliseconds. They move with the
machine's load: compare figures taken in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable


def timed(fn: Callable[[], object], rounds: int, before: Callable[[], object] | None = None) -> list[float]:
    out = []
    for _ in range(rounds):
        if before is not None:
            before()
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


def verdict(value: float, goal: float | None) -> str:
    if goal is None:
        return ""
    return f"goal < {goal:g} ms  {'ok' if value < goal else 'MISSED'}"


def row(name: str, samples: list[float], goal: float | None = None) -> None:
    samples = sorted(samples)
    p90 = samples[min(len(samples) - 1, int(len(samples) * 0.9))]
    median = statistics.median(samples)
    print(f"  {name:<40} median {median:8.2f} ms   p90 {p90:8.2f} ms   n={len(samples):<3} {verdict(median, goal)}")


def once(name: str, ms: float, goal: float | None = None) -> None:
    print(f"  {name:<40} {ms:9.1f} ms {' ' * 30}{verdict(ms, goal)}")


def serve_ready(scenario: str, timeout: float = 60.0) -> float:
    """Milliseconds from starting `python -m mockserver serve` to its health check answering."""
    import httpx  # noqa: PLC0415

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "MOCKSERVER_ADMIN_TOKEN": ""}
    env.pop("MOCKSERVER_ADMIN_TOKEN")
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "mockserver", "serve", "--port", str(port), "--scenario", scenario],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
    )  # fmt: skip
    try:
        with httpx.Client(trust_env=False, timeout=1.0) as client:
            while time.perf_counter() - start < timeout:
                try:
                    if client.get(f"http://127.0.0.1:{port}/_mock/health").status_code == 200:
                        return (time.perf_counter() - start) * 1000
                except httpx.HTTPError:
                    pass
                if proc.poll() is not None:
                    raise RuntimeError(f"mockserver serve --scenario {scenario} exited with {proc.returncode}")
                time.sleep(0.005)
        raise RuntimeError(f"mockserver serve --scenario {scenario} not ready within {timeout} s")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenario", default="demo")
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--no-serve", action="store_true", help="skip the `mockserver serve` start-up figures")
    args = parser.parse_args()

    t0 = time.perf_counter()
    from mockserver import app as app_module  # noqa: PLC0415, F401 - the import cost itself
    from mockserver.settings import Settings  # noqa: PLC0415
    from mockserver.testing import HubbySigner, MockServer  # noqa: PLC0415
    from mockserver.testing.plugin import _client, _fresh  # noqa: PLC0415

    t1 = time.perf_counter()
    server = MockServer(Settings.from_env(scenario=args.scenario, strict=True))
    t2 = time.perf_counter()
    server.start()
    t3 = time.perf_counter()
    server.health()
    t4 = time.perf_counter()
    demo = args.scenario == "demo"
    print(f"mockserver fixtures, scenario {args.scenario!r}, Python {sys.version.split()[0]}")
    print("start-up (once per session / xdist worker):")
    once("import mockserver", 1000 * (t1 - t0))
    once("create_app (specs, seeding)", 1000 * (t2 - t1))
    once("server start (uvicorn thread)", 1000 * (t3 - t2))
    once("import to /_mock/health answered", 1000 * (t4 - t0), 500 if demo else None)
    if not args.no_serve:
        once("`mockserver serve` ready (demo)", serve_ready("demo"), 1000)
        once("`mockserver serve` ready (large)", serve_ready("large"), 2000)

    try:
        creds = server.credentials()
        hubble_headers = {"Authorization": f"Bearer {creds['hubble']['token']}"}
        signer = HubbySigner(creds["hubby"]["api_key"], creds["hubby"]["secret"], clock_ms=server.runtime.clock.now_ms)

        def hubble_setup() -> None:
            _fresh(server, "hubble")
            with _client(base_url=creds["hubble"]["base_url"], headers=hubble_headers):
                pass

        def hubby_setup() -> None:
            _fresh(server, "hubby")
            with _client(base_url=creds["hubby"]["base_url"], auth=signer):
                pass

        def bumblebee_setup() -> None:
            _fresh(server, "bumblebee")
            with _client(base_url=creds["bumblebee"]["base_url"]):
                pass

        hubble = _client(base_url=creds["hubble"]["base_url"], headers=hubble_headers)
        hubby = _client(base_url=creds["hubby"]["base_url"], auth=signer)
        org = creds["hubble"]["org_id"]

        def hubble_write() -> None:
            r = hubble.post(f"/api/v2/org/{org}/devices", json={"n_devices": 1, "encryption": "AES-256-CTR"})
            assert r.status_code < 400, r.text

        def hubby_write() -> None:
            r = hubby.post("/bookings", json={
                "departure_date": "2030-06-01T10:00:00Z", "email": "bench@example.com",
                "booking_id": f"BENCH-{time.perf_counter_ns()}", "communication_options": {"should_send_message": False},
                "package_specifications": [{"destination": "TUR", "size": "1GB"}],
            })  # fmt: skip
            assert r.status_code < 400, r.text

        def bumblebee_write() -> None:
            server.simulate("bumblebee", "/nodes", {})

        print("per-test reset (function-scoped fixtures), goal < 5 ms each:")
        for name, fn, write in (("hubble_api", hubble_setup, hubble_write), ("hubby_api", hubby_setup, hubby_write),
                                ("bumblebee", bumblebee_setup, bumblebee_write)):  # fmt: skip
            fn()  # warm
            row(f"{name} (after a read-only test)", timed(fn, args.rounds), 5)
            row(f"{name} (after a test that wrote)", timed(fn, args.rounds, before=write), 5)
        server.reset()
        row("POST /_mock/reset (all APIs)", timed(server.reset, args.rounds), 10)
        hubble.close()
        hubby.close()

        snapshot = server.snapshot()
        size = len(json.dumps(snapshot))
        rows = sum(len(t) for t in snapshot["tables"].values())
        print(f"snapshot / restore ({rows} records, {size / 1024:.0f} KiB of JSON):")
        goal = 20 if demo else None
        row("GET /_mock/state", timed(server.snapshot, args.rounds), goal)
        row("PUT /_mock/state", timed(lambda: server.restore(snapshot), args.rounds), goal)
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
