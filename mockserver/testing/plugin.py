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

import functools
import ssl
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from ..settings import Settings
from .server import MockServer
from .signer import HubbySigner
from .webhook_sink import WebhookSink


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


class ApiHandle:
    """One API of the running fake: where it is, its credentials, a ready client, helpers."""

    api = ""

    def __init__(self, server: MockServer, client: httpx.Client) -> None:
        self.server = server
        self.client = client
        self.credentials: dict[str, Any] = server.credentials()[self.api]
        self.base_url: str = self.credentials["base_url"]

    def __getattr__(self, name: str) -> Any:
        credentials = self.__dict__.get("credentials") or {}
        if name in credentials:
            return credentials[name]
        raise AttributeError(f"{type(self).__name__} has no attribute {name!r}")

    def simulate(self, path: str, body: Any = None) -> Any:
        """POST /_mock/<api>/<path>: make the world do something (see each API's docs)."""
        return self.server.simulate(self.api, path, body)

    def control(self, method: str, path: str, **kwargs: Any) -> Any:
        """Any call under /_mock/<api>/."""
        return self.server.call(method, f"/{self.api}/{path.lstrip('/')}", **kwargs)

    def deliveries(self, **filters: Any) -> list[dict[str, Any]]:
        """This API's outgoing webhook messages and their attempts, newest first."""
        return self.server.deliveries(api=self.api, **filters)

    def requests(self, **filters: Any) -> list[dict[str, Any]]:
        """This API's entries in the request journal, newest first."""
        return self.server.requests(api=self.api, **filters)

    def _ok(self, response: httpx.Response) -> Any:
        if response.status_code >= 400:
            raise AssertionError(
                f"{response.request.method} {response.request.url} answered {response.status_code}: {response.text}"
            )
        return response.json() if response.content else None


class HubbleApi(ApiHandle):
    """`client` has base URL `.../hubble` and the sandbox bearer token; `org_id` is the
    sandbox organization; `org_path("/devices")` is `/api/org/<org_id>/devices`."""

    api = "hubble"

    def org_path(self, path: str = "", version: int = 1) -> str:
        prefix = "/api/v2" if version == 2 else "/api"
        return f"{prefix}/org/{self.credentials['org_id']}{path}"

    def add_devices(self, count: int = 1, *, encryption: str = "AES-256-CTR", names: list[str] | None = None, **fields: Any) -> list[dict[str, Any]]:
        """Register devices through the API (POST /api/v2/org/{org}/devices); each with its key."""
        body: dict[str, Any] = {"n_devices": count, "encryption": encryption, **fields}
        if names is not None:
            body["names"] = names
        result = self._ok(self.client.post(self.org_path("/devices", version=2), json=body))
        return result["devices"] if isinstance(result, dict) and "devices" in result else result

    def add_device(self, name: str | None = None, **fields: Any) -> dict[str, Any]:
        return self.add_devices(1, names=[name] if name is not None else None, **fields)[0]

    def add_webhook(self, url: str, name: str = "test", max_batch_size: int | None = None) -> dict[str, Any]:
        """Register a packet webhook for the org; the answer includes its `secret`."""
        body: dict[str, Any] = {"url": url, "name": name}
        if max_batch_size is not None:
            body["max_batch_size"] = max_batch_size
        return self._ok(self.client.post(self.org_path("/webhooks"), json=body))

    def transmit(self, device_ids: str | list[str] | None = None, count: int = 1, **fields: Any) -> dict[str, Any]:
        """The devices send `count` packets each (POST /_mock/hubble/packets); they reach the
        packet stream and the org's webhooks."""
        body: dict[str, Any] = {"count": count, **fields}
        if device_ids is not None:
            body["device_ids"] = [device_ids] if isinstance(device_ids, str) else list(device_ids)
        return self.simulate("/packets", body)

    def devices(self) -> list[dict[str, Any]]:
        return self._ok(self.client.get(self.org_path("/devices")))["devices"]


