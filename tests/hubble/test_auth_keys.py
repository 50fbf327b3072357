"""Bearer auth, scopes and the API-key lifecycle."""

from __future__ import annotations

import base64
import json

import pytest
from hubble_helpers import T0, assert_error, client_for, provision, start_server

from mockserver.apis.hubble.models import ALL_SCOPES

OTHER_ORG = "11111111-2222-4333-8444-555555555555"


def test_check_answers_the_org_for_any_valid_key(hubble_api, api):
    response = api.get("/check")
    assert response.status_code == 200
    assert response.json() == {"org_id": hubble_api.org_id}
    assert response.headers["X-Request-ID"]


@pytest.mark.parametrize(
    ("header", "words"),
    [
        (None, ["missing bearer"]),
        ("Basic abc", ["missing bearer"]),
        ("Bearer not-a-key", ["not an api key"]),
        ("Bearer a.b.c", ["malformed"]),
    ],
)
def test_bad_credentials_are_401(hubble_api, api, header, words):
    headers = {"Authorization": header} if header else {}
    with client_for(hubble_api.server, token="") as anonymous:
        response = anonymous.get("/devices", headers=headers)
    assert_error(response, 401, *words)
    assert response.json()["name"] == "Unauthorized"


def test_key_of_another_org_is_401(hubble_api, api):
    with client_for(hubble_api.server, org_id=OTHER_ORG) as other:
        assert_error(other.get("/devices"), 401, "organization")


def test_key_lifecycle_provision_use_rescope_delete(hubble_api, api):
    created = provision(api, name="ci key", scopes=["read-devices", "read-packets"])
    assert set(created) == {"key_id", "key_name", "created_at", "expires_at_seconds", "scopes", "key"}
    assert created["key_name"] == "ci key" and created["expires_at_seconds"] == 0
    header, claims, _ = created["key"].split(".")
    assert json.loads(base64.urlsafe_b64decode(header + "==")) == {"alg": "HS256", "typ": "JWT"}
    assert json.loads(base64.urlsafe_b64decode(claims + "=="))["sub"] == created["key_id"]

    listed = api.get("/key").json()["keys"]
    mine = [k for k in listed if k["key_id"] == created["key_id"]]
    assert mine and "key" not in mine[0]  # the secret is shown once only

    with client_for(hubble_api.server, token=created["key"]) as ci:
        assert ci.get("/devices").status_code == 200
        assert_error(ci.get("/users"), 403, "read-users")
        assert_error(ci.post("/key", json={}), 403, "write-api-keys")

        updated = api.patch(f"/key/{created['key_id']}", json={"set_scopes": ["read-users"], "set_name": "renamed"})
        assert updated.status_code == 200, updated.text
        assert updated.json()["scopes"] == ["read-users"] and updated.json()["key_name"] == "renamed"
        assert_error(ci.get("/devices"), 403, "read-devices")
        assert ci.get("/users").status_code == 200

        deleted = api.delete(f"/key/{created['key_id']}")
        assert deleted.status_code == 200 and deleted.json() == {"key_id": created["key_id"]}
        assert_error(ci.get("/users"), 401, "deleted")
        assert_error(ci.get("/check"), 401)
    assert created["key_id"] not in {k["key_id"] for k in api.get("/key").json()["keys"]}


def test_key_without_scopes_gets_all_sixteen(hubble_api, api):
    created = provision(api, name="admin")
    assert created["scopes"] == ALL_SCOPES and len(ALL_SCOPES) == 16
    scopes = api.get("/key_scopes").json()["scopes"]
    assert [s["scope_id"] for s in scopes] == ALL_SCOPES
    assert all(s["display_name"] for s in scopes)


def test_tampered_jwt_is_401(hubble_api, api):
    key = provision(api, name="x")["key"]
    head, claims, sig = key.split(".")
    forged = head + "." + claims + "." + ("A" if sig[0] != "A" else "B") + sig[1:]
    with client_for(hubble_api.server, token=forged) as bad:
        assert_error(bad.get("/check"), 401, "signature")


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ({"scopes": []}, "scopes"),
        ({"scopes": ["devices:read"]}, "scopes"),
        ({"name": "n" * 251}, "name"),
        ({"expires_at_seconds": -1}, "expires_at_seconds"),
        ({"expires_at_seconds": 1000}, "not in the future"),
        ({"unknown": 1}, "unknown"),
    ],
)
def test_provision_rejects_bad_input(hubble_api, api, body, where):
    assert_error(api.post("/key", json=body), 400, where)


