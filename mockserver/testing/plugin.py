"""pytest fixtures for projects that test against the fake (entry point `pytest11`).

Fixtures (names are stable):

- `mockserver` (session): a real server on a free loopback port, started once per session
  (once per worker under pytest-xdist: each worker is its own process with its own server).
  A `MockServer`: `base_url`, `credentials()`, `reset()`, `advance()`, `requests()`,
  `deliveries()`, `add_fault()`, `snapshot()`/`restore()`, `simulate()`...
- `hubble_api`, `hubby_api`, `bumblebee` (alias `bumblebee_api`) (function): that API's state reset to the scenario
  before the test (plus faults and the request journal cleared), its credentials, a ready
  `client` (httpx; Hubby's signs every request) and helpers (`add_device`, `add_webhook`,
  `transmit`, `create_booking`, `add_node`, `report`...).
- `webhook_sink` (function): a real HTTP receiver on 127.0.0.1 that records requests and
  answers with scripted statuses, delays or disconnects (`mockserver.testing.WebhookSink`).
- `mock_clock` (function): the server clock, frozen for the test; `advance(seconds)` plays
  every timer (webhook retries...) that falls due on the way. Afterwards the clock goes
  back to how the server started.
- In-process mode, for clients that take an ASGI transport: `mockserver_app` (session, the
  ASGI app itself, not served on a socket) and `mockserver_asgi` (function: state reset,
  `transport` = `httpx.ASGITransport`, `client()` = an `httpx.AsyncClient`, `await advance()`).

Options: `--mockserver-seed N`, `--mockserver-scenario NAME|PATH`, `--mockserver-lenient`
(keep the fake's own spec-breaking responses instead of turning them into 500s). The
`MOCKSERVER_*` environment variables (credentials, admin token...) apply as for `serve`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from ..settings import Settings
from .handles import ApiHandle, BumblebeeApi, HubbleApi, HubbyApi, _client, _tls
from .server import MockServer
from .webhook_sink import WebhookSink

__all__ = ["ApiHandle", "BumblebeeApi", "HubbleApi", "HubbyApi", "MockServer", "WebhookSink", "_client", "_tls"]


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("mockserver", "mockserver: a fake of Hubble, Hubby and Bumblebee")
    group.addoption("--mockserver-seed", type=int, default=None, help="seed for the mock server (default 1)")
    group.addoption(
        "--mockserver-scenario", default=None,
        help="scenario the mock server seeds from: a name (demo, empty, large) or a YAML path (default demo)",
    )  # fmt: skip
    group.addoption(
        "--mockserver-lenient", action="store_true", default=False,
        help="do not turn the fake's own spec-breaking responses into 500s",
    )  # fmt: skip
    group.addoption(
        "--mockserver-no-rate-limit", action="store_true", default=False,
        help="turn the APIs' rate limits off (they are on by default, as with the real APIs)",
    )  # fmt: skip


def _settings(config: pytest.Config) -> Settings:
    return Settings.from_env(
        seed=config.getoption("--mockserver-seed"),
        scenario=config.getoption("--mockserver-scenario"),
        strict=not config.getoption("--mockserver-lenient"),
        rate_limit=False if config.getoption("--mockserver-no-rate-limit") else None,
    )


def pytest_report_header(config: pytest.Config) -> str | None:
    seed = config.getoption("--mockserver-seed")
    scenario = config.getoption("--mockserver-scenario")
    if seed is None and scenario is None:
        return None
    return f"mockserver: seed={seed if seed is not None else 'default'} scenario={scenario or 'default'}"


# -- the server ------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def mockserver(request: pytest.FixtureRequest) -> Iterator[MockServer]:
    """A running mock server for the whole session (one per xdist worker)."""
    server = MockServer(_settings(request.config)).start()
    try:
        yield server
    finally:
        server.stop()


def _fresh(server: MockServer, api: str) -> None:
    """Each test starts from the scenario: this API's state, no faults, an empty journal and
    empty rate-limit buckets (they drain on the fake clock, which a test may have frozen).

    The server runs in this process, so this is one call on its event loop rather than three
    control-plane requests: what POST /_mock/reset?api=, DELETE /_mock/faults and
    DELETE /_mock/requests do, in one thread hop."""
    server._thread.run(_fresh_on_loop(server.runtime, api))


async def _fresh_on_loop(runtime: Any, api: str) -> None:
    await runtime.timers.drain()  # webhook attempts under way finish first, as for POST /_mock/reset
    runtime.reset(api)
    runtime.faults.clear()
    runtime.journal.clear()
    runtime.limiter.reset()


def _open(server: MockServer, name: str) -> Iterator[ApiHandle]:
    """What every per-API fixture does: reset that API (`_fresh`), then a handle (the
    registry's `ApiModule.handle`) around a client that authenticates as the sandbox."""
    from ..apis import api_named  # noqa: PLC0415

    handle = api_named(name).load_handle()
    _fresh(server, name)
    creds = server.credentials()[name]
    options = handle.client_options(creds, server.runtime.clock.now_ms)
    with _client(base_url=creds["base_url"], **options) as client:
        yield handle(server, client)


# The per-API fixtures. pytest finds fixtures by module-level name, so each public name is a
# line here; what it yields comes from the registry (apis/__init__.py), and loading the
# plugin imports no API. A new API's fixture is one more such function.
@pytest.fixture
def hubble_api(mockserver: MockServer) -> Iterator[ApiHandle]:
    """Hubble with its state reset: `client` (bearer token set), `org_id`, `add_device()`,
    `add_webhook(url)`, `transmit(device_id, count)`, `devices()`."""
    yield from _open(mockserver, "hubble")


@pytest.fixture
def hubby_api(mockserver: MockServer) -> Iterator[ApiHandle]:
    """Hubby with its state reset: `client` signs every request; `create_booking(**fields)`."""
    yield from _open(mockserver, "hubby")


@pytest.fixture
def bumblebee(mockserver: MockServer) -> Iterator[ApiHandle]:
    """Bumblebee with its state reset: `add_webhook(url)`, `add_node()`, `report(node_id)`."""
    yield from _open(mockserver, "bumblebee")


@pytest.fixture
def bumblebee_api(bumblebee: ApiHandle) -> ApiHandle:
    """The same as `bumblebee`, named like `hubble_api` and `hubby_api`."""
    return bumblebee


@pytest.fixture
def webhook_sink() -> Iterator[WebhookSink]:
    """A real receiver on 127.0.0.1: `url`, `script(500, 200, {"delay": 1})`, `wait_for(n)`."""
    with WebhookSink() as sink:
        yield sink


class MockClock:
    """The fake's clock, frozen. `advance(seconds)` fires every timer falling due on the way
    (webhook retries arrive at their receivers before it returns)."""

    def __init__(self, server: MockServer) -> None:
        self.server = server

    def now(self) -> float:
        return self.server.now()

    def advance(self, seconds: float) -> dict[str, Any]:
        return self.server.advance(seconds)

    def set(self, when: float) -> dict[str, Any]:
        """Jump forward to a Unix time (firing timers on the way)."""
        return self.server.set_time(when)

    def tick(self) -> dict[str, Any]:
        """Fire what is due now without moving the clock."""
        return self.server.advance(0)


@pytest.fixture
def mock_clock(mockserver: MockServer) -> Iterator[MockClock]:
    """The server clock, frozen for this test; `mock_clock.advance(seconds)` fast-forwards."""
    mockserver.freeze()
    try:
        yield MockClock(mockserver)
    finally:
        mockserver.wait_idle()
        mockserver.reset_clock()


# -- in-process mode ----------------------------------------------------------------------------
class InProcess:
    """The app in this process, no socket: for clients that take an ASGI transport.

    Background timers do not run here (there is no server loop): `await advance(seconds)`
    fires what falls due, in the test's own event loop. Connection faults (reset, empty,
    truncated) surface as a `FaultDisconnect` exception."""

    base_url = "http://mockserver.local"

    def __init__(self, app: Any) -> None:
        self.app = app
        self.runtime = app.state.runtime
        self.transport = httpx.ASGITransport(app=app)

    @property
    def credentials(self) -> dict[str, Any]:
        from ..control.routes import credentials  # noqa: PLC0415

        return credentials(self.runtime)

    def client(self, api: str | None = None, **kwargs: Any) -> httpx.AsyncClient:
        """An AsyncClient on the app; with `api` its base URL and credentials are set."""
        from .. import apis  # noqa: PLC0415

        base = self.base_url
        s = self.runtime.settings
        known = {a.name: a for a in apis.REGISTRY}
        if api in known:
            base = known[api].url(base)
            creds = self.credentials[api]
            for key, value in known[api].load_handle().client_options(creds, self.runtime.clock.now_ms).items():
                kwargs.setdefault(key, value)
        elif s.admin_token:
            kwargs.setdefault("headers", {"Authorization": f"Bearer {s.admin_token}"})
        return httpx.AsyncClient(transport=self.transport, base_url=base, **kwargs)

    async def advance(self, seconds: float) -> int:
        return await self.runtime.move_clock(by=seconds)

    def reset(self) -> None:
        self.runtime.faults.clear()
        self.runtime.journal.clear()
        self.runtime.reset()


@pytest.fixture(scope="session")
def mockserver_app(request: pytest.FixtureRequest) -> Any:
    """The ASGI app (Starlette), built from the same options, not served on a socket."""
    from ..app import create_app  # noqa: PLC0415

    return create_app(_settings(request.config).with_(clock="frozen"))


@pytest.fixture
def mockserver_asgi(mockserver_app: Any) -> InProcess:
    """In-process access with the state reset: `transport`, `client(api)`, `await advance(s)`."""
    handle = InProcess(mockserver_app)
    handle.reset()
    return handle
