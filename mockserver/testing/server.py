"""Run a real mock server from Python: a uvicorn server on a free loopback port in a thread.

Used by the pytest plugin, the project's own tests, the contract harness and the benches.

    with MockServer(scenario="empty", clock="frozen") as server:
        server.credentials()["hubble"]["token"]
        server.advance(3600)

`ServerThread` serves any ASGI app the same way (the fault tests serve a tiny API with it).
"""

from __future__ import annotations

import asyncio
import json
import ssl
import sys
import threading
import time
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

import httpx
import orjson
import uvicorn

from ..server_protocol import uvicorn_options
from ..settings import Settings

if TYPE_CHECKING:
    from ..kernel.runtime import Runtime


# The control client only talks plain HTTP to 127.0.0.1: a TLS context without any trusted CA
# (nothing would verify, so nothing is trusted) instead of httpx's default, whose CA bundle
# takes tens of ms to load on every server start.
_NO_CA_TLS = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)

# While a server thread runs in this process, the interpreter hands the GIL between threads
# every 0.5 ms instead of every 5 ms: a test's client and the server take turns on each
# request, and at the default interval each turn can wait up to 5 ms (a one-GET test took
# ~10 ms instead of ~2). Restored when the last server thread stops.
SWITCH_INTERVAL = 0.0005
_switch_lock = threading.Lock()
_switch_users = 0
_switch_saved: float | None = None


def _fast_switching(on: bool) -> None:
    global _switch_users, _switch_saved
    with _switch_lock:
        if on:
            _switch_users += 1
            if _switch_users == 1:
                _switch_saved = sys.getswitchinterval()
                sys.setswitchinterval(min(_switch_saved, SWITCH_INTERVAL))
        elif _switch_users > 0:
            _switch_users -= 1
            if _switch_users == 0 and _switch_saved is not None:
                sys.setswitchinterval(_switch_saved)
                _switch_saved = None


