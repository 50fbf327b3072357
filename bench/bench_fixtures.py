"""What the pytest fixtures cost a downstream suite, on the demo scenario (or another), each
figure printed next to its goal (issue 9).

    python bench/bench_fixtures.py [--scenario demo] [--rounds 30] [--no-serve]
                                   [--startup-rounds 3] [--baseline /path/to/other/checkout]

Prints:
- start-up, each in fresh processes (median of `--startup-rounds`): importing the package,
  building the app (spec compilation, seeding), starting the server until `/_mock/health`
  answers: what the session-scoped `mockserver` fixture costs once per session/worker
  (pytest itself is imported first: the plugin runs inside it); then `mockserver serve` as
  a command (demo and large) until its health check answers. Each with an empty seed cache
  ("cold": the first start after a code or scenario change, or with a real clock more than
  a minute after the last start) and with the entry an earlier start wrote ("warm"); with
  `--baseline`, the same figures for another checkout (e.g. `git worktree add /tmp/main main`)
  run by this interpreter, in the same run. Every module is byte-compiled first, as a pip
  install does (a PYTHONDONTWRITEBYTECODE environment would otherwise compile the package
  from source on every start);
- per-test reset: what `hubble_api` / `hubby_api` / `bumblebee` do before each test (reset
  that API, clear faults and journal, open a client), after a read-only test and after a
  test that wrote something, and a full `POST /_mock/reset`;
- snapshot / restore: `GET /_mock/state` and `PUT /_mock/state` of the whole state.
Times are wall-clock medians (and p90) over the rounds, in milliseconds. They move with the
machine's load: compare figures taken in the same run.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import orjson


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


CHILD = """
import json, sys, time
import pytest  # noqa: F401 - the plugin runs inside pytest: not part of its cost
t0 = time.perf_counter()
from mockserver.settings import Settings
from mockserver.testing import MockServer
t1 = time.perf_counter()
server = MockServer(Settings.from_env(scenario=sys.argv[1], strict=True))
t2 = time.perf_counter()
server.start()
t3 = time.perf_counter()
server.health()
t4 = time.perf_counter()
cached = sorted(getattr(server.runtime, "seeded_from_cache", ()))
server.stop()
import mockserver
print(json.dumps({"import": t1 - t0, "create": t2 - t1, "start": t3 - t2, "total": t4 - t0, "cached": cached,
                  "from": mockserver.__file__}))
"""


# children run from a folder holding no `mockserver`, with -P (no script or current folder
# first on sys.path): the package comes from PYTHONPATH (a baseline checkout) or the install
_NEUTRAL = tempfile.gettempdir()


def _env(cache: str | None, tree: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "MOCKSERVER_ADMIN_TOKEN"}
    if cache is not None:
        env["MOCKSERVER_CACHE_DIR"] = cache
    if tree is not None:
        env["PYTHONPATH"] = tree + os.pathsep + env.get("PYTHONPATH", "")
    return env


def startup_once(scenario: str, env: dict[str, str]) -> dict[str, float]:
    """One fresh process: import, create_app, server start, first health answer (seconds)."""
    out = subprocess.run(
        [sys.executable, "-P", "-c", CHILD, scenario], env=env, capture_output=True, text=True, timeout=120, cwd=_NEUTRAL
    )  # fmt: skip
    if out.returncode != 0:
        raise RuntimeError(f"start-up child failed: {out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def compile_tree(tree: Path) -> None:
    """Byte-compile a checkout's package as pip does at install time (see the module doc)."""
    compileall.compile_dir(str(tree / "mockserver"), quiet=1)


