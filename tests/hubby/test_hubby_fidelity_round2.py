"""Issue 12 (fidelity, round 2) on the Hubby side; each test names its source
(../shared/reference/hubby-openapi.yaml, hubby-notes.md, seed 002)."""

from __future__ import annotations

from typing import Any

import httpx
from hubby_helpers import create

from mockserver.testing import MockServer


def test_redirect_token_answers_and_accepts_both_documented_names(hubby_api: Any) -> None:
    """reference/hubby-openapi.yaml, POST /redirect-tokens/create: `data.redirect_token`
    (x-source: "the types repo stores it as `token`"); POST /webapp/auth/exchange body
    `{redirect_token}` ("could be `token`"). The fake answers both names and takes either."""
    create(hubby_api.client)
    minted = [hubby_api.client.post("/redirect-tokens/create", json={"external_user_id": "traveler_1"}).json()["data"] for _ in range(2)]
    for data in minted:
        assert data["redirect_token"] == data["token"] and data["redirect_token"].startswith("rt_")
    by_reference_name = httpx.post(f"{hubby_api.base_url}/webapp/auth/exchange", json={"redirect_token": minted[0]["redirect_token"]}, timeout=30)
    assert by_reference_name.status_code == 200, by_reference_name.text
    by_types_name = httpx.post(f"{hubby_api.base_url}/webapp/auth/exchange", json={"token": minted[1]["token"]}, timeout=30)
    assert by_types_name.status_code == 200, by_types_name.text
    neither = httpx.post(f"{hubby_api.base_url}/webapp/auth/exchange", json={}, timeout=30)
    assert neither.status_code == 400 and neither.json()["success"] is False


def test_device_compatibility_is_served_as_get_too(hubby_api: Any) -> None:
    """hubby-notes.md line 113: "2.1.0 (current): ... `GET /native/device-compatibility`"; the
    2.0 migration guide lists POST (line 31). Both answer the same verdict."""
    get = hubby_api.client.get("/native/device-compatibility", params={"device_model": "iPhone 15", "platform": "ios"})
    assert get.status_code == 200, get.text
    post = hubby_api.client.post("/native/device-compatibility", json={"device_model": "iPhone 15", "platform": "ios"})
    assert get.json() == post.json()
    assert get.json()["data"] == {"compatible": True, "platform": "ios", "device_model": "iPhone 15", "reason": None}
    assert hubby_api.client.get("/native/device-compatibility").status_code == 400  # device_model is required


def test_unknown_query_parameters_and_misspelt_headers_are_recorded(hubby_api: Any, mockserver: MockServer) -> None:
    """reference/hubby-openapi.yaml, GET /countries declares no `pageSize`, and the auth headers
    are the three of hubby-notes.md line 84; the fake answers as the API would (it ignores
    them) and the journal names each (the client report reads the journal)."""
    mockserver.call("DELETE", "/requests")
    r = hubby_api.client.get("/countries", params={"pageSize": 5}, headers={"x-signatur": "abc"})
    assert r.status_code == 200
    (entry,) = mockserver.requests(violations="true")
    problems = {v["location"]: v["message"] for v in entry["violations"]}
    assert set(problems) == {"query.pageSize", "header.x-signatur"}
    assert "did you mean `x-signature`" in problems["header.x-signatur"]
