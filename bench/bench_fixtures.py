"""What the pytest fixtures cost a downstream suite, on the demo scenario (or another).

    python bench/bench_fixtures.py [--scenario demo] [--rounds 30]

Prints:
- start-up: importing the package, building the app (spec compilation, seeding), starting
  the server: what the session-scoped `mockserver` fixture costs once per session/worker;
- per-test reset: what `hubble_api` / `hubby_api` / `bumblebee` do before each test (reset
  that API over HTTP, clear faults and journal, open a client) and a full `POST /_mock/reset`;
- snapshot / restore: `GET /_mock/state` and `PUT /_mock/state` of the whole state.
Times are wall-clock medians (and p90) over the rounds, in milliseconds.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable


def timed(fn: Callable[[], object], rounds: int) -> list[float]:
    out = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


def row(name: str, samples: list[float], note: str = "") -> None:
    samples = sorted(samples)
    p90 = samples[min(len(samples) - 1, int(len(samples) * 0.9))]
    print(f"  {name:<34} median {statistics.median(samples):9.2f} ms   p90 {p90:9.2f} ms   n={len(samples)} {note}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenario", default="demo")
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()

    t0 = time.perf_counter()
    from mockserver import app as app_module  # noqa: PLC0415, F401 - the import cost itself
    from mockserver.pytest_plugin import _client, _fresh  # noqa: PLC0415
    from mockserver.settings import Settings  # noqa: PLC0415
    from mockserver.testing import HubbySigner, MockServer  # noqa: PLC0415

    t1 = time.perf_counter()
    server = MockServer(Settings.from_env(scenario=args.scenario, strict=True))
    t2 = time.perf_counter()
    server.start()
    t3 = time.perf_counter()
    server.health()
    print(f"mockserver fixtures, scenario {args.scenario!r}, Python {sys.version.split()[0]}")
    print("start-up (once per session / xdist worker):")
    print(f"  {'import mockserver':<34} {1000 * (t1 - t0):9.1f} ms")
    print(f"  {'create_app (specs, seeding)':<34} {1000 * (t2 - t1):9.1f} ms")
    print(f"  {'server start (uvicorn thread)':<34} {1000 * (t3 - t2):9.1f} ms")
    print(f"  {'total':<34} {1000 * (t3 - t0):9.1f} ms")

    try:
        creds = server.credentials()

        def hubble_setup() -> None:
            _fresh(server, "hubble")
            with _client(base_url=creds["hubble"]["base_url"], headers={"Authorization": f"Bearer {creds['hubble']['token']}"}):
                pass

        def hubby_setup() -> None:
            _fresh(server, "hubby")
            signer = HubbySigner(creds["hubby"]["api_key"], creds["hubby"]["secret"], clock_ms=server.runtime.clock.now_ms)
            with _client(base_url=creds["hubby"]["base_url"], auth=signer):
                pass

        def bumblebee_setup() -> None:
            _fresh(server, "bumblebee")

        print("per-test reset (function-scoped fixtures):")
        for name, fn in (("hubble_api", hubble_setup), ("hubby_api", hubby_setup), ("bumblebee", bumblebee_setup),
                         ("POST /_mock/reset (all APIs)", server.reset)):  # fmt: skip
            fn()  # warm
            row(name, timed(fn, args.rounds))

        snapshot = server.snapshot()
        size = len(json.dumps(snapshot))
        rows = sum(len(t) for t in snapshot["tables"].values())
        print(f"snapshot / restore ({rows} records, {size / 1024:.0f} KiB of JSON):")
        row("GET /_mock/state", timed(server.snapshot, args.rounds))
        row("PUT /_mock/state", timed(lambda: server.restore(snapshot), args.rounds))
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
