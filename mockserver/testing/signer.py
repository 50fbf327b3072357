"""An httpx auth that signs requests the way Hubby's partner API requires (HMAC-SHA256)."""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Generator
from typing import Any

import httpx


class HubbySigner(httpx.Auth):
    """Signs each request as Hubby requires: hex HMAC-SHA256 of
    timestamp(ms) + METHOD + path[?query] with the partner secret, sent as
    `x-api-key`, `x-timestamp`, `x-signature`.

    `clock_ms` gives the timestamp (default: wall time); the plugin passes the fake's clock
    so signatures stay inside the window when a test has moved the clock."""

    def __init__(self, api_key: str, secret: str, *, clock_ms: Any = None, include_api_prefix: bool = True) -> None:
        self.api_key = api_key
        self.secret = secret
        self.clock_ms = clock_ms or (lambda: int(time.time() * 1000))
        self.include_api_prefix = include_api_prefix

    def sign(self, method: str, path: str, query: str = "", timestamp: int | str | None = None) -> dict[str, str]:
        """The three headers for one request (`path` as sent, e.g. "/api/bookings")."""
        ts = str(self.clock_ms() if timestamp is None else timestamp)
        message = f"{ts}{method.upper()}{path}" + (f"?{query}" if query else "")
        signature = hmac.new(self.secret.encode(), message.encode(), hashlib.sha256).hexdigest()
        return {"x-api-key": self.api_key, "x-timestamp": ts, "x-signature": signature}

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        path = request.url.path
        marker = "/hubby"
        if marker in path:
            path = path[path.index(marker) + len(marker) :]  # "/api/bookings"
        if not self.include_api_prefix and path.startswith("/api/"):
            path = path[len("/api") :]
        query = request.url.query.decode() if isinstance(request.url.query, bytes) else request.url.query
        request.headers.update(self.sign(request.method, path, query))
        yield request
