"""Helpers shared by the Hubble tests (fixtures are in conftest.py)."""

from __future__ import annotations

from typing import Any

import httpx

from mockserver.settings import Settings
from mockserver.testing import MockServer

T0 = 1_760_000_000.0  # 2025-10-09T08:53:20Z, a Thursday


def start_server(**overrides: Any) -> MockServer:
    settings = Settings.from_env(strict=True, rate_limit=False, scenario="demo", seed=1)
    return MockServer(settings.with_(**overrides)).start()


def client_for(server: MockServer, token: str | None = None, org_id: str | None = None) -> httpx.Client:
    creds = server.credentials()["hubble"]
    headers = {"Authorization": f"Bearer {token or creds['token']}"} if token != "" else {}
    return httpx.Client(
        base_url=f"{creds['base_url']}/api/org/{org_id or creds['org_id']}", headers=headers, timeout=30, trust_env=False
    )


def register_devices(
    server: MockServer, client: httpx.Client, n: int = 1, encryption: str = "AES-256-CTR", **body: Any
) -> list[dict[str, Any]]:
    """Register `n` devices through `POST /api/v2/org/{org}/devices`; the devices it answers."""
    creds = server.credentials()["hubble"]
    url = f"{creds['base_url']}/api/v2/org/{creds['org_id']}/devices"
    response = client.post(url, json={"n_devices": n, "encryption": encryption, **body})
    assert response.status_code == 200, response.text
    return response.json()["devices"]


def provision(client: httpx.Client, **body: Any) -> dict[str, Any]:
    response = client.post("/key", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def assert_error(response: httpx.Response, status: int, *words: str) -> dict[str, Any]:
    """The vendor's error shape with this status, mentioning each word."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"code", "description", "name"}
    assert body["code"] == status
    for word in words:
        assert word.lower() in body["description"].lower(), body["description"]
    return body


def read_all(api: httpx.Client, params: dict[str, Any] | None = None, limit_pages: int = 50) -> tuple[list[dict], list[httpx.Response]]:
    """Follow packet tokens until the stream ends or catches up; returns (packets, pages)."""
    pages = []
    response = api.get("/packets", params=params or {})
    while True:
        assert response.status_code == 200, response.text
        pages.append(response)
        token = response.headers["Continuation-Token"]
        if not token or "Retry-After" in response.headers or len(pages) >= limit_pages:
            break
        response = api.get("/packets", headers={"Continuation-Token": token})
    return [p for r in pages for p in r.json()["packets"]], pages
