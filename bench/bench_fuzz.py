"""The long fuzz run: schemathesis with every per-response check, N examples per operation
(default 200), against every operation of Hubble, Hubby, the Bumblebee sandbox and the
control plane of one fresh fake (strict mode: a response that breaks its spec is a 500).

    python bench/bench_fuzz.py [--examples 200] [--seed 1] [--apis hubble,hubby,bumblebee] [--no-control]

Prints how many requests were sent (per API), how many answers were a 5xx (each listed),
which checks failed on which operations, and the positive-data rejections counted apart
(schema-valid bodies a domain rule refuses). Exit 1 when any answer was a 5xx or a check
other than those failed. At 200 examples expect tens of thousands of requests and half an
hour or more on two cores.
"""

from __future__ import annotations

import argparse
import sys
import time

from mockserver.contracts import fuzz
from mockserver.contracts.fake import start_fake


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--apis", default="hubble,hubby,bumblebee")
    parser.add_argument("--no-control", action="store_true")
    args = parser.parse_args()
    server, targets = start_fake(strict=True)
    chosen = {api: targets[api] for api in args.apis.split(",") if api}
    started = time.perf_counter()
    try:
        report = fuzz.run(server, chosen, max_examples=args.examples, seed=args.seed, control=not args.no_control)
    finally:
        server.stop()
    elapsed = time.perf_counter() - started
    print(f"examples per operation: {args.examples}, seed {args.seed}, {elapsed:.0f} s")
    print(report.summary())
    for line in report.server_errors[:50]:
        print("  5xx:", line)
    return 1 if report.server_errors or report.hard_failures else 0


if __name__ == "__main__":
    sys.exit(main())
