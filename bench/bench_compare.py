"""Throughput of the fake against the framework's ceiling and Prism (a script, not a test).

    python bench/bench_compare.py [--seconds 3] [--rounds 3] [--connections 32]
                                  [--modes off,strict,limits,state] [--baseline GIT_REF]
                                  [--no-prism] [--no-protocol-ceiling] [--no-sized-ceiling]
                                  [--mixed-seconds 8]
                                  [--scenarios a,b]

One command, one run, every figure of issue 10 side by side. It starts, and keeps running
for the whole bench:

1. the ceiling: bare Starlette on uvicorn answering a fixed body on any path
   (`bench/ceiling_app.py`), served exactly as `mockserver serve` serves its app;
2. `mockserver serve` (demo scenario) in each mode: `off` (rate limits off), `strict`
   (responses that break the spec become 500s), `limits` (rate limits on: most answers are
   429s, the accounting runs on every request), `state` (`--state` SQLite file, flushed
   before each response);
3. with `--baseline REF`, mockserver (mode `off`) from a copy of the code at git REF
   (`git archive` under /tmp), so before and after come from the same run;
4. Prism 5's static mock of the vendor document, when a Prism binary is given (`--prism`)
   or found under /tmp/prism (`npm install @stoplight/prism-cli` there).
5. unless `--no-sized-ceiling`, the stock ceiling again, answering each scenario with a
   body as large as mockserver's answer (`x-ceiling-body-bytes`): large answers cost the
   kernel and the load generator too, which share the machine's two cores with the server;
6. unless `--no-protocol-ceiling`, the ceiling app again on the HTTP protocol `mockserver
   serve` uses (`mockserver/http_protocol.py`, on uvicorn's server), so the table shows
   what of mockserver's ratio comes from its server layer.

Scenarios: list-devices limit 10 and 100, get-device, list-packets (one device's stream,
topped up to a page of 100 packets), a signed Hubby `GET /bookings` (signed afresh for
each run). Each scenario runs in `--rounds` rounds that visit every target in turn, so a
load spike on a shared machine hits them alike; the table shows medians and the median of
the per-round ratio to the ceiling. Last, a mixed read/write load of Hubble and Hubby
(reads, device renames, registrations, bookings) from 64 connections on mode `off`.

Next to req/s the table prints each server process's CPU time (user + system, from /proc)
per answered request and its ratio to the ceiling's: a shared machine moves req/s a lot
(other work takes turns on the cores), CPU per request much less.

Every load is `wrk -t1 -cN` (Debian package `wrk`); nothing leaves the loopback interface.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENDOR_SPEC = ROOT.parent / "shared" / "reference" / "hubble-openapi.yaml"
if not VENDOR_SPEC.exists():
    VENDOR_SPEC = Path("/work/shared/reference/hubble-openapi.yaml")
ORG = "2f4c5a8e-1d3b-4e6f-9a7c-0b1d2e3f4a5b"
TOKEN = "hubble-sandbox-token-0123456789abcdef"
HUBBY_KEY = "hubby-sandbox-key"
HUBBY_SECRET = "hubby-sandbox-secret-0123456789"
MODES = {
    "off": {"MOCKSERVER_RATE_LIMIT": "false"},
    "strict": {"MOCKSERVER_RATE_LIMIT": "false", "MOCKSERVER_STRICT": "true"},
    "limits": {"MOCKSERVER_RATE_LIMIT": "true"},
    "state": {"MOCKSERVER_RATE_LIMIT": "false"},  # plus --state
}


@dataclass
class Result:
    rps: float
    p50_ms: float
    p99_ms: float
    non2xx: int
    errors: int
    requests: int = 0
    cpu_us: float = float("nan")  # the server process's CPU (user + system) per request

    def row(self, ceiling: float | None = None, prism: float | None = None) -> str:
        out = f"{self.rps:9.0f} req/s  p50 {self.p50_ms:7.2f} ms  p99 {self.p99_ms:7.2f} ms"
        if ceiling:
            out += f"  ceiling x{self.rps / ceiling:4.2f}"
        if prism:
            out += f"  prism x{self.rps / prism:5.1f}"
        if self.non2xx or self.errors:
            out += f"  ({self.non2xx} non-2xx, {self.errors} socket errors)"
        return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_up(url: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2)  # noqa: S310 - loopback only
            return
        except OSError as exc:
            if getattr(exc, "code", None):  # an HTTP error status: the server answers
                return
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not come up")


def _ms(text: str) -> float:
    m = re.match(r"([\d.]+)(us|ms|s)", text)
    if not m:
        return float("nan")
    value, unit = float(m.group(1)), m.group(2)
    return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value


def wrk(url: str, seconds: float, connections: int, headers: dict[str, str] | None = None, script: str | None = None) -> Result:
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--latency"]
    for k, v in (headers or {}).items():
        cmd += ["-H", f"{k}: {v}"]
    if script:
        cmd += ["-s", script]
    out = subprocess.run([*cmd, url], capture_output=True, text=True, check=True).stdout
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    p50 = re.search(r"50%\s+([\d.]+\w+)", out)
    p99 = re.search(r"99%\s+([\d.]+\w+)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    done = re.search(r"(\d+) requests in", out)
    return Result(
        rps=float(rps.group(1)) if rps else 0.0,
        p50_ms=_ms(p50.group(1)) if p50 else float("nan"),
        p99_ms=_ms(p99.group(1)) if p99 else float("nan"),
        non2xx=int(non2xx.group(1)) if non2xx else 0,
        errors=sum(int(x) for x in errors.groups()) if errors else 0,
        requests=int(done.group(1)) if done else 0,
    )


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc; NaN elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measured(pid: int | None, url: str, seconds: float, connections: int, headers: dict[str, str] | None = None) -> Result:
    """wrk against url, plus the serving process's CPU per request over the run: steadier
    than req/s on a shared machine, where other work takes turns on the cores."""
    before = cpu_seconds(pid) if pid else float("nan")
    res = wrk(url, seconds, connections, headers)
    if pid and res.requests:
        res.cpu_us = (cpu_seconds(pid) - before) / res.requests * 1e6
    return res


def hubby_headers(method: str, target: str) -> dict[str, str]:
    ts = str(int(time.time() * 1000))
    sig = hmac.new(HUBBY_SECRET.encode(), (ts + method + target).encode(), hashlib.sha256).hexdigest()
    return {"x-api-key": HUBBY_KEY, "x-timestamp": ts, "x-signature": sig}


class Procs:
    def __init__(self) -> None:
        self.procs: list[subprocess.Popen] = []

    def start(self, cmd: list[str], **kw) -> subprocess.Popen:  # noqa: ANN003
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kw)
        self.procs.append(proc)
        return proc

    def stop(self, proc: subprocess.Popen) -> None:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def stop_all(self) -> None:
        for proc in self.procs:
            self.stop(proc)


def _get_json(url: str, headers: dict[str, str]) -> object:
    req = urllib.request.Request(url, headers=headers)  # noqa: S310 - loopback only
    with urllib.request.urlopen(req, timeout=30) as r:  # noqa: S310
        return json.loads(r.read())


def _get_bytes(url: str, headers: dict[str, str]) -> bytes:
    req = urllib.request.Request(url, headers=headers)  # noqa: S310 - loopback only
    with urllib.request.urlopen(req, timeout=30) as r:  # noqa: S310
        return r.read()


def _post_json(url: str, body: object) -> object:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})  # noqa: S310
    with urllib.request.urlopen(req, timeout=60) as r:  # noqa: S310
        return json.loads(r.read())


def prepare(base: str) -> dict[str, tuple[str, dict[str, str]]]:
    """The scenarios on a running mockserver: name -> (URL, headers). Tops one device's
    packet stream up to 100 packets so list-packets returns a page of exactly 100."""
    auth = {"Authorization": f"Bearer {TOKEN}"}
    devices = _get_json(f"{base}/hubble/api/org/{ORG}/devices?limit=1000", auth)["devices"]  # type: ignore[index]
    device = devices[0]["id"]
    packets_url = f"{base}/hubble/api/org/{ORG}/packets?device_id={device}"
    have = len(_get_json(packets_url, auth)["packets"])  # type: ignore[index]
    if have < 100:
        _post_json(f"{base}/_mock/hubble/packets", {"device_ids": [device], "count": 100 - have, "spacing_seconds": 1})
    got = len(_get_json(packets_url, auth)["packets"])  # type: ignore[index]
    if got != 100:
        print(f"note: list-packets page has {got} packets, not 100", file=sys.stderr)
    return {
        "list-devices limit=10": (f"{base}/hubble/api/org/{ORG}/devices?limit=10", auth),
        "list-devices limit=100": (f"{base}/hubble/api/org/{ORG}/devices?limit=100", auth),
        "get-device": (f"{base}/hubble/api/org/{ORG}/devices/{device}", auth),
        "list-packets (100)": (packets_url, auth),
        "hubby GET /bookings": (f"{base}/hubby/api/bookings", hubby_headers("GET", "/bookings")),
    }


MIXED_LUA = r"""
local reqs = {}
local i = 0
function add(weight, method, path, headers, body)
  for _ = 1, weight do table.insert(reqs, wrk.format(method, path, headers, body)) end
