"""pytest fixtures for projects that test against the fake (entry point `pytest11`).

`mockserver` (session): a real server on a free loopback port, started once per session
(once per worker under pytest-xdist). `hubble_api`, `hubby_api`, `bumblebee` (function):
that API's state reset before the test, credentials and a ready httpx client.
`webhook_sink`: a real local HTTP receiver. `mock_clock`: the server's clock, frozen for
the test and handed back real afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from .settings import Settings
from .testing import HubbySigner, MockServer
from .webhook_sink import WebhookSink


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("mockserver")
    group.addoption("--mockserver-seed", type=int, default=None, help="seed for the mock server (default 1)")
    group.addoption("--mockserver-scenario", default=None, help="scenario name or YAML path (default demo)")
    group.addoption("--mockserver-lenient", action="store_true", default=False,
                    help="do not turn the fake's own spec-breaking responses into 500s")


@pytest.fixture(scope="session")
def mockserver(request: pytest.FixtureRequest) -> Iterator[MockServer]:
    config = request.config
    settings = Settings.from_env(
        seed=config.getoption("--mockserver-seed"),
        scenario=config.getoption("--mockserver-scenario"),
        strict=not config.getoption("--mockserver-lenient"),
    )
    server = MockServer(settings).start()
    try:
        yield server
    finally:
        server.stop()


@dataclass
class ApiHandle:
    """One API of the running fake: where it is, its credentials and a ready client."""

    server: MockServer
    base_url: str
    credentials: dict[str, Any]
    client: httpx.Client

    def __getattr__(self, name: str) -> Any:
        try:
            return self.credentials[name]
        except KeyError:
            raise AttributeError(name) from None

    def simulate(self, path: str, body: Any = None) -> Any:
        api = self.credentials["api"]
        return self.server.simulate(api, path, body)


def _handle(server: MockServer, api: str, client: httpx.Client) -> ApiHandle:
    creds = dict(server.credentials()[api], api=api)
    return ApiHandle(server, creds["base_url"], creds, client)


@pytest.fixture
def hubble_api(mockserver: MockServer) -> Iterator[ApiHandle]:
    mockserver.reset("hubble")
    creds = mockserver.credentials()["hubble"]
    with httpx.Client(
        base_url=f"{creds['base_url']}/api/org/{creds['org_id']}",
        headers={"Authorization": f"Bearer {creds['token']}"},
        timeout=30,
    ) as client:
        yield _handle(mockserver, "hubble", client)


@pytest.fixture
def hubby_api(mockserver: MockServer) -> Iterator[ApiHandle]:
    mockserver.reset("hubby")
    creds = mockserver.credentials()["hubby"]
    runtime = mockserver.runtime
    signer = HubbySigner(creds["api_key"], creds["secret"], clock_ms=runtime.clock.now_ms)
    with httpx.Client(base_url=creds["base_url"], auth=signer, timeout=30) as client:
        yield _handle(mockserver, "hubby", client)


@pytest.fixture
def bumblebee(mockserver: MockServer) -> Iterator[ApiHandle]:
    mockserver.reset("bumblebee")
    with httpx.Client(base_url=mockserver.bumblebee_url, timeout=30) as client:
        yield _handle(mockserver, "bumblebee", client)


@pytest.fixture
def webhook_sink() -> Iterator[WebhookSink]:
    with WebhookSink() as sink:
        yield sink


@pytest.fixture
def mock_clock(mockserver: MockServer) -> Iterator[MockServer]:
    """The server clock, frozen for this test; `mock_clock.advance(seconds)` fast-forwards."""
    mockserver.freeze()
    try:
        yield mockserver
    finally:
        mockserver.unfreeze()
