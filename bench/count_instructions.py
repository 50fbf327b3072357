"""Machine instructions per request, counted by valgrind (a script, not a test).

    python bench/count_instructions.py [--scenarios a,b] [--baseline GIT_REF] [--in-process]
                                       [--rate-limit] [--strict]

On a shared machine the speed of one run moves several-fold from one minute to the next;
the number of instructions a request executes does not (runs agree to ~0.1%). Each figure
here is the difference between two runs of the same program under `valgrind
--tool=callgrind`, one serving N more requests than the other, divided by N: start-up and
warm-up cancel out. Printed for the ceiling (bare Starlette answering a fixed body, on stock
uvicorn's httptools protocol), for the same app on our HTTP protocol, for mockserver (demo
data, rate limits off unless `--rate-limit`) on the protocol `mockserver serve` uses, and
with `--baseline REF` for the code at git REF in the same way.

Each request goes through the server layer over an in-memory socket, one connection, on
uvloop when it is installed (as `mockserver serve` runs), so what is counted is the Python
and C work of uvicorn, the app and our code; not the kernel, not the load generator. `--in-process` calls the ASGI app directly instead (no server layer).

Instructions are not time: a cache miss costs no instruction and hundreds of cycles. And
under valgrind OpenSSL runs its generic SHA-256 code instead of the CPU's SHA instructions,
so the hashing of tokens, signatures and request ids counts several times what it costs on
real hardware; the column without libcrypto leaves it out. Needs valgrind (Debian package
`valgrind`); each target and scenario takes ~40-70 s (its two runs side by side).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = [
    "list-devices limit=10",
    "list-devices limit=100",
    "get-device",
    "list-packets (100)",
    "hubby GET /bookings",
]
SMALL, LARGE = 400, 1400  # requests in the two runs (both after warm-up, the journal's ring full in neither)


# -- the child: serve N requests of one scenario --------------------------------------------------------


async def _serve(app: Any, protocol: Any, request: bytes, n: int) -> None:
    from memory_socket import connections  # noqa: PLC0415  (bench/, on the path)

    [(proto, sock)] = connections(app, protocol, 1)
    for _ in range(n):
        want = sock.answers + 1
        proto.data_received(request)
        while sock.answers < want:
            await asyncio.sleep(0)
    proto.connection_lost(None)


def _request_bytes(method: str, target: str, headers: list[tuple[bytes, bytes]]) -> bytes:
    lines = [f"{method} {target} HTTP/1.1".encode()] + [name + b": " + value for name, value in headers]
    return b"\r\n".join(lines) + b"\r\n\r\n"


async def _child(
    target: str, scenario: str, n: int, in_process: bool, rate_limit: bool, strict: bool
) -> None:
    sys.path.insert(0, str(Path.cwd() / "bench"))
    sys.path.insert(0, str(Path.cwd()))
    import profile_request as pr  # noqa: PLC0415

    if target in ("ceiling", "ceiling-ours"):
        from ceiling_app import app  # noqa: PLC0415

        method, path, headers = (
            "GET",
            "/hubble/api/org/x/devices?limit=10",
            [(b"authorization", b"Bearer x"), (b"host", b"127.0.0.1")],
        )
        protocol: dict[str, Any] = {"http": "httptools"}  # stock uvicorn: the ceiling
        if target == "ceiling-ours":  # the same app on the protocol `mockserver serve` uses
            from mockserver.server_protocol import uvicorn_options  # noqa: PLC0415

            protocol = uvicorn_options()
    else:
        from mockserver.app import create_app  # noqa: PLC0415

        if (Path.cwd() / "mockserver" / "server_protocol.py").exists():
            from mockserver.server_protocol import uvicorn_options  # noqa: PLC0415
        else:  # code from before the protocol had a module of its own
            from mockserver.guard import uvicorn_options  # type: ignore[attr-defined,no-redef]  # noqa: PLC0415
        from mockserver.settings import Settings  # noqa: PLC0415

        app = create_app(Settings(rate_limit=rate_limit, strict=strict, scenario="demo"))
        await pr.top_up_packets(app)
        method, path, headers = pr.scenarios(app)[scenario]
        protocol = uvicorn_options()
    warm = 60
    if in_process:
        for _ in range(warm + n):
            await pr.one(app, method, path, headers)
    else:
        await _serve(app, protocol, _request_bytes(method, path, headers), warm + n)


# -- the parent: run children under valgrind ---------------------------------------------------------


def _count(src: Path, target: str, scenario: str, n: int, args: argparse.Namespace) -> tuple[int, int]:
    """(all instructions, those in libcrypto) of one child run."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "callgrind.out"
        cmd = [
            "valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", sys.executable, str(Path(__file__).resolve()),
            "--child", target, scenario, str(n),
        ]  # fmt: skip
        cmd += [
            flag
            for flag, on in (
                ("--in-process", args.in_process),
                ("--rate-limit", args.rate_limit),
                ("--strict", args.strict),
            )
            if on
        ]
        # the seed cache off: both runs build the same objects the same way
        env = {**os.environ, "PYTHONHASHSEED": "0", "MOCKSERVER_CACHE_DIR": "off", "PYTHONPATH": str(src)}
        subprocess.run(cmd, cwd=src, env=env, check=True, capture_output=True)
        report = subprocess.run(
            ["callgrind_annotate", "--threshold=100", str(out)], capture_output=True, text=True, check=True
        ).stdout
    total = crypto = 0
    for line in report.splitlines():
        match = re.match(r"\s*([\d,]+)\s", line)
        if not match:
            continue
        value = int(match.group(1).replace(",", ""))
        if "PROGRAM TOTALS" in line:
            total = value
        elif "libcrypto" in line:
            crypto += value
    return total, crypto


