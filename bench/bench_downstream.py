"""A downstream suite as a new user writes one: 60 tiny tests, each one GET through the
`hubble_api` fixture, run by pytest in a subprocess; the per-test times come from pytest's
own JUnit XML (setup + call + teardown: the fixture included).

    python bench/bench_downstream.py [--tests 60] [--scenario demo]

Prints the median and p90 per-test time next to the goal (under 10 ms), the first test
(which also starts the session's server) and the whole run; and, as the floor, the same
number of bare tests (no fixture, no request) in the same run: what pytest itself costs
per test with the plugins installed here.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

SUITE = '''\
import pytest


@pytest.mark.parametrize("n", range({count}))
def test_bare(n):
    assert n >= 0


@pytest.mark.parametrize("n", range({count}))
def test_tiny(hubble_api, n):
    r = hubble_api.client.get(hubble_api.org_path("/devices"))
    assert r.status_code == 200
'''

GOAL_MS = 10.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tests", type=int, default=60)
    parser.add_argument("--scenario", default="demo")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mockserver-downstream-") as tmp:
        folder = Path(tmp)
        (folder / "test_tiny.py").write_text(SUITE.format(count=args.tests))
        report = folder / "junit.xml"
        command = [
            sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly",
            f"--junitxml={report}", "-o", "junit_duration_report=total", "-o", "junit_family=xunit2",
            f"--mockserver-scenario={args.scenario}", "test_tiny.py",
        ]  # fmt: skip
        start = time.perf_counter()
        done = subprocess.run(command, cwd=folder, capture_output=True, text=True)
        wall = time.perf_counter() - start
        if done.returncode != 0:
            print(done.stdout[-3000:], done.stderr[-3000:], sep="\n")
            return done.returncode
        cases = list(ET.parse(report).getroot().iter("testcase"))
    bare = [float(c.get("time", "0")) * 1000 for c in cases if c.get("name", "").startswith("test_bare")]
    times = [float(c.get("time", "0")) * 1000 for c in cases if c.get("name", "").startswith("test_tiny")]
    first, ordered = times[0], sorted(times)
    median = statistics.median(ordered)
    p90 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.9))]
    print(f"downstream suite: {len(times)} tests, one GET each through hubble_api, scenario {args.scenario!r}")
    print(f"  per test (JUnit time: setup + call + teardown)  median {median:7.2f} ms   p90 {p90:7.2f} ms   "
          f"goal < {GOAL_MS:g} ms  {'ok' if median < GOAL_MS else 'MISSED'}")  # fmt: skip
    print(f"  a bare test, same run (pytest's own floor)      median {statistics.median(bare):7.2f} ms")
    print(f"  first test (starts the session's server)        {first:7.1f} ms")
    print(f"  whole pytest run (interpreter start to exit)    {wall * 1000:7.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