end
local hubble = {["Authorization"] = "Bearer %(token)s", ["Content-Type"] = "application/json"}
local hubby_get = {["x-api-key"] = "%(key)s", ["x-timestamp"] = "%(ts)s", ["x-signature"] = "%(sig_get)s"}
local hubby_post = {["x-api-key"] = "%(key)s", ["x-timestamp"] = "%(ts)s", ["x-signature"] = "%(sig_post)s",
                    ["Content-Type"] = "application/json"}
add(6, "GET", "/hubble/api/org/%(org)s/devices?limit=10", hubble)
add(2, "GET", "/hubble/api/org/%(org)s/devices/%(device)s", hubble)
add(1, "GET", "/hubble/api/org/%(org)s/packets?device_id=%(device)s", hubble)
add(2, "PATCH", "/hubble/api/org/%(org)s/devices/%(device)s", hubble, '{"set_name": "bench-renamed"}')
add(1, "POST", "/hubble/api/v2/org/%(org)s/devices", hubble, '{"n_devices": 1, "encryption": "AES-256-CTR"}')
add(4, "GET", "/hubby/api/bookings", hubby_get)
add(1, "POST", "/hubby/api/bookings", hubby_post, '%(booking)s')
request = function()
  i = i + 1
  if i > #reqs then i = 1 end
  return reqs[i]
