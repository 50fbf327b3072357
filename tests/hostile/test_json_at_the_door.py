"""Items 1 and 2 of the hostile-input issue: a lone surrogate (`\\ud800`, valid JSON, not
Unicode) and deep nesting are refused with a 400 that names the field, by every API and
the control plane, and nothing that was refused can break a later read."""

from __future__ import annotations

import pytest

from mockserver.kernel.jsonguard import MAX_JSON_DEPTH

from .conftest import Door

LONE = '"\\ud800"'  # the JSON text of a string holding one lone surrogate


def hubble_create(names: str) -> bytes:
    return f'{{"n_devices": 1, "encryption": "AES-256-CTR", "names": [{names}]}}'.encode()


def test_hubble_refuses_a_lone_surrogate_and_stays_readable(door: Door):
    before = door.http.get(f"/hubble/api/org/{door.org}/devices", headers=door.hubble_headers())
    r = door.http.post(f"/hubble/api/v2/org/{door.org}/devices", content=hubble_create(LONE), headers=door.hubble_headers())
    assert r.status_code == 400, r.text
    assert r.json()["name"] == "Bad Request" and "names[0]" in r.json()["description"]
    assert "lone surrogate" in r.json()["description"]
    after = door.http.get(f"/hubble/api/org/{door.org}/devices", headers=door.hubble_headers())
    assert after.status_code == 200 and after.json()["devices"] == before.json()["devices"]
    assert door.http.get("/_mock/state").status_code == 200


def test_a_surrogate_pair_is_an_ordinary_character(door: Door):
    r = door.http.post(
        f"/hubble/api/v2/org/{door.org}/devices", content=hubble_create('"pallet \\ud83d\\ude9a"'), headers=door.hubble_headers()
    )
    assert r.status_code == 200, r.text
    assert r.json()["devices"][0]["name"] == "pallet \U0001f69a"


def test_a_lone_surrogate_in_a_key_is_refused_without_echoing_it(door: Door):
    body = b'{"n_devices": 1, "encryption": "AES-256-CTR", "\\udfff": 1}'
    r = door.http.post(f"/hubble/api/v2/org/{door.org}/devices", content=body, headers=door.hubble_headers())
    assert r.status_code == 400 and "the key '\\\\udfff'" in r.json()["description"], r.text


def test_hubby_refuses_a_lone_surrogate(door: Door):
    body = ('{"booking_id": "b-1", "email": "a@example.com", "first_name": ' + LONE + "}").encode()
    r = door.http.post("/hubby/api/bookings", content=body, headers={"Content-Type": "application/json"}, auth=door.hubby_signer())
    assert r.status_code == 400, r.text
    assert r.json()["success"] is False and "first_name" in r.json()["message"] and "lone surrogate" in r.json()["message"]
    assert door.http.get("/hubby/api/bookings", auth=door.hubby_signer()).status_code == 200


def test_bumblebee_refuses_a_lone_surrogate(door: Door):
    body = ('{"url": "http://127.0.0.1:9/hook", "data_types": ["geo_location/create"], "headers": {"X-Tag": ' + LONE + "}}").encode()
    r = door.http.post("/bumblebee/webhooks", content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 400, r.text
    assert "headers.X-Tag" in r.text and "lone surrogate" in r.text
    assert door.http.get("/bumblebee/webhooks").status_code == 200


@pytest.mark.parametrize(
    "method,path,body",
    [
        ("POST", "/_mock/faults", '{"kind": "status", "status": 503, "message": ' + LONE + "}"),
        ("PUT", "/_mock/state", '{"tables": {"hubble.orgs": {"x": {"name": ' + LONE + "}}}}"),
        ("POST", "/_mock/bumblebee/nodes", '{"sigfox_id": ' + LONE + "}"),
        ("POST", "/_mock/hubble/packets", '{"count": 1, "device_ids": [' + LONE + "]}"),
    ],
)
def test_the_control_plane_refuses_a_lone_surrogate(door: Door, method: str, path: str, body: str):
    r = door.http.request(method, path, content=body.encode(), headers={"Content-Type": "application/json"})
    assert r.status_code == 400, r.text
    assert "lone surrogate" in r.json()["error"]
    assert door.http.get("/_mock/faults").json() == {"faults": []}  # no rule was added
    # every API still answers: a fault rule's message cannot poison them
    assert door.http.get(f"/hubble/api/org/{door.org}/devices", headers=door.hubble_headers()).status_code == 200
    assert door.http.get("/_mock/state").status_code == 200


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 300, 600, 5000])
def test_deep_json_is_a_400_on_every_reader(door: Door, depth: int):
    deep = nested(depth)
    hubble = door.http.post(
        f"/hubble/api/v2/org/{door.org}/devices",
        content=hubble_create(deep), headers=door.hubble_headers(),
    )  # fmt: skip
    assert hubble.status_code == 400 and "nested too deeply" in hubble.json()["description"], hubble.text
    hubby = door.http.post(
        "/hubby/api/bookings", content=f'{{"booking_id": {deep}}}'.encode(),
        headers={"Content-Type": "application/json"}, auth=door.hubby_signer(),
    )  # fmt: skip
    assert hubby.status_code == 400 and "nested too deeply" in hubby.json()["message"], hubby.text
    bumblebee = door.http.post("/bumblebee/webhooks", content=f'{{"url": {deep}}}'.encode(), headers={"Content-Type": "application/json"})
    assert bumblebee.status_code == 400 and "nested too deeply" in bumblebee.text, bumblebee.text
    control = door.http.post("/_mock/faults", content=f'{{"message": {deep}}}'.encode(), headers={"Content-Type": "application/json"})
    assert control.status_code == 400 and "nested too deeply" in control.json()["error"], control.text


def test_nesting_at_the_limit_is_still_read(door: Door):
    """The limit is a number of levels, not a ban on nesting: a body exactly at it is read
    (and judged by the schema as usual)."""
    r = door.http.post(
        f"/hubble/api/v2/org/{door.org}/devices",
        content=hubble_create(nested(MAX_JSON_DEPTH - 2)), headers=door.hubble_headers(),
    )  # fmt: skip
    assert r.status_code == 400 and "nested too deeply" not in r.text and "names" in r.text, r.text