class ServerThread:
    """An ASGI app served by uvicorn on 127.0.0.1 (a free port unless given), in a daemon thread.

    `http` picks uvicorn's HTTP protocol: "h11", "httptools" or "auto"."""

    def __init__(self, app: Any, *, host: str = "127.0.0.1", port: int = 0, http: str = "auto", log_level: str = "warning") -> None:
        self.app = app
        self.host = host
        self.http = http
        self.port = port
        self.log_level = log_level
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    def start(self, timeout: float = 30.0) -> ServerThread:
        config = uvicorn.Config(
            self.app, host=self.host, port=self.port, log_level=self.log_level,
            lifespan="on", timeout_graceful_shutdown=5, log_config=None, **uvicorn_options(self.http),
        )  # fmt: skip  (log_config=None: leave the host process's logging alone)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="mockserver", daemon=True)
        _fast_switching(True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive():
                self.stop()
                raise RuntimeError("the server thread stopped during start-up (see the log above)")
            if time.monotonic() > deadline:
                self._server.should_exit = True
                self.stop()
                raise RuntimeError(f"the server did not start within {timeout} s")
            time.sleep(0.005)
        self.port = self._server.servers[0].sockets[0].getsockname()[1]
        return self

    def stop(self, timeout: float = 15.0) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=timeout)
            _fast_switching(False)
        self._thread = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def loop(self) -> asyncio.AbstractEventLoop | None:
        """The server thread's event loop (None before start)."""
        if self._server is None or not self._server.started:
            return None
        for server in self._server.servers:
            return server.get_loop()
        return None

    def run(self, coro: Coroutine[Any, Any, Any], timeout: float = 120.0) -> Any:
        """Run a coroutine on the server's event loop and return its result."""
        loop = self.loop
        if loop is None:
            coro.close()
            raise RuntimeError("the server is not running")
        return asyncio.run_coroutine_threadsafe(coro, loop).result(timeout=timeout)

    def __enter__(self) -> ServerThread:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class MockServer:
    """A live mock server (the whole product, in this process) and a control client for it."""

    def __init__(self, settings: Settings | None = None, *, http: str = "auto", **overrides: Any) -> None:
        from ..app import create_app  # noqa: PLC0415 - importing the APIs is the slow part

        base = settings or Settings.from_env()
        self.settings = base.with_(host="127.0.0.1", port=0, **overrides)
        self.app = create_app(self.settings)
        self.runtime: Runtime = self.app.state.runtime
        self._thread = ServerThread(self.app, http=http)
        self.port = 0
        self.control: httpx.Client | None = None
        self._credentials: dict[str, Any] | None = None

    # -- lifecycle ----------------------------------------------------------------------
    def start(self, timeout: float = 30.0) -> MockServer:
        self._thread.start(timeout)
        self.port = self._thread.port
        self.settings.port = self.port  # credentials() and printed URLs name the real port
        self.control = httpx.Client(
            base_url=f"{self.base_url}/_mock", headers=self.admin_headers(), timeout=120, trust_env=False, verify=_NO_CA_TLS
        )  # fmt: skip
        return self

    def stop(self) -> None:
        if self.control is not None:
            self.control.close()
            self.control = None
        self._thread.stop()

    def __enter__(self) -> MockServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def admin_headers(self) -> dict[str, str]:
        token = self.settings.admin_token
        return {"Authorization": f"Bearer {token}"} if token else {}

    # -- where things are ---------------------------------------------------------------
    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url_of(self, api: str) -> str:
        """Where an API's vendor paths start on this server (its mount in the registry)."""
        from ..apis import api_named  # noqa: PLC0415  (the API packages load with the app, not before)

        return api_named(api).url(self.base_url)

    # documented conveniences, one per API (the same as url_of(name))
    hubble_url = property(lambda self: self.url_of("hubble"), doc="url_of('hubble')")
    hubby_url = property(lambda self: self.url_of("hubby"), doc="url_of('hubby')")
    bumblebee_url = property(lambda self: self.url_of("bumblebee"), doc="url_of('bumblebee')")

    # -- control plane ------------------------------------------------------------------
    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        """One control-plane call; a 4xx/5xx raises with the server's explanation."""
        assert self.control is not None, "start() the server first"
        response = self.control.request(method, path, **kwargs)
        if response.status_code >= 400:
            raise RuntimeError(f"control call {method} /_mock{path} failed: {response.status_code} {response.text}")
        return response.json()

    _call = call

    def health(self) -> dict[str, Any]:
        return self.call("GET", "/health")

    def credentials(self) -> dict[str, Any]:
        if self._credentials is None:
            self._credentials = self.call("GET", "/credentials")
        return self._credentials

    def reset(self, api: str | None = None) -> None:
        self.call("POST", "/reset", params={"api": api} if api else None)

    def clock(self) -> dict[str, Any]:
        return self.call("GET", "/clock")

    def now(self) -> float:
        return float(self.clock()["now"])

    def freeze(self, at: float | None = None) -> dict[str, Any]:
        result = self.call("POST", "/clock", json={"mode": "frozen"})
        if at is not None and at > result["now"]:
            result = self.call("POST", "/clock", json={"set": at})
        return result

    def unfreeze(self) -> dict[str, Any]:
        return self.call("POST", "/clock", json={"mode": "real"})

    def reset_clock(self) -> dict[str, Any]:
        """Back to the clock the server started with (wall time in real mode)."""
        return self.call("POST", "/clock", json={"reset": True})

    def advance(self, seconds: float) -> dict[str, Any]:
        """Move the clock forward, firing every timer (webhook retries...) on the way."""
        return self.call("POST", "/clock", json={"advance_seconds": seconds})

    def set_time(self, when: float) -> dict[str, Any]:
        return self.call("POST", "/clock", json={"set": when})

    def requests(self, **filters: Any) -> list[dict[str, Any]]:
        return self.call("GET", "/requests", params=filters)["requests"]

    def clear_requests(self) -> None:
        self.call("DELETE", "/requests")

    def deliveries(self, **filters: Any) -> list[dict[str, Any]]:
        return self.call("GET", "/webhooks/deliveries", params=filters)["deliveries"]

    def snapshot(self) -> dict[str, Any]:
        """GET /_mock/state, read in this process (the server's thread is ours): the same
        document without sending MiBs through a socket twice."""
        raw = self._thread.run(self._state_bytes())
        try:  # orjson reads it several times faster than json
            return orjson.loads(raw)
        except orjson.JSONDecodeError:  # integers beyond 64 bits
            return json.loads(raw)

    async def _state_bytes(self) -> bytes:
        from ..kernel.spec import dumps  # noqa: PLC0415

        return dumps(self.runtime.snapshot())

    def restore(self, state: dict[str, Any]) -> None:
        """PUT /_mock/state in this process: restored on the server's loop from the caller's
        document (kernel/statedoc.py: rows the server already holds are not copied, the
        others are); a document the endpoint's checks must judge is encoded and checked as
        the endpoint checks a body, and one it would refuse raises RuntimeError with its 400."""
        from ..control.common import ControlError, parse_json  # noqa: PLC0415
        from ..control.routes import restore_state  # noqa: PLC0415
        from ..kernel.statedoc import Unusual, owned  # noqa: PLC0415

        async def from_document() -> None:
            await self._restore(restore_state, owned(state, self.runtime.store))

        try:
            try:
                self._thread.run(from_document())
                return
            except Unusual:
                pass
            try:
                content = orjson.dumps(state)
            except TypeError:  # integers beyond 64 bits, lone surrogates: json says which
                content = json.dumps(state).encode("utf-8", "surrogatepass")
            data = parse_json(content)  # a copy: the caller's dict is never shared with the store
            self._thread.run(self._restore(restore_state, data))
        except ControlError as exc:
            body = json.dumps({"error": exc.message})
            raise RuntimeError(f"control call PUT /_mock/state failed: {exc.status} {body}") from None

    async def _restore(self, restore_state: Any, data: Any) -> None:
        await restore_state(self.runtime, data)
        self.runtime.store.flush()  # on disk before returning, as the endpoint's answer is (--state)

    def add_fault(self, **rule: Any) -> dict[str, Any]:
        return self.call("POST", "/faults", json=rule)["faults"][0]

    def faults(self) -> list[dict[str, Any]]:
        return self.call("GET", "/faults")["faults"]

    def clear_faults(self) -> None:
        self.call("DELETE", "/faults")

    def simulate(self, api: str, path: str, body: Any = None) -> Any:
        return self.call("POST", f"/{api}/{path.lstrip('/')}", json=body if body is not None else {})

    def wait_idle(self, timeout: float = 120.0) -> None:
        """Wait until webhook attempts already under way have finished."""
        if self._thread.loop is not None:
            self._thread.run(self.runtime.timers.drain(), timeout=timeout)
