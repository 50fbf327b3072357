"""Fault injection: make matching requests slow, fail, or break the connection.

Rules come from `POST /_mock/faults` (kept until deleted or used up) or, for one request,
from an `X-Mock-Fault` header such as `status=503`, `kind=reset`, `latency=250`, or
`status=429; retry_after=7`. Kinds:

- latency: wait, then serve normally (`latency_ms` fixed, or `distribution`:
  {"type": "fixed", "value": ms} / {"type": "uniform", "lower": ms, "upper": ms} /
  {"type": "lognormal", "median": ms, "sigma": s})
- status: answer `status` with the API's own error body (429 adds `Retry-After`)
- reset: close the TCP connection abruptly without an answer (an RST: SO_LINGER 0)
- empty: close the connection cleanly without sending anything
- truncated: promise a body (Content-Length), send half of it, close

The connection kinds need the server's socket transport. uvicorn (h11 and httptools)
passes its `RequestResponseCycle.receive` bound method as `receive`, and the cycle holds
the transport; `_transport` also looks through wrappers (functools.wraps, closures) so a
middleware that wraps `receive` does not hide it. Without a transport the request fails
with an exception, which a server turns into a dropped connection or a 500.

Hostile rules and headers: every number is bounded (`LIMITS`), a `path` regex is compiled
with RE2, which matches in linear time (a pattern such as `(a+)+$` cannot stall the
server; what RE2 cannot compile, backreferences and lookarounds, is a 400), and when a
control-plane admin token is set the `X-Mock-Fault` header needs it too, in
`X-Mock-Admin-Token`. A client that hangs up during an injected delay is noticed within
`ABANDON_POLL` seconds and its request is dropped.
"""

from __future__ import annotations

import asyncio
import hmac
import math
import random
import re
import socket
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any, TypeGuard

import re2

from .errors import BadRequest

KINDS = ("latency", "status", "reset", "empty", "truncated")
CONNECTION_KINDS = ("reset", "empty", "truncated")
FIELDS = (
    "kind", "api", "operation_id", "path", "method", "status", "retry_after", "latency_ms",
    "distribution", "count", "probability", "message",
)  # fmt: skip
DISTRIBUTIONS = {
    "fixed": {"value"},
    "uniform": {"lower", "upper"},
    "lognormal": {"median", "sigma"},
}
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
MAX_DELAY_MS = 600_000  # ten minutes: the longest injected latency (a distribution's draws are capped too)
LIMITS = {"latency_ms": MAX_DELAY_MS, "retry_after": 86_400, "count": 1_000_000_000}
MAX_TEXT = {"api": 64, "operation_id": 200, "method": 16, "path": 500, "message": 1000, "kind": 16}
MAX_HEADER_CHARS = 500  # an X-Mock-Fault header longer than this is a 400
ADMIN_HEADER = "x-mock-admin-token"
ABANDON_POLL = 0.25  # seconds between checks that a delayed request's client is still there
_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False  # a refused pattern is reported to the client, not logged


class FaultError(ValueError):
    pass


class FaultDisconnect(ConnectionResetError):
    """A connection fault where the ASGI server exposes no socket (an in-process ASGI
    transport): raised to the caller instead, as the nearest thing to a dropped connection."""


def _is_number(value: Any) -> TypeGuard[int | float]:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    if isinstance(value, int):
        return abs(value) < 2**63  # beyond that it is no count of milliseconds (and float() overflows)
    return math.isfinite(value)


def compile_path(pattern: str) -> Any:
    """A rule's `path` as an RE2 pattern (linear-time matching); FaultError if RE2 refuses it."""
    try:
        return re2.compile(pattern, _RE2_OPTIONS)
    except re2.error as exc:
        detail = exc.args[0].decode("utf-8", "replace") if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        raise FaultError(
            f"path is not a regular expression the server accepts ({detail}); "
            "RE2 syntax: no backreferences or lookarounds"
        ) from None


