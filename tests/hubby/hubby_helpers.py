"""Helpers shared by the Hubby tests (imported by module name, like tests/hubble's)."""

from __future__ import annotations

from typing import Any

import httpx

from mockserver.testing import HubbySigner, MockServer


class Partner:
    """A partner created for one test, with its own signing client."""

    def __init__(self, server: MockServer, record: dict[str, Any]) -> None:
        self.server = server
        self.id = record["id"]
        self.api_key = record["api_key"]
        self.secret = record["secret"]
        signer = HubbySigner(self.api_key, self.secret, clock_ms=server.runtime.clock.now_ms)
        self.client = httpx.Client(base_url=server.hubby_url, auth=signer, timeout=30)

    def hook(self, url: str, **extra: Any) -> dict[str, Any]:
        return self.server.call("PUT", "/hubby/webhook", json={"url": url, "partner_api_key": self.api_key, **extra})


def booking_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "departure_date": "2030-07-15T14:30:00+02:00",
        "booking_id": "TEST-001",
        "communication_options": {"should_send_message": False},
        "package_specifications": [{"destination": "GR", "size": "1GB", "external_user_id": "traveler_1"}],
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


def create(client: httpx.Client, **overrides: Any) -> dict[str, Any]:
    r = client.post("/bookings", json=booking_body(**overrides))
    assert r.status_code == 200, r.text
    return r.json()["data"][0]


def simulate(server: MockServer, path: str, body: Any = None, expect: int = 200) -> Any:
    assert server.control is not None
    r = server.control.post(f"/hubby/{path.lstrip('/')}", json=body if body is not None else {})
    assert r.status_code == expect, r.text
    return r.json()