def per_request(src: Path, target: str, scenario: str, args: argparse.Namespace) -> tuple[float, float]:
    with ThreadPoolExecutor(max_workers=2) as pool:  # the two runs side by side (a core each)
        small_run = pool.submit(_count, src, target, scenario, SMALL, args)
        large_run = pool.submit(_count, src, target, scenario, LARGE, args)
        small, large = small_run.result(), large_run.result()
    n = LARGE - SMALL
    return (large[0] - small[0]) / n, ((large[0] - large[1]) - (small[0] - small[1])) / n


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--child", nargs=3, metavar=("TARGET", "SCENARIO", "N"), help=argparse.SUPPRESS)
    p.add_argument("--scenarios", default=None, help="comma-separated (default: all five)")
    p.add_argument("--baseline", default=None, help="a git ref to count too")
    p.add_argument("--in-process", action="store_true", help="call the ASGI app directly (no server layer)")
    p.add_argument("--rate-limit", action="store_true")
    p.add_argument("--strict", action="store_true")
    args = p.parse_args()
    if args.child:
        target, scenario, n = args.child
        loop_factory = asyncio.new_event_loop
        if importlib.util.find_spec("uvloop") is not None:  # the loop `mockserver serve` runs on
            import uvloop  # noqa: PLC0415

            loop_factory = uvloop.new_event_loop
        with asyncio.Runner(loop_factory=loop_factory) as runner:
            runner.run(_child(target, scenario, int(n), args.in_process, args.rate_limit, args.strict))
        return 0
    if shutil.which("valgrind") is None or shutil.which("callgrind_annotate") is None:
        print("needs valgrind (Debian: apt-get install valgrind)", file=sys.stderr)
        return 2
    scenarios = args.scenarios.split(",") if args.scenarios else SCENARIOS
    sources = {"mockserver": ROOT}
    with tempfile.TemporaryDirectory(prefix="count-instructions-") as tmp:
        if args.baseline:
            base = Path(tmp) / "baseline"
            base.mkdir()
            archive = subprocess.run(
                ["git", "-C", str(ROOT), "archive", args.baseline], capture_output=True, check=True
            ).stdout
            subprocess.run(["tar", "-x", "-C", str(base)], input=archive, check=True)
            for name in (
                "profile_request.py",
                "ceiling_app.py",
                "memory_socket.py",
            ):  # the same drivers for both
                shutil.copy(ROOT / "bench" / name, base / "bench" / name)
            sources[f"baseline {args.baseline}"] = base
        where = "in process" if args.in_process else "through the server layer, one connection"
        print(f"instructions per request ({where}; without libcrypto in brackets; ratio to the ceiling)")
        ceiling = per_request(ROOT, "ceiling", "", args)
        print(f"{'ceiling (bare Starlette)':40s} {ceiling[0]:10,.0f} ({ceiling[1]:,.0f})", flush=True)
        if not args.in_process:
            ours = per_request(ROOT, "ceiling-ours", "", args)
            print(
                f"{'ceiling app on our HTTP protocol':40s} {ours[0]:10,.0f} ({ours[1]:,.0f})  {ours[0] / ceiling[0]:.2f}x",
                flush=True,
            )
        for scenario in scenarios:
            for label, src in sources.items():
                total, plain = per_request(src, "mockserver", scenario, args)
                print(
                    f"{scenario + ', ' + label:40s} {total:10,.0f} ({plain:,.0f})  "
                    f"{total / ceiling[0]:.2f}x ({plain / ceiling[1]:.2f}x)",
                    flush=True,
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