end
"""


def mixed(base: str, seconds: float, connections: int) -> Result:
    device = _get_json(f"{base}/hubble/api/org/{ORG}/devices?limit=10", {"Authorization": f"Bearer {TOKEN}"})["devices"][0]["id"]  # type: ignore[index]
    ts = str(int(time.time() * 1000))
    sign = lambda m, p: hmac.new(HUBBY_SECRET.encode(), (ts + m + p).encode(), hashlib.sha256).hexdigest()  # noqa: E731
    booking = json.dumps({
        "departure_date": time.strftime("%Y-%m-%d", time.gmtime(time.time() + 30 * 86400)),
        "email": "bench@example.com",
        "communication_options": {"should_send_message": False},
        "package_specifications": [{"destination": "GR", "size": "3GB"}],
    }).replace("'", "\\'")
    script = MIXED_LUA % {
        "token": TOKEN, "key": HUBBY_KEY, "ts": ts, "sig_get": sign("GET", "/bookings"),
        "sig_post": sign("POST", "/bookings"), "org": ORG, "device": device, "booking": booking,
    }  # fmt: skip
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as fh:
        fh.write(script)
    try:
        return wrk(base, seconds, connections, script=fh.name)
    finally:
        os.unlink(fh.name)


def serve_mockserver(procs: Procs, mode: str, src: Path, tmp: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = dict(os.environ, PYTHONPATH=str(src), **MODES[mode])
    cmd = [sys.executable, "-m", "mockserver", "serve", "--port", str(port)]
    if mode == "state":
        state = tmp / f"state-{port}.sqlite"
        cmd += ["--state", str(state)]
    proc = procs.start(cmd, env=env, cwd=str(src))
    base = f"http://127.0.0.1:{port}"
    wait_up(f"{base}/_mock/health")
    return proc, base


CEILING_OUR_PROTOCOL = (
    "import uvicorn; from mockserver.server_protocol import uvicorn_options; "
    "uvicorn.run('bench.ceiling_app:app', port={port}, log_level='warning', access_log=False, **uvicorn_options())"
)


def serve_ceiling(procs: Procs, our_protocol: bool = False) -> tuple[subprocess.Popen, str]:
    """Stock uvicorn (the issue's ceiling), or with `our_protocol` the same app on the
    protocol `mockserver serve` uses (`mockserver/http_protocol.py`)."""
    port = free_port()
    if our_protocol:
        cmd = [sys.executable, "-c", CEILING_OUR_PROTOCOL.format(port=port)]
    else:
        cmd = [sys.executable, "-m", "uvicorn", "bench.ceiling_app:app", "--port", str(port), "--log-level", "warning", "--no-access-log"]
    proc = procs.start(cmd, cwd=str(ROOT), env=dict(os.environ, PYTHONPATH=str(ROOT)))
    base = f"http://127.0.0.1:{port}"
    wait_up(f"{base}/hubble/x")
    return proc, base


def extract(ref: str, tmp: Path) -> Path:
    dest = tmp / f"baseline-{ref.replace('/', '_')}"
    dest.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", ref], capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    return dest


PRISM_PATHS = {
    "list-devices limit=10": f"/api/org/{ORG}/devices?limit=10",
    "list-devices limit=100": f"/api/org/{ORG}/devices?limit=100",
    "get-device": f"/api/org/{ORG}/devices/00000000-0000-4000-8000-000000000000",
    "list-packets (100)": f"/api/org/{ORG}/packets?device_id=00000000-0000-4000-8000-000000000000",
}


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=3, help="per wrk run")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds per scenario (medians are printed)")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--modes", default="off,strict,limits,state")
    parser.add_argument("--scenarios", default=None, help="comma-separated names (default: all)")
    parser.add_argument("--baseline", default=None, help="a git ref to measure too (mode off), e.g. main")
    parser.add_argument("--prism", default=None, help="path to the prism binary (default: /tmp/prism/node_modules/.bin/prism)")
    parser.add_argument("--no-prism", action="store_true")
    parser.add_argument("--no-protocol-ceiling", action="store_true", help="skip the ceiling app on mockserver's protocol")
    parser.add_argument("--no-sized-ceiling", action="store_true", help="skip the ceiling answering bodies of mockserver's size")
    parser.add_argument("--mixed-seconds", type=int, default=8)
    parser.add_argument("--mixed-connections", type=int, default=64)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("wrk is not installed (apt-get install wrk)", file=sys.stderr)
        return 2
    modes = [m for m in args.modes.split(",") if m]
    unknown = [m for m in modes if m not in MODES]
    if unknown:
        print(f"unknown modes {unknown}; choose from {sorted(MODES)}", file=sys.stderr)
        return 2
    wanted = set(args.scenarios.split(",")) if args.scenarios else None
    procs = Procs()
    tmp = Path(tempfile.mkdtemp(prefix="mockserver-bench-"))
    # every server runs for the whole bench; each scenario is measured in rounds that visit
    # every target in turn, so a load spike on a shared machine hits all of them alike and
    # each ratio compares runs seconds apart
    results: dict[tuple[str, str], list[Result]] = {}
    ratios: dict[tuple[str, str], list[float]] = {}
    mixed_result: Result | None = None
    try:
        ceiling_proc, ceiling_base = serve_ceiling(procs)
        targets: dict[str, dict[str, tuple[str, dict[str, str]]]] = {}
        pids: dict[str, int] = {}
        if args.baseline:
            proc, base = serve_mockserver(procs, "off", extract(args.baseline, tmp), tmp)
            targets[f"baseline {args.baseline}[off]"] = prepare(base)
            pids[f"baseline {args.baseline}[off]"] = proc.pid
        mixed_base = None
        for mode in modes:
            proc, base = serve_mockserver(procs, mode, ROOT, tmp)
            targets[f"mockserver[{mode}]"] = prepare(base)
            pids[f"mockserver[{mode}]"] = proc.pid
            if mode == "off":
                mixed_base = base
        prism = args.prism or "/tmp/prism/node_modules/.bin/prism"
        if not args.no_prism and Path(prism).exists() and VENDOR_SPEC.exists() and shutil.which("node"):
            pport = free_port()
            prism_proc = procs.start([prism, "mock", "-h", "127.0.0.1", "-p", str(pport), str(VENDOR_SPEC)])
            pbase = f"http://127.0.0.1:{pport}"
            wait_up(f"{pbase}/api/org/{ORG}/devices")
            auth = {"Authorization": f"Bearer {TOKEN}"}
            targets["prism static"] = {name: (pbase + path, auth) for name, path in PRISM_PATHS.items()}
            pids["prism static"] = prism_proc.pid  # the .bin script execs node: its CPU is Prism's
        elif not args.no_prism:
            print("prism not found (cd /tmp/prism && npm install @stoplight/prism-cli) or no vendor document: skipped", file=sys.stderr)

        names = list(dict.fromkeys(n for t in targets.values() for n in t if not wanted or n in wanted))
        if not args.no_sized_ceiling:
            # the stock ceiling answering bodies as large as mockserver's for each scenario
            label, first = "ceiling, same body size", next(t for n, t in targets.items() if n.startswith("mockserver"))
            sized = {}
            for n in names:
                url, headers = first[n]
                size = len(_get_bytes(url, headers if not n.startswith("hubby") else hubby_headers("GET", "/bookings")))
                sized[n] = (ceiling_base + urlsplit_path(url), {"x-ceiling-body-bytes": str(size)})
            targets = {label: sized, **targets}
            pids[label] = ceiling_proc.pid
        if not args.no_protocol_ceiling:
            # the same fixed-body app on mockserver's own HTTP protocol: how much of
            # mockserver's ratio is its server layer rather than its pipeline
            proc, cbase = serve_ceiling(procs, our_protocol=True)
            label = "ceiling, our protocol"
            targets = {label: {n: (cbase + urlsplit_path(next(t[n][0] for t in targets.values() if n in t)), {}) for n in names}, **targets}
            pids[label] = proc.pid
        for name in names:
            path = urlsplit_path(next(t[name][0] for t in targets.values() if name in t))
            for _ in range(args.rounds):
                ceiling = measured(ceiling_proc.pid, ceiling_base + path, args.seconds, args.connections)
                results.setdefault(("ceiling", name), []).append(ceiling)
                for label, scen in targets.items():
                    if name not in scen:
                        continue
                    url, headers = scen[name]
                    if name.startswith("hubby") and not label.startswith("ceiling"):  # a fresh signature for each run
                        headers = hubby_headers("GET", "/bookings")
                    res = measured(pids.get(label), url, args.seconds, args.connections, headers)
                    results.setdefault((label, name), []).append(res)
                    ratios.setdefault((label, name), []).append(res.rps / ceiling.rps if ceiling.rps else float("nan"))
        if mixed_base is not None and args.mixed_seconds > 0:
            mixed_result = mixed(mixed_base, args.mixed_seconds, args.mixed_connections)
    finally:
        procs.stop_all()
        shutil.rmtree(tmp, ignore_errors=True)

    print(f"wrk -t1 -c{args.connections} -d{args.seconds}s, {args.rounds} interleaved rounds per scenario: "
          "medians of req/s, p50, p99 and of the per-round ratio to the ceiling")
    print("ceiling = bare Starlette + uvicorn answering a fixed body on the same path")
    print("cpu µs/req = the server process's CPU time (user + system) per answered request over the runs, "
          "cpu x = that over the ceiling's (a cost ratio: lower is better; 2.0 is where req/s would be 0.5 "
          "of the ceiling's if the server alone set the pace)\n")
    print(f"{'target':26s} {'scenario':24s} {'req/s':>8s} {'p50 ms':>8s} {'p99 ms':>8s} {'x ceiling':>9s} {'x prism':>8s} "
          f"{'cpu µs/req':>10s} {'cpu x':>6s}  errors")
    for name in dict.fromkeys(n for _, n in results):
        prism_rps = _median([r.rps for r in results.get(("prism static", name), [])])
        ceiling_cpu = _median([r.cpu_us for r in results.get(("ceiling", name), [])])
        for (label, scen), runs in results.items():
            if scen != name:
                continue
            rps = _median([r.rps for r in runs])
            ratio = _median(ratios.get((label, scen), [])) if label != "ceiling" else 1.0
            vs_prism = rps / prism_rps if label.startswith(("mockserver", "baseline")) and prism_rps == prism_rps else None
            bad = sum(r.non2xx for r in runs), sum(r.errors for r in runs)
            cpu = _median([r.cpu_us for r in runs])
            print(f"{label:26s} {name:24s} {rps:8.0f} {_median([r.p50_ms for r in runs]):8.2f} {_median([r.p99_ms for r in runs]):8.2f} "
                  f"{ratio:9.2f} {f'{vs_prism:8.1f}' if vs_prism else '       -'} {cpu:10.1f} {cpu / ceiling_cpu:6.2f}  "
                  + (f"{bad[0]} non-2xx, {bad[1]} socket errors" if any(bad) else "-"))
        print()
    if mixed_result is not None:
        r = mixed_result
        print(f"mixed read/write (Hubble + Hubby), {args.mixed_connections} connections, {args.mixed_seconds}s on mockserver[off]: "
              f"{r.rps:.0f} req/s, p50 {r.p50_ms:.2f} ms, p99 {r.p99_ms:.2f} ms, {r.non2xx} non-2xx, {r.errors} socket errors")
    return 0


def urlsplit_path(url: str) -> str:
    """The path and query of a URL (the ceiling answers any path)."""
    rest = url.split("://", 1)[1]
    return "/" + rest.split("/", 1)[1] if "/" in rest else "/"


if __name__ == "__main__":
    sys.exit(main())
