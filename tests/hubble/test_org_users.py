"""Organization metadata, users (page_number/page_size) and invitations."""

from __future__ import annotations

import pytest
from hubble_helpers import T0, assert_error, client_for


def test_get_and_patch_organization(hubble_api, api):
    org = api.get("").json()
    assert org["org_id"] == hubble_api.org_id and org["name"] == "Acme Asset Tracking"
    patched = api.patch("", json={"set_name": "Acme 2", "set_timezone": "Europe/Berlin", "set_address": {"city": "Berlin", "country": "DE"}})
    assert patched.status_code == 200, patched.text
    assert patched.json()["address"] == {"city": "Berlin", "country": "DE"}
    assert api.get("").json()["name"] == "Acme 2" and api.get("").json()["timezone"] == "Europe/Berlin"


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({}, []),
        ({"set_name": ""}, ["set_name"]),
        ({"set_name": "n" * 251}, ["set_name"]),
        ({"set_timezone": "Mars/Olympus"}, ["time zone"]),
        ({"set_contact_info": {"phoneNumber": "555-1234"}}, ["phoneNumber"]),
        ({"set_address": {"country": 840}}, ["country"]),
    ],
)
def test_patch_organization_rejects_bad_input(api, body, words):
    assert_error(api.patch("", json=body), 400, *words)


def test_users_paging_add_update_delete(api):
    first = api.get("/users", params={"page_size": 5}).json()["users"]
    assert [u["email"] for u in first] == ["alice@acme.example", "bob@acme.example", "carol@acme.example"]
    added = [api.post("/users", json={"email": f"user{i}@acme.example", "role": "member"}).json() for i in range(4)]
    # vendor OpenAPI organizationUser.last_active_at is utcTimestampInteger: never null, so a
    # user who never logged in has no such field
    assert added[0]["email_confirmed"] is False and "last_active_at" not in added[0]
    page0 = api.get("/users", params={"page_size": 5, "page_number": 0}).json()["users"]
    page1 = api.get("/users", params={"page_size": 5, "page_number": 1}).json()["users"]
    assert len(page0) == 5 and len(page1) == 2
    assert api.get("/users", params={"page_size": 5, "page_number": 9}).json()["users"] == []
    user_id = added[0]["user_id"]
    updated = api.patch(f"/users/{user_id}", json={"set_first_name": "Ada", "set_role": "admin"}).json()
    assert (updated["first_name"], updated["role"]) == ("Ada", "admin")
    assert api.delete(f"/users/{user_id}").json() == {}
    assert_error(api.delete(f"/users/{user_id}"), 404, user_id)
    assert_error(api.patch(f"/users/{user_id}", json={"set_role": "admin"}), 404)
    assert_error(api.post("/users", json={"email": "bob@acme.example", "role": "member"}), 400, "already")
    assert_error(api.post("/users", json={"email": "not-an-email", "role": "member"}), 400, "email")
    assert_error(api.post("/users", json={"email": "x@acme.example", "role": "owner"}), 400, "role")
    assert_error(api.get("/users", params={"page_size": 4}), 400, "page_size")
    assert_error(api.get("/users", params={"page_size": 101}), 400, "page_size")
    assert_error(api.get("/users/x"), 405)


def test_invitations(api):
    listed = api.get("/invitations").json()
    assert listed["total_invites"] == 2
    invite = api.post("/invitations", json={"invitee_email": "new@acme.example", "role": "member"}).json()
    assert invite["expires_at"] - invite["created_at"] == 7 * 86400
    assert invite["inviter_email"] == "ops@acme.example"
    assert api.get("/invitations").json()["total_invites"] == 3
    assert api.get("/invitations", params={"page_size": 5, "page_number": 1}).json()["invites"] == []
    assert_error(api.post("/invitations", json={"invitee_email": "alice@acme.example", "role": "member"}), 400, "already")
    revoked = api.request("DELETE", "/invitations", json={"invitee_email": "new@acme.example"})
    assert revoked.status_code == 200 and revoked.json() == {}
    assert_error(api.request("DELETE", "/invitations", json={"invitee_email": "new@acme.example"}), 404)
    assert_error(api.request("DELETE", "/invitations", json={}), 400, "invitee_email")


def test_invitations_expire_on_the_clock(frozen, fapi):
    assert fapi.get("/invitations").json()["total_invites"] == 2  # sent 1 and 3 days before T0
    frozen.set_time(frozen.now() + 5 * 86400)
    assert [i["invitee_email"] for i in fapi.get("/invitations").json()["invites"]] == ["dan@acme.example"]
    assert frozen.now() > T0


def test_org_scopes(hubble_api, api):
    key = api.post("/key", json={"scopes": ["read-organization-metadata", "read-invitations"]}).json()["key"]
    with client_for(hubble_api.server, token=key) as reader:
        assert reader.get("").status_code == 200
        assert_error(reader.patch("", json={"set_name": "x"}), 403, "write-organization-metadata")
        assert_error(reader.get("/users"), 403, "read-users")
        assert_error(reader.post("/invitations", json={"invitee_email": "a@b.example", "role": "member"}), 403)