def _is_int(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def validate_rule(data: Any) -> dict[str, Any]:
    """Check a rule body field by field; every problem is named (FaultError lists them all)."""
    if not isinstance(data, dict):
        raise FaultError("a fault rule is a JSON object")
    problems: list[str] = []
    unknown = sorted(set(data) - set(FIELDS))
    if unknown:
        problems.append(f"unknown fields {unknown}; allowed: {list(FIELDS)}")
    kind = data.get("kind")
    if kind is None:
        kind = "status" if "status" in data else "latency" if ("latency_ms" in data or "distribution" in data) else None
    if kind not in KINDS:
        problems.append(f"kind must be one of {list(KINDS)} (got {data.get('kind')!r})")
    for name in ("api", "operation_id", "path", "message"):
        if name in data and data[name] is not None and not isinstance(data[name], str):
            problems.append(f"{name} must be a string")
    for name, most in MAX_TEXT.items():
        if isinstance(data.get(name), str) and len(data[name]) > most:
            problems.append(f"{name} is longer than {most} characters")
    method = data.get("method")
    if method is not None and (not isinstance(method, str) or method.upper() not in METHODS):
        problems.append(f"method must be one of {list(METHODS)}")
    if isinstance(data.get("path"), str) and len(data["path"]) <= MAX_TEXT["path"]:
        try:
            compile_path(data["path"])
        except FaultError as exc:
            problems.append(str(exc))
    status = data.get("status")
    if kind == "status":
        if not _is_int(status) or not 400 <= status <= 599:
            problems.append("a status fault needs an integer status between 400 and 599")
    elif status is not None:
        problems.append(f"status only applies to kind 'status', not {kind!r}")
    retry_after = data.get("retry_after")
    if retry_after is not None:
        if not _is_int(retry_after) or retry_after < 0:
            problems.append("retry_after must be a non-negative integer (seconds)")
        elif kind != "status":
            problems.append("retry_after only applies to kind 'status'")
    latency = data.get("latency_ms")
    if latency is not None and (not _is_number(latency) or latency < 0):
        problems.append("latency_ms must be a non-negative number (milliseconds)")
    dist = data.get("distribution")
    if dist is not None:
        problems.extend(_distribution_problems(dist))
        if latency is not None:
            problems.append("give latency_ms or distribution, not both")
    if kind == "latency" and latency is None and dist is None:
        problems.append("a latency fault needs latency_ms or distribution")
    count = data.get("count")
    if count is not None and (not _is_int(count) or count < 1):
        problems.append("count must be an integer of at least 1")
    probability = data.get("probability", 1.0)
    if not _is_number(probability) or not 0.0 < probability <= 1.0:
        problems.append("probability must be a number above 0 and at most 1")
    for name, most in LIMITS.items():
        value = data.get(name)
        if _is_number(value) and value > most:
            problems.append(f"{name} must be at most {most}")
    if problems:
        raise FaultError("; ".join(problems))
    return {**data, "kind": kind}


def _distribution_problems(dist: Any) -> list[str]:
    if not isinstance(dist, dict):
        return ["distribution must be an object"]
    dtype = dist.get("type")
    if dtype not in DISTRIBUTIONS:
        return [f"distribution.type must be one of {list(DISTRIBUTIONS)}"]
    problems = []
    needed = DISTRIBUTIONS[dtype]
    unknown = sorted(set(dist) - needed - {"type"})
    if unknown:
        problems.append(f"distribution {dtype!r} takes {sorted(needed)}, not {unknown}")
    for name in sorted(needed):
        value = dist.get(name)
        if not _is_number(value) or value < 0:
            problems.append(f"distribution.{name} must be a non-negative number")
        elif name != "sigma" and value > MAX_DELAY_MS:
            problems.append(f"distribution.{name} must be at most {MAX_DELAY_MS} (ms)")
        elif name == "sigma" and value > 10:
            problems.append("distribution.sigma must be at most 10")
    if dtype == "uniform" and not problems and dist["lower"] > dist["upper"]:
        problems.append("distribution.lower must not exceed distribution.upper")
    if dtype == "lognormal" and not problems and dist["median"] <= 0:
        problems.append("distribution.median must be above 0")
    return problems


@dataclass
class Fault:
    kind: str
    id: str = ""
    api: str | None = None
    operation_id: str | None = None
    path: str | None = None  # a regular expression searched in the path below the API mount
    method: str | None = None
    status: int | None = None
    retry_after: int | None = None
    latency_ms: float | None = None
    distribution: dict[str, Any] | None = None
    count: int | None = None  # how many more requests it applies to (None: unlimited)
    probability: float = 1.0
    message: str = "fault injected by the mock server"
    hits: int = 0
    _rng: random.Random = field(default_factory=lambda: random.Random(0), repr=False)
    _path_re: Any = field(default=None, repr=False)

    @classmethod
    def from_dict(cls, data: dict[str, Any], fault_id: str, seed: int) -> Fault:
        clean = validate_rule(data)
        values = {k: v for k, v in clean.items() if v is not None}
        if "method" in values:
            values["method"] = values["method"].upper()
        fault = cls(id=fault_id, **values)
        fault._rng = random.Random(f"{seed}:{fault_id}")
        fault._path_re = compile_path(fault.path) if fault.path else None
        return fault

    @property
    def finishes(self) -> bool:
        """True when the fault answers (or drops) the request itself: no handler runs."""
        return self.kind != "latency"

    def describe(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in fields(self) if not f.name.startswith("_")}
        return {k: v for k, v in data.items() if v not in (None, "")}

    def matches(self, api: str, operation_id: str, method: str, path: str) -> bool:
        if self.api and self.api != api:
            return False
        if self.operation_id and self.operation_id != operation_id:
            return False
        if self.method and self.method != method.upper():
            return False
        if self._path_re is not None and self._path_re.search(path) is None:
            return False
        return True

    def delay_seconds(self) -> float:
        d = self.distribution
        if not d:
            ms = float(self.latency_ms or 0.0)
        elif d["type"] == "fixed":
            ms = float(d["value"])
        elif d["type"] == "uniform":
            ms = self._rng.uniform(float(d["lower"]), float(d["upper"]))
        else:
            ms = float(d["median"]) * math.exp(self._rng.gauss(0, float(d["sigma"])))
        return min(max(0.0, ms), MAX_DELAY_MS) / 1000.0

    async def apply(
        self,
        receive: Callable,
        send: Callable,
        error_bytes: Callable[[int, str], bytes],
        headers: dict[str, str] | None = None,
    ) -> bool:
        """Act on the connection. True when the request is finished (no handler runs): the
        fault answered or dropped it, or its client hung up during the delay.
        `headers` go on an answered fault (the request id every response carries)."""
        if self.latency_ms or self.distribution:
            if await _wait_unless_abandoned(receive, self.delay_seconds()):
                return True
        if self.kind == "latency":
            return False
        if self.kind == "status":
            status = self.status if self.status is not None else 500  # validate_rule requires one
            await _drain(receive)
            body = error_bytes(status, self.message)
            raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
            raw += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in (headers or {}).items()]
            if status == 429 or (status == 503 and self.retry_after is not None):  # where the specs document it
                raw.append((b"retry-after", str(self.retry_after if self.retry_after is not None else 1).encode()))
            await send({"type": "http.response.start", "status": status, "headers": raw})
            await send({"type": "http.response.body", "body": body})
            return True
        cycle, transport = _transport(receive)
        if transport is None:
            raise FaultDisconnect(f"fault injected ({self.kind}): the connection was dropped")
        if self.kind == "reset":
            sock = transport.get_extra_info("socket")
            if sock is not None:
                try:  # linger 0: close() sends an RST, the client sees "connection reset by peer"
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                except OSError:
                    pass
            transport.abort()
        else:
            await _drain(receive)  # unread request bytes would make the kernel send an RST
            if self.kind == "truncated":
                body = error_bytes(500, self.message) * 4
                await send({
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
                })
                await send({"type": "http.response.body", "body": body[: len(body) // 2], "more_body": True})
            transport.close()  # flushes what was written, then FIN
        if cycle is not None and hasattr(cycle, "disconnected"):
            cycle.disconnected = True  # the server then neither logs nor answers a 500 on a closed socket
        await asyncio.sleep(0)
        return True


async def _wait_unless_abandoned(receive: Callable, seconds: float) -> bool:
    """Sleep `seconds`; True (early) when the client closes the connection meanwhile, so an
    abandoned request does not hold its memory for the whole delay. Without a server
    transport to watch (in-process ASGI) it simply sleeps."""
    cycle, transport = _transport(receive)
    if transport is None:
        await asyncio.sleep(seconds)
        return False
    deadline = time.monotonic() + seconds  # not loop.time(): uvloop's is cached per iteration
    while True:
        if getattr(cycle, "disconnected", False) or transport.is_closing():
            return True
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        await asyncio.sleep(min(left, ABANDON_POLL))


async def _drain(receive: Callable) -> None:
    """Read the request body to its end (nothing is kept)."""
    while True:
        message = await receive()
        if message.get("type") != "http.request" or not message.get("more_body", False):
            return


def _transport(receive: Callable, depth: int = 4) -> tuple[Any, Any]:
    """The server's connection object and socket transport, when the ASGI server exposes them.

    uvicorn: `receive` is `RequestResponseCycle.receive`, a bound method; the cycle keeps
    `transport`. Wrappers are followed through `__wrapped__` and closure cells."""
    seen: set[int] = set()
    todo: list[tuple[Any, int]] = [(receive, 0)]
    while todo:
        obj, level = todo.pop(0)
        if obj is None or id(obj) in seen or level > depth:
            continue
        seen.add(id(obj))
        owner = getattr(obj, "__self__", None)
        transport = getattr(owner, "transport", None)
        if transport is not None and hasattr(transport, "abort"):
            return owner, transport
        todo.append((getattr(obj, "__wrapped__", None), level + 1))
        for cell in getattr(obj, "__closure__", None) or ():
            try:
                value = cell.cell_contents
            except ValueError:
                continue
            if callable(value):
                todo.append((value, level + 1))
    return None, None


class FaultRegistry:
    def __init__(self, seed: int = 0, admin_token: str | None = None) -> None:
        self.seed = seed
        self.admin_token = admin_token  # when set, an X-Mock-Fault header must come with it
        self.rules: list[Fault] = []
        self._n = 0
        self._headers = 0

    def add(self, data: dict[str, Any]) -> Fault:
        fault = Fault.from_dict(data, f"fault-{self._n + 1}", self.seed)
        self._n += 1
        self.rules.append(fault)
        return fault

    def clear(self) -> None:
        """Drop every rule; ids (and so the random draws of a seed) start again from fault-1."""
        self.rules.clear()
        self._n = 0

    def match(self, api: str, operation_id: str, method: str, path: str, headers: Any) -> Fault | None:
        """The fault for this request: the `X-Mock-Fault` header first, then the first matching
        rule (which uses up one of its `count`). A malformed header is a 400 in the API's shape."""
        header = headers.get("x-mock-fault") if headers is not None else None
        if header:
            self._check_admin(headers)
            if len(header) > MAX_HEADER_CHARS:
                raise BadRequest(f"invalid X-Mock-Fault header: longer than {MAX_HEADER_CHARS} characters")
            self._headers += 1
            try:
                fault = Fault.from_dict(parse_header(header), f"header-{self._headers}", self.seed)
            except FaultError as exc:
                raise BadRequest(f"invalid X-Mock-Fault header {header!r}: {exc}") from None
            if fault.probability < 1.0 and fault._rng.random() >= fault.probability:
                return None
            return fault
        for fault in self.rules:
            if not fault.matches(api, operation_id, method, path):
                continue
            if fault.probability < 1.0 and fault._rng.random() >= fault.probability:
                continue
            fault.hits += 1
            if fault.count is not None:
                fault.count -= 1
                if fault.count <= 0:
                    self.rules.remove(fault)
            return fault
        return None


    def _check_admin(self, headers: Any) -> None:
        """The header is a control-plane action: with an admin token set it needs the token."""
        if not self.admin_token:
            return
        given = (headers.get(ADMIN_HEADER) or "").encode("latin-1", "replace")
        if not hmac.compare_digest(given, self.admin_token.encode("utf-8")):
            raise BadRequest(
                "the X-Mock-Fault header needs 'X-Mock-Admin-Token: <MOCKSERVER_ADMIN_TOKEN>' "
                "(this server's control plane is protected)",
            )


def parse_header(value: str) -> dict[str, Any]:
    """`status=503; retry_after=5` -> {"status": 503, "retry_after": 5}; `latency=250` is latency_ms;
    a bare kind (`reset`) is `kind=reset`."""
    out: dict[str, Any] = {}
    for part in re.split(r"[;,]", value):
        if not part.strip():
            continue
        key, sep, raw = part.partition("=")
        key, raw = key.strip(), raw.strip()
        if not sep:
            key, raw = "kind", key
        if key == "latency":
            key = "latency_ms"
        if re.fullmatch(r"-?\d{1,18}", raw):  # longer digit runs stay text: validation names them
            out[key] = int(raw)
        elif re.fullmatch(r"-?\d{1,18}\.\d{0,18}|-?\.\d{1,18}", raw):
            out[key] = float(raw)
        else:
            out[key] = raw
    return out
