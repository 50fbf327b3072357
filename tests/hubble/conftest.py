"""Fixtures for the Hubble tests.

`mockserver` is overridden for this folder: the same demo server as the plugin's, in strict
mode, but with rate limiting off (the tests call endpoints faster than 3 a second; the
limit has its own test on its own server). Tests that move the clock use `frozen_server`,
a module-wide server whose clock is frozen at T0, so the shared server's clock is never
moved.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from hubble_helpers import T0, client_for, start_server

from mockserver.testing import MockServer


@pytest.fixture(scope="session")
def mockserver() -> Iterator[MockServer]:
    server = start_server()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def frozen_server() -> Iterator[MockServer]:
    server = start_server(clock="frozen", clock_start=T0)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def server() -> Iterator[MockServer]:
    """A module's own server: frozen at T0, no scenario data (the module builds its world)."""
    server = start_server(clock="frozen", clock_start=T0, scenario="empty")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def frozen(frozen_server: MockServer) -> Iterator[MockServer]:
    """The frozen-clock server with fresh demo state (seeded at the clock's current time)."""
    frozen_server.reset("hubble")
    yield frozen_server


@pytest.fixture(scope="module")
def _frozen_client(frozen_server: MockServer) -> Iterator[httpx.Client]:
    with client_for(frozen_server) as client:
        yield client


@pytest.fixture
def fapi(frozen: MockServer, _frozen_client: httpx.Client) -> httpx.Client:
    """A client for the frozen server's sandbox org, with the bootstrap key."""
    return _frozen_client


@pytest.fixture(scope="session")
def _org_client(mockserver: MockServer) -> Iterator[httpx.Client]:
    with client_for(mockserver) as client:
        yield client


@pytest.fixture
def api(hubble_api, _org_client: httpx.Client) -> httpx.Client:
    """A client for the sandbox org (base URL `.../hubble/api/org/<org_id>`), bootstrap key;
    the state was reset for the test (by `hubble_api`)."""
    return _org_client
