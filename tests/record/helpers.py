"""Reading a Hubble organization through the public API, for comparing two servers."""

from __future__ import annotations

from typing import Any

import httpx

from mockserver.testing import MockServer


def hubble_client(server: MockServer) -> httpx.Client:
    creds = server.credentials()["hubble"]
    return httpx.Client(base_url=f"{server.hubble_url}/api/org/{creds['org_id']}",
                        headers={"Authorization": f"Bearer {creds['token']}"}, timeout=60, trust_env=False)  # fmt: skip


def all_devices(client: httpx.Client) -> list[dict[str, Any]]:
    return _following_tokens(client, "/devices", {"limit": 1000}, "devices")


def all_packets(client: httpx.Client, start: float, end: float) -> list[dict[str, Any]]:
    return _following_tokens(client, "/packets", {"start": int(start), "end": int(end)}, "packets")


def _following_tokens(client: httpx.Client, path: str, first: dict[str, Any], key: str) -> list[dict[str, Any]]:
    """Every row of a listing: the first page with `first`, then each Continuation-Token alone."""
    out, token = [], None
    while True:
        if token:
            r = client.get(path, headers={"Continuation-Token": token})
        else:
            r = client.get(path, params=first)
        assert r.status_code == 200, r.text
        out += r.json()[key]
        token = r.headers.get("continuation-token")
        if not token:
            return out


def all_numbered(client: httpx.Client, path: str, key: str) -> list[dict[str, Any]]:
    out, page = [], 0
    while True:
        rows = client.get(path, params={"page_number": page, "page_size": 100}).json()[key]
        out += rows
        if len(rows) < 100:
            return out
        page += 1