def serve_ready(scenario: str, timeout: float = 60.0, env: dict[str, str] | None = None) -> float:
    """Milliseconds from starting `python -m mockserver serve` to its health check answering."""
    import httpx  # noqa: PLC0415

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = env if env is not None else _env(None, None)
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-P", "-m", "mockserver", "serve", "--port", str(port), "--scenario", scenario], cwd=_NEUTRAL,
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
    parser.add_argument("--startup-rounds", type=int, default=3, help="fresh processes per start-up figure")
    parser.add_argument("--baseline", default=None, help="another checkout to measure start-up against (same run)")
    args = parser.parse_args()
    demo = args.scenario == "demo"
    here = Path(__file__).resolve().parent.parent
    trees: list[tuple[str, str | None]] = [("", None)]
    if args.baseline:
        trees.append(("baseline: ", str(Path(args.baseline).resolve())))
    for _, tree in trees:
        compile_tree(Path(tree) if tree else here)
    print(f"mockserver fixtures, scenario {args.scenario!r}, Python {sys.version.split()[0]}, "
          f"load average {os.getloadavg()[0]:.1f}")  # fmt: skip
    print(f"start-up (once per session / xdist worker; fresh processes, median of {args.startup_rounds}):")
    with tempfile.TemporaryDirectory(prefix="mockserver-bench-cache-") as scratch:
        runs = []  # (label, tree, cache folder, cold): cold empties the seed cache before each start
        for label, tree in trees:
            folder = os.path.join(scratch, label or "this")
            runs += [(f"{label}cold seed cache", tree, folder, True), (f"{label}warm seed cache", tree, folder, False)]
            if tree is not None:  # the baseline has no seed cache: one row is enough
                runs = runs[:-2] + [(f"{label}as it was", tree, folder, True)]

        def measure(run: tuple[str, str | None, str, bool], once_: Callable[[dict[str, str]], object]) -> list:
            _, tree, folder, cold = run
            env = _env(folder, tree)
            once_(env)  # warm-up: the spec cache (and, unless cold, the seed cache) is written
            samples = []
            for _ in range(args.startup_rounds):
                if cold:
                    shutil.rmtree(os.path.join(folder, "seeds"), ignore_errors=True)
                samples.append(once_(env))
            return samples

        for run in runs:
            samples = measure(run, lambda env: startup_once(args.scenario, env))
            med = {k: statistics.median(s[k] for s in samples) * 1000 for k in ("import", "create", "start", "total")}
            where = str(Path(samples[-1]["from"]).parent.parent)
            print(f"  [{run[0]}] {where}; APIs seeded from the cache: {', '.join(samples[-1]['cached']) or 'none'}")
            once("  import mockserver.testing", med["import"])
            once("  create_app (specs, seeding)", med["create"])
            once("  server start (uvicorn thread)", med["start"])
            once("  import to /_mock/health answered", med["total"], 500 if demo else None)
        if not args.no_serve:
            for scenario, goal in (("demo", 1000), ("large", 2000)):
                for run in runs:
                    samples = measure(run, lambda env, scenario=scenario: serve_ready(scenario, env=env))
                    once(f"`mockserver serve` ready, {scenario} [{run[0]}]", statistics.median(samples), goal)

    from mockserver.settings import Settings  # noqa: PLC0415
    from mockserver.testing import HubbySigner, MockServer  # noqa: PLC0415
    from mockserver.testing.plugin import _client, _fresh  # noqa: PLC0415

    server = MockServer(Settings.from_env(scenario=args.scenario, strict=True))
    server.start()

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
        row("server.snapshot() (in-process)", timed(server.snapshot, args.rounds), goal)
        row("server.restore() (in-process)", timed(lambda: server.restore(snapshot), args.rounds), goal)
        assert server.control is not None
        content = orjson.dumps(snapshot)

        def http_get() -> None:
            response = server.control.get("/state")
            assert response.status_code == 200, response.text
            orjson.loads(response.content)

        def http_put() -> None:
            response = server.control.put("/state", content=content, headers={"Content-Type": "application/json"})
            assert response.status_code == 200, response.text

        row("GET /_mock/state over HTTP, parsed", timed(http_get, args.rounds), goal)
        row("PUT /_mock/state over HTTP", timed(http_put, args.rounds), goal)
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
