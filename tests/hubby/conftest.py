"""Fixtures for the Hubby tests.

`mockserver` is overridden for this folder: a demo server of its own in strict mode (every
response the fake sends must match the spec exactly), so the tests that move its clock do
not move the clock of any other folder's server. `hubby_api`, `mock_clock` and
`webhook_sink` are the plugin's own fixtures, used as a downstream project would.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from hubby_helpers import Partner

from mockserver.scenarios import FIXTURES
from mockserver.settings import Settings
from mockserver.testing import MockServer


@pytest.fixture(scope="session")
def mockserver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MockServer]:
    """The demo scenario's hubby section as shipped (the other sections are left out: they
    only cost start-up time here)."""
    demo = yaml.safe_load((FIXTURES / "demo.yaml").read_text(encoding="utf-8"))
    path = tmp_path_factory.mktemp("hubby") / "hubby-demo.yaml"
    path.write_text(yaml.safe_dump({"hubby": demo["hubby"]}), encoding="utf-8")
    server = MockServer(Settings.from_env(strict=True, scenario=str(path), seed=1)).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def new_partner(hubby_api: Any, mockserver: MockServer) -> Iterator[Any]:
    """A factory of fresh partners (after the hubby reset that `hubby_api` does)."""
    made: list[Partner] = []

    def make(name: str = "Test Travel", **extra: Any) -> Partner:
        record = mockserver.call("POST", "/hubby/partners", json={"name": name, **extra})
        partner = Partner(mockserver, record)
        made.append(partner)
        return partner

    yield make
    for p in made:
        p.client.close()
