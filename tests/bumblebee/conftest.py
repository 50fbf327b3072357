"""Bumblebee tests run against their own server: a short per-attempt timeout (2 s instead
of 30 s) lets a hanging receiver be tested quickly; everything else is the defaults."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from mockserver.settings import Settings
from mockserver.testing import MockServer

WEBHOOK_TIMEOUT = 2.0


@pytest.fixture(scope="session")
def mockserver() -> Iterator[MockServer]:
    settings = Settings.from_env(strict=True, scenario="demo", webhook_timeout=WEBHOOK_TIMEOUT)
    server = MockServer(settings).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def control(mockserver: MockServer) -> httpx.Client:
    """The raw /_mock client (answers are not checked: tests look at 4xx themselves)."""
    assert mockserver.control is not None
    return mockserver.control
