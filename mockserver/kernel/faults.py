"""Fault injection: make matching requests slow, fail, or break the connection.

Rules come from `POST /_mock/faults` (kept until deleted or used up) or, for one request,
from an `X-Mock-Fault` header such as `status=503`, `kind=reset`, `latency=250`, or
`status=429; retry_after=7`. Kinds:

- latency: wait, then serve normally (`latency_ms` fixed, or `distribution`:
  {"type": "uniform", "lower": ms, "upper": ms} / {"type": "lognormal", "median": ms, "sigma": s})
- status: answer `status` with the API's own error body (429 adds `Retry-After`)
- reset: close the TCP connection abruptly without an answer
- empty: close the connection cleanly without sending anything
- truncated: promise a body, send half of it, close
"""

from __future__ import annotations

import asyncio
import math
import random
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

KINDS = ("latency", "status", "reset", "empty", "truncated")


class FaultError(ValueError):
    pass


@dataclass
class Fault:
    kind: str
    id: str = ""
    api: str | None = None
    operation_id: str | None = None
    path: str | None = None  # a regular expression searched in the path below the API mount
    method: str | None = None
    status: int = 0
    retry_after: int | None = None
    latency_ms: float = 0.0
    distribution: dict[str, Any] | None = None
    count: int | None = None  # how many more requests it applies to (None: unlimited)
    probability: float = 1.0
    message: str = "fault injected by the mock server"
    hits: int = 0
    _rng: random.Random = field(default_factory=lambda: random.Random(0), repr=False)

    @classmethod
    def from_dict(cls, data: dict[str, Any], fault_id: str, seed: int) -> Fault:
        allowed = {
            "kind", "api", "operation_id", "path", "method", "status", "retry_after", "latency_ms",
            "distribution", "count", "probability", "message",
        }
        unknown = set(data) - allowed
        if unknown:
            raise FaultError(f"unknown fault fields: {sorted(unknown)}")
        kind = data.get("kind") or ("status" if "status" in data else "latency" if "latency_ms" in data or "distribution" in data else None)
        if kind not in KINDS:
            raise FaultError(f"kind must be one of {list(KINDS)}")
        fault = cls(kind=kind, id=fault_id, **{k: v for k, v in data.items() if k != "kind"})
        if kind == "status" and not (400 <= int(fault.status) <= 599):
            raise FaultError("a status fault needs status between 400 and 599")
        if not (0.0 <= float(fault.probability) <= 1.0):
            raise FaultError("probability must be between 0 and 1")
        if fault.count is not None and int(fault.count) < 1:
            raise FaultError("count must be at least 1")
        if fault.path:
            try:
                re.compile(fault.path)
            except re.error as exc:
                raise FaultError(f"path is not a valid regular expression: {exc}") from exc
        if fault.distribution is not None:
            dtype = fault.distribution.get("type")
            if dtype not in ("fixed", "uniform", "lognormal"):
                raise FaultError("distribution.type must be fixed, uniform or lognormal")
        fault.status = int(fault.status) if fault.status else (0 if kind != "status" else fault.status)
        fault._rng = random.Random(f"{seed}:{fault_id}")
        return fault

    def describe(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("_rng", None)
        return {k: v for k, v in data.items() if v not in (None, "")}

    def matches(self, api: str, operation_id: str, method: str, path: str) -> bool:
        if self.api and self.api != api:
            return False
        if self.operation_id and self.operation_id != operation_id:
            return False
        if self.method and self.method.upper() != method:
            return False
        if self.path and not re.search(self.path, path):
            return False
        return True

    def delay_seconds(self) -> float:
        d = self.distribution
        if not d or d.get("type") == "fixed":
            ms = float((d or {}).get("value", self.latency_ms))
        elif d["type"] == "uniform":
            ms = self._rng.uniform(float(d.get("lower", 0)), float(d.get("upper", 0)))
        else:
            ms = float(d.get("median", 100)) * math.exp(self._rng.gauss(0, float(d.get("sigma", 0.5))))
        return max(0.0, ms) / 1000.0

    async def apply(self, receive: Callable, send: Callable, error_bytes: Callable[[int, str], bytes]) -> bool:
        """Act on the connection. True when the request is finished (no handler runs)."""
        if self.kind == "latency":
            await asyncio.sleep(self.delay_seconds())
            return False
        if self.kind == "status":
            if self.latency_ms or self.distribution:
                await asyncio.sleep(self.delay_seconds())
            body = error_bytes(int(self.status), self.message)
            headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
            if int(self.status) == 429 or self.retry_after is not None:
                headers.append((b"retry-after", str(self.retry_after if self.retry_after is not None else 1).encode()))
            await send({"type": "http.response.start", "status": int(self.status), "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return True
        transport = _transport(receive)
        if self.kind == "truncated":
            body = error_bytes(500, self.message) * 4
            await send({
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
            })
            await send({"type": "http.response.body", "body": body[: len(body) // 2], "more_body": True})
            await asyncio.sleep(0.01)
        if transport is not None:
            if self.kind == "reset":
                transport.abort()
            else:
                transport.close()
            return True
        raise ConnectionAbortedError("fault injected: connection dropped")


def _transport(receive: Callable) -> Any:
    """The server's socket transport, when the ASGI server exposes it (uvicorn does)."""
    owner = getattr(receive, "__self__", None)
    return getattr(owner, "transport", None)


class FaultRegistry:
    def __init__(self, seed: int = 0) -> None:
        self.seed = seed
        self.rules: list[Fault] = []
        self._n = 0

    def add(self, data: dict[str, Any]) -> Fault:
        self._n += 1
        fault = Fault.from_dict(data, f"fault-{self._n}", self.seed)
        self.rules.append(fault)
        return fault

    def clear(self) -> None:
        self.rules.clear()

    def match(self, api: str, operation_id: str, method: str, path: str, headers: Any) -> Fault | None:
        header = headers.get("x-mock-fault") if headers is not None else None
        if header:
            try:
                return Fault.from_dict(parse_header(header), "header", self.seed)
            except (FaultError, TypeError, ValueError):
                return None
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
    """`status=503; retry_after=5` -> {"status": 503, "retry_after": 5}."""
    out: dict[str, Any] = {}
    for part in re.split(r"[;,]", value):
        if not part.strip():
            continue
        key, _, raw = part.partition("=")
        key, raw = key.strip(), raw.strip()
        if key == "latency":
            key = "latency_ms"
        if raw.replace(".", "", 1).isdigit():
            out[key] = float(raw) if "." in raw else int(raw)
        else:
            out[key] = raw
    return out
