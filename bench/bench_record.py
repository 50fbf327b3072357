"""What `mockserver record` costs: a source mockserver (tests/record/source.yaml: 1,500
devices, ~3,000 packets, users, webhooks, Hubby bookings) recorded without rate limits, and
the recording loaded again.

    python bench/bench_record.py [--scenario tests/record/source.yaml] [--out /tmp/bench-record.yaml]

Prints wall-clock seconds for each step and the recorder's request count; the source runs in
this process (a uvicorn thread), so both share the GIL as they would not in real use.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scenario", default="tests/record/source.yaml")
    parser.add_argument("--out", default="/tmp/bench-record.yaml")
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from mockserver.cli import main as cli
    from mockserver.scenarios import load_scenario
    from mockserver.testing import MockServer

    t = time.perf_counter()
    src = MockServer(seed=7, scenario=args.scenario, rate_limit=False).start()
    print(f"source start-up        {time.perf_counter() - t:6.2f} s")
    creds = src.credentials()
    src.clear_requests()
    t = time.perf_counter()
    rc = cli(["record", "--api", "all", "--base-url", src.hubble_url, "--hubby-base-url", src.hubby_url,
              "--token", creds["hubble"]["token"], "--org-id", creds["hubble"]["org_id"],
              "--api-key", creds["hubby"]["api_key"], "--secret", creds["hubby"]["secret"],
              "--out", args.out, "--quiet"])  # fmt: skip
    took = time.perf_counter() - t
    calls = len(src.requests(limit=100000))
    print(f"record (rc {rc})           {took:6.2f} s  ({calls} requests, {calls / took:.0f}/s)")
    src.stop()
    print(f"file                   {Path(args.out).stat().st_size / 1e6:6.2f} MB")
    t = time.perf_counter()
    load_scenario(args.out)
    print(f"parse + validate       {time.perf_counter() - t:6.2f} s")
    t = time.perf_counter()
    MockServer(seed=3, scenario=args.out, clock="frozen")
    print(f"replay app (parse+seed) {time.perf_counter() - t:5.2f} s")
    return rc


if __name__ == "__main__":
    sys.exit(main())
