"""Run a real mock server from Python: a uvicorn server on a free loopback port in a thread.

Used by the pytest plugin, the project's own tests, the contract harness and the benches.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import threading
import time
from collections.abc import Generator
from typing import Any

import httpx
import uvicorn

from .app import create_app
from .settings import Settings


class MockServer:
    """A live server and a control client for it."""

    def __init__(self, settings: Settings | None = None, **overrides: Any) -> None:
        base = settings or Settings.from_env()
        self.settings = base.with_(host="127.0.0.1", port=0, **overrides)
        self.app = create_app(self.settings)
        self.runtime = self.app.state.runtime
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.port = 0
        self.control: httpx.Client | None = None

    # -- lifecycle ----------------------------------------------------------------------
    def start(self, timeout: float = 20.0) -> MockServer:
        config = uvicorn.Config(self.app, host="127.0.0.1", port=0, log_level="warning", lifespan="on")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="mockserver", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the mock server did not start")
            time.sleep(0.01)
        sock = self._server.servers[0].sockets[0]
        self.port = sock.getsockname()[1]
        self.settings.port = self.port
        self.control = httpx.Client(base_url=f"{self.base_url}/_mock", headers=self._admin_headers(), timeout=60)
        return self

    def stop(self) -> None:
        if self.control is not None:
            self.control.close()
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=15)

    def __enter__(self) -> MockServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _admin_headers(self) -> dict[str, str]:
        token = self.settings.admin_token
        return {"Authorization": f"Bearer {token}"} if token else {}

    # -- where things are ---------------------------------------------------------------
    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def hubble_url(self) -> str:
        return f"{self.base_url}/hubble"

    @property
    def hubby_url(self) -> str:
        return f"{self.base_url}/hubby/api"

    @property
    def bumblebee_url(self) -> str:
        return f"{self.base_url}/bumblebee"

    # -- control plane ------------------------------------------------------------------
    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        assert self.control is not None, "start() the server first"
        response = self.control.request(method, path, **kwargs)
        if response.status_code >= 400:
            raise RuntimeError(f"control call {method} {path} failed: {response.status_code} {response.text}")
        return response.json()

    def credentials(self) -> dict[str, Any]:
        return self._call("GET", "/credentials")

    def reset(self, api: str | None = None) -> None:
        self._call("POST", "/reset", params={"api": api} if api else None)

    def clock(self) -> dict[str, Any]:
        return self._call("GET", "/clock")

    def freeze(self, at: float | None = None) -> dict[str, Any]:
        result = self._call("POST", "/clock", json={"mode": "frozen"})
        if at is not None and at > result["now"]:
            result = self._call("POST", "/clock", json={"set": at})
        return result

    def unfreeze(self) -> dict[str, Any]:
        return self._call("POST", "/clock", json={"mode": "real"})

    def advance(self, seconds: float) -> dict[str, Any]:
        return self._call("POST", "/clock", json={"advance_seconds": seconds})

    def requests(self, **filters: Any) -> list[dict[str, Any]]:
        return self._call("GET", "/requests", params=filters)["requests"]

    def clear_requests(self) -> None:
        self._call("DELETE", "/requests")

    def deliveries(self, **filters: Any) -> list[dict[str, Any]]:
        return self._call("GET", "/webhooks/deliveries", params=filters)["deliveries"]

    def snapshot(self) -> dict[str, Any]:
        return self._call("GET", "/state")

    def restore(self, state: dict[str, Any]) -> None:
        self._call("PUT", "/state", json=state)

    def add_fault(self, **rule: Any) -> dict[str, Any]:
        return self._call("POST", "/faults", json=rule)["faults"][0]

    def clear_faults(self) -> None:
        self._call("DELETE", "/faults")

    def simulate(self, api: str, path: str, body: Any = None) -> Any:
        return self._call("POST", f"/{api}/{path.lstrip('/')}", json=body if body is not None else {})

    def wait_idle(self) -> None:
        """Wait until webhook attempts already under way have finished."""
        loop = self.runtime.loop
        if loop is not None:
            asyncio.run_coroutine_threadsafe(self.runtime.timers.drain(), loop).result(timeout=120)


# -- clients ---------------------------------------------------------------------------
class HubbySigner(httpx.Auth):
    """Signs each request as Hubby requires: hex HMAC-SHA256 of
    timestamp(ms) + METHOD + path[?query] with the partner secret."""

    def __init__(self, api_key: str, secret: str, *, clock_ms: Any = None, include_api_prefix: bool = True) -> None:
        self.api_key = api_key
        self.secret = secret
        self.clock_ms = clock_ms or (lambda: int(time.time() * 1000))
        self.include_api_prefix = include_api_prefix

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        timestamp = str(self.clock_ms())
        path = request.url.path
        marker = "/hubby"
        if marker in path:
            path = path[path.index(marker) + len(marker) :]  # "/api/bookings"
        if not self.include_api_prefix and path.startswith("/api/"):
            path = path[len("/api") :]
        query = request.url.query.decode() if isinstance(request.url.query, bytes) else request.url.query
        message = f"{timestamp}{request.method.upper()}{path}" + (f"?{query}" if query else "")
        signature = hmac.new(self.secret.encode(), message.encode(), hashlib.sha256).hexdigest()
        request.headers["x-api-key"] = self.api_key
        request.headers["x-timestamp"] = timestamp
        request.headers["x-signature"] = signature
        yield request