def test_update_and_delete_unknown_key_are_404(hubble_api, api):
    assert_error(api.patch("/key/nope", json={"set_name": "x"}), 404, "nope")
    assert_error(api.delete("/key/nope"), 404)
    key_id = provision(api)["key_id"]
    assert_error(api.patch(f"/key/{key_id}", json={}), 400, "body", "less than 1 property")  # minProperties: 1


def test_expired_key_is_401_on_the_frozen_clock(frozen, fapi):
    key = provision(fapi, name="temp", expires_at_seconds=int(T0) + 10**6)
    with client_for(frozen, token=key["key"]) as temp:
        assert temp.get("/check").status_code == 200
        frozen.set_time(frozen.now() + 10**6 + 1)
        assert_error(temp.get("/check"), 401, "expired")
    assert key["key_id"] not in {k["key_id"] for k in fapi.get("/key").json()["keys"]}
    # extending the expiry brings it back
    assert fapi.patch(f"/key/{key['key_id']}", json={"set_expires_at_seconds": 0}).status_code == 200
    with client_for(frozen, token=key["key"]) as temp:
        assert temp.get("/check").status_code == 200


def test_rate_limit_allows_three_back_to_back_then_429():
    server = start_server(rate_limit=True, scenario="empty")
    try:
        with client_for(server) as api:
            statuses = [api.get("/devices").status_code for _ in range(6)]
            assert statuses[:3] == [200, 200, 200]
            assert 429 in statuses
            limited = api.get("/devices")
            body = assert_error(limited, 429)
            assert body["name"] == "Too Many Requests"
            assert int(limited.headers["Retry-After"]) >= 1
            assert api.get("/check").status_code == 200  # another endpoint has its own bucket
    finally:
        server.stop()


def test_bootstrap_key_cannot_be_changed_or_deleted(api):
    bootstrap = next(k for k in api.get("/key").json()["keys"] if k["key_name"] == "sandbox bootstrap key")
    assert bootstrap["scopes"] == ALL_SCOPES and bootstrap["expires_at_seconds"] == 0
    assert_error(api.patch(f"/key/{bootstrap['key_id']}", json={"set_scopes": ["read-users"]}), 400, "bootstrap")
    assert_error(api.delete(f"/key/{bootstrap['key_id']}"), 400, "bootstrap")
    assert api.get("/key").status_code == 200


def _operations():
    import yaml

    from mockserver.kernel.spec import resource_path

    doc = yaml.safe_load(resource_path("hubble-openapi.yaml").read_text())
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if method in ("get", "post", "patch", "delete") and op.get("security") != []:
                yield pytest.param(method, path, op.get("x-required-scope"), id=op["operationId"])


def _fill(path: str, org_id: str) -> str:
    ids = {"{org_id}": org_id, "{device_id}": "00000000-0000-4000-8000-000000000001",
           "{user_id}": "00000000-0000-4000-8000-000000000002", "{key_id}": "k", "{webhook_id}": "w",
           "{invoice_id}": "INV-1"}  # fmt: skip
    for name, value in ids.items():
        path = path.replace(name, value)
    return path


@pytest.mark.parametrize(("method", "path", "scope"), list(_operations()))
def test_every_operation_needs_a_key_and_its_scope(hubble_api, api, method, path, scope):
    url = hubble_api.base_url + _fill(path, hubble_api.org_id)
    with client_for(hubble_api.server, token="") as anonymous:
        assert_error(anonymous.request(method, url, json={}), 401)
    if scope is None:
        return
    other = next(s for s in ALL_SCOPES if s != scope)
    key = provision(api, scopes=[other])["key"]
    with client_for(hubble_api.server, token=key) as limited:
        assert_error(limited.request(method, url, json={}), 403, scope)
