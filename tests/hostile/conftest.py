"""One real server (uvicorn on a loopback port, strict mode) for the hostile-input tests,
and a client that can sign Hubby calls with the server's clock."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from mockserver.testing import HubbySigner, MockServer


@dataclass
class Door:
    server: MockServer
    http: httpx.Client

    @property
    def org(self) -> str:
        return self.server.credentials()["hubble"]["org_id"]

    def hubble_headers(self, **extra: str) -> dict[str, str]:
        token = self.server.credentials()["hubble"]["token"]
        return {"Authorization": f"Bearer {token}", "Content-Type": "application/json", **extra}

    def hubby_signer(self) -> HubbySigner:
        creds = self.server.credentials()["hubby"]
        return HubbySigner(creds["api_key"], creds["secret"], clock_ms=self.server.runtime.clock.now_ms)


@pytest.fixture(scope="module")
def door_server() -> Iterator[MockServer]:
    with MockServer(scenario="demo", rate_limit=False, strict=True) as server:
        yield server


@pytest.fixture
def door(door_server: MockServer) -> Iterator[Door]:
    door_server.reset()
    door_server.clear_faults()
    with httpx.Client(base_url=door_server.base_url, timeout=30, trust_env=False) as http:
        yield Door(door_server, http)
