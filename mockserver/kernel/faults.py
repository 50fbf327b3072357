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
"""

from __future__ import annotations

import asyncio
import math
import random
import re
import socket
import struct
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from .errors import ApiError

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


class FaultError(ValueError):
    pass


class FaultDisconnect(ConnectionResetError):
    """A connection fault where the ASGI server exposes no socket (an in-process ASGI
    transport): raised to the caller instead, as the nearest thing to a dropped connection."""


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _is_int(value: Any) -> bool:
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
    method = data.get("method")
    if method is not None and (not isinstance(method, str) or method.upper() not in METHODS):
        problems.append(f"method must be one of {list(METHODS)}")
    if isinstance(data.get("path"), str):
        try:
            re.compile(data["path"])
        except re.error as exc:
            problems.append(f"path is not a valid regular expression: {exc}")
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

    @classmethod
    def from_dict(cls, data: dict[str, Any], fault_id: str, seed: int) -> Fault:
        clean = validate_rule(data)
        values = {k: v for k, v in clean.items() if v is not None}
        if "method" in values:
            values["method"] = values["method"].upper()
        fault = cls(id=fault_id, **values)
        fault._rng = random.Random(f"{seed}:{fault_id}")
        return fault

    @property
    def finishes(self) -> bool:
        """True when the fault answers (or drops) the request itself: no handler runs."""
        return self.kind != "latency"

    def describe(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("_rng", None)
        return {k: v for k, v in data.items() if v not in (None, "")}

    def matches(self, api: str, operation_id: str, method: str, path: str) -> bool:
        if self.api and self.api != api:
            return False
        if self.operation_id and self.operation_id != operation_id:
            return False
        if self.method and self.method != method.upper():
            return False
        if self.path and not re.search(self.path, path):
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
        return max(0.0, ms) / 1000.0

    async def apply(
        self,
        receive: Callable,
        send: Callable,
        error_bytes: Callable[[int, str], bytes],
        headers: dict[str, str] | None = None,
    ) -> bool:
        """Act on the connection. True when the request is finished (no handler runs).
        `headers` go on an answered fault (the request id every response carries)."""
        if self.latency_ms or self.distribution:
            await asyncio.sleep(self.delay_seconds())
        if self.kind == "latency":
            return False
        if self.kind == "status":
            await _drain(receive)
            body = error_bytes(int(self.status), self.message)
            raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
            raw += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in (headers or {}).items()]
            status = int(self.status)
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
    def __init__(self, seed: int = 0) -> None:
        self.seed = seed
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
            self._headers += 1
            try:
                fault = Fault.from_dict(parse_header(header), f"header-{self._headers}", self.seed)
            except FaultError as exc:
                raise ApiError(400, f"invalid X-Mock-Fault header {header!r}: {exc}") from None
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
        if re.fullmatch(r"-?\d+", raw):
            out[key] = int(raw)
        elif re.fullmatch(r"-?\d+\.\d*|-?\.\d+", raw):
            out[key] = float(raw)
        else:
            out[key] = raw
    return out