class HubbyApi(ApiHandle):
    """`client` has base URL `.../hubby/api` and signs every request (x-api-key,
    x-timestamp from the fake's clock, x-signature); `signer` signs by hand."""

    api = "hubby"

    def __init__(self, server: MockServer, client: httpx.Client, signer: HubbySigner) -> None:
        super().__init__(server, client)
        self.signer = signer

    def create_booking(self, **fields: Any) -> dict[str, Any]:
        """POST /bookings with sensible defaults (departure in 30 days, one 1GB package for
        Turkey); any field given replaces the default."""
        import datetime as dt  # noqa: PLC0415

        now = dt.datetime.fromtimestamp(self.server.runtime.clock.now(), dt.UTC)
        body: dict[str, Any] = {
            "departure_date": (now + dt.timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "return_date": (now + dt.timedelta(days=44)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "booking_id": f"TEST-{self.server.runtime.next_request_id()[:8]}",
            "email": "traveller@example.com",
            "first_name": "Ada",
            "last_name": "Lovelace",
            "package_specifications": [{"destination": "TUR", "package_type": "data-limited", "size": "1GB"}],
            **fields,
        }
        return self._ok(self.client.post("/bookings", json=body))

    def bookings(self, **params: Any) -> Any:
        """GET /bookings with these query parameters (signed); the whole answer."""
        return self._ok(self.client.get("/bookings", params=params))

    def add_webhook(self, url: str, *, webhook_api_key: str | None = None, scenario_events: bool = False) -> dict[str, Any]:
        """Register the sandbox partner's webhook URL (PUT /_mock/hubby/webhook). By default it
        hears only about bookings the test creates: the scenario's own bookings, whose reminders
        fire when a test moves the clock, are logged in `events()` but not sent to it
        (`scenario_events=True` sends those too, as `mockserver serve` does)."""
        body: dict[str, Any] = {"url": url, "scenario_events": scenario_events}
        if webhook_api_key is not None:
            body["webhook_api_key"] = webhook_api_key
        return self.control("PUT", "/webhook", json=body)

    def remove_webhook(self) -> dict[str, Any]:
        """DELETE /_mock/hubby/webhook: pending deliveries are canceled."""
        return self.control("DELETE", "/webhook")

    def redeem(self, code: str, *, external_user_id: str | None = None, destination: str | None = None) -> dict[str, Any]:
        """A traveller redeems a promo code: `{"promo_code": ..., "esim": ...}`."""
        body = {k: v for k, v in {"external_user_id": external_user_id, "destination": destination}.items() if v}
        return self.simulate(f"/promo-codes/{code}/redeem", body)

    def install(self, iccid: str) -> dict[str, Any]:
        """The traveller installs the eSIM (sends esim.installed)."""
        return self.simulate(f"/esims/{iccid}/install", {})["esim"]

    def remove(self, iccid: str) -> dict[str, Any]:
        """The traveller removes the eSIM (sends esim.removed)."""
        return self.simulate(f"/esims/{iccid}/remove", {})["esim"]

    def activate(self, iccid: str, package_id: str | None = None) -> dict[str, Any]:
        """The eSIM's next (or the given) package becomes active (sends package.activated)."""
        return self.simulate(f"/esims/{iccid}/activate", {"package_id": package_id} if package_id else {})["esim"]

    def consume(self, iccid: str, *, bytes: int | None = None, percent: float | None = None,
                package_id: str | None = None) -> dict[str, Any]:  # fmt: skip
        """The traveller uses data: `bytes=N` or `percent=P` of the active package (usage events)."""
        body: dict[str, Any] = {"bytes": bytes} if bytes is not None else {"percent": percent}
        if package_id:
            body["package_id"] = package_id
        return self.simulate(f"/esims/{iccid}/consume", body)["esim"]

    def events(self, **filters: Any) -> list[dict[str, Any]]:
        """Every state change and the webhook message it produced (filters: type, booking, partner)."""
        return self.control("GET", "/events", params=filters)["events"]


class BumblebeeApi(ApiHandle):
    """`client` has base URL `.../bumblebee` (the sandbox webhook configuration API)."""

    api = "bumblebee"

    DATA_TYPES = (
        "battery_level/update",
        "geo_location/create",
        "temperature/create",
        "sensor_value/create",
        "sigfox_message_info/create",
    )

    def add_webhook(self, url: str, data_types: list[str] | tuple[str, ...] = DATA_TYPES, **fields: Any) -> dict[str, Any]:
        """Configure a webhook (POST /bumblebee/webhooks), by default for every data type."""
        body: dict[str, Any] = {"url": url, "data_types": list(data_types), **fields}
        return self._ok(self.client.post("/webhooks", json=body))

    def add_node(self, **fields: Any) -> dict[str, Any]:
        """A tracker node in the world (POST /_mock/bumblebee/nodes)."""
        return self.simulate("/nodes", fields)

    def report(self, node_id: str, **reading: Any) -> dict[str, Any]:
        """The node sends one Sigfox message; every matching webhook gets its bodies."""
        return self.simulate(f"/nodes/{node_id}/report", reading)


@functools.cache
def _tls() -> ssl.SSLContext:
    """One TLS context for every client the fixtures open: building one costs tens of ms
    (loading CA certificates), which would otherwise be paid in every test."""
    return ssl.create_default_context()


def _client(**kwargs: Any) -> httpx.Client:
    return httpx.Client(timeout=30, trust_env=False, verify=_tls(), **kwargs)


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


@pytest.fixture
def hubble_api(mockserver: MockServer) -> Iterator[HubbleApi]:
    """Hubble with its state reset: `client` (bearer token set), `org_id`, `add_device()`,
    `add_webhook(url)`, `transmit(device_id, count)`, `devices()`."""
    _fresh(mockserver, "hubble")
    creds = mockserver.credentials()["hubble"]
    headers = {"Authorization": f"Bearer {creds['token']}"}
    with _client(base_url=creds["base_url"], headers=headers) as client:
        yield HubbleApi(mockserver, client)


@pytest.fixture
def hubby_api(mockserver: MockServer) -> Iterator[HubbyApi]:
    """Hubby with its state reset: `client` signs every request; `create_booking(**fields)`."""
    _fresh(mockserver, "hubby")
    creds = mockserver.credentials()["hubby"]
    signer = HubbySigner(creds["api_key"], creds["secret"], clock_ms=mockserver.runtime.clock.now_ms)
    with _client(base_url=creds["base_url"], auth=signer) as client:
        yield HubbyApi(mockserver, client, signer)


@pytest.fixture
def bumblebee(mockserver: MockServer) -> Iterator[BumblebeeApi]:
    """Bumblebee with its state reset: `add_webhook(url)`, `add_node()`, `report(node_id)`."""
    _fresh(mockserver, "bumblebee")
    creds = mockserver.credentials()["bumblebee"]
    with _client(base_url=creds["base_url"]) as client:
        yield BumblebeeApi(mockserver, client)


@pytest.fixture
def bumblebee_api(bumblebee: BumblebeeApi) -> BumblebeeApi:
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
        base = self.base_url
        s = self.runtime.settings
        if api == "hubble":
            base += "/hubble"
            kwargs.setdefault("headers", {"Authorization": f"Bearer {s.hubble_token}"})
        elif api == "hubby":
            base += "/hubby/api"
            kwargs.setdefault("auth", HubbySigner(s.hubby_api_key, s.hubby_secret, clock_ms=self.runtime.clock.now_ms))
        elif api == "bumblebee":
            base += "/bumblebee"
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
