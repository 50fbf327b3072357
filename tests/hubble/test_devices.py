"""Devices: registration in every encryption mode, listing with filters, sort and paging,
reads, updates, batch updates, deletion, and bad input answered 4xx in the vendor shape."""

from __future__ import annotations

import base64

import pytest
from hubble_helpers import assert_error

KEY_BYTES = {"AES-256-CTR": 32, "AES-128-CTR": 16, "AES-128-EAX": 16}


def v2(hubble_api) -> str:
    return f"{hubble_api.base_url}/api/v2/org/{hubble_api.org_id}/devices"


def test_register_in_every_encryption_mode(hubble_api, api):
    for encryption, size in KEY_BYTES.items():
        response = api.post(v2(hubble_api), json={"encryption": encryption, "n_devices": 2})
        assert response.status_code == 200, response.text
        devices = response.json()["devices"]
        assert len(devices) == 2 and devices[0]["device_id"] != devices[1]["device_id"]
        for device in devices:
            assert len(base64.b64decode(device["key"])) == size
            assert device["tags"] == {"_env": "production"}
            assert "network_id" not in device
        assert devices[0]["key"] != devices[1]["key"]
        assert devices[0]["protocol"]["terrestrial"]["version"] == (2 if encryption == "AES-128-EAX" else 0)
    plain = api.post(v2(hubble_api), json={"encryption": "NONE"}).json()["devices"][0]
    assert "key" not in plain and 0 <= plain["network_id"] < 2**34
    assert plain["protocol"]["terrestrial"]["version"] == 1


def test_register_names_tags_and_rotation(hubble_api, api):
    body = {
        "encryption": "AES-128-EAX",
        "n_devices": 2,
        "names": ["a", "b"],
        "tags": [{"site": "lab"}, {"_env": "sandbox"}],
        "eid_rotation": {"counter_source": "DEVICE_UPTIME", "period_in_seconds": 4096},
    }
    a, b = api.post(v2(hubble_api), json=body).json()["devices"]
    assert (a["name"], a["tags"]) == ("a", {"site": "lab", "_env": "production"})
    assert (b["name"], b["tags"]) == ("b", {"_env": "sandbox"})
    detail = api.get(f"/devices/{a['device_id']}").json()
    assert detail["encryption"] == "AES-128-EAX"
    assert detail["eid_rotation"] == {"counter_source": "DEVICE_UPTIME", "period_in_seconds": 4096}
    assert detail["active"] is False and detail["most_recent_packet"] == {}
    listed = api.get("/devices", params={"limit": 1000}).json()["devices"]
    assert "encryption" not in listed[0]


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ({"encryption": "AES-256-CTR", "n_devices": 1001}, 400, ["n_devices"]),
        ({"encryption": "AES-256-CTR", "n_devices": 0}, 400, ["n_devices"]),
        ({"encryption": "AES-256-CTR", "n_devices": "2"}, 400, ["n_devices"]),
        ({"encryption": "DES"}, 400, ["encryption"]),
        ({"n_devices": 1}, 400, ["encryption"]),
        ({"encryption": "NONE", "names": ["x" * 251]}, 400, ["names"]),
        ({"encryption": "NONE", "n_devices": 2, "names": ["one"]}, 400, ["one name per device"]),
        ({"encryption": "NONE", "n_devices": 1, "tags": [{}, {}]}, 400, ["one tag map per device"]),
        ({"encryption": "NONE", "tags": [{"_env": "staging"}]}, 400, ["_env"]),
        ({"encryption": "NONE", "tags": [{f"k{i}": "v" for i in range(10)}]}, 400, ["tags[0]", "more than 9 properties"]),  # + _env
        ({"encryption": "NONE", "eid_rotation": {"counter_source": "UNIX_TIME"}}, 400, ["body.eid_rotation", "not allow"]),
        ({"encryption": "AES-256-CTR", "eid_rotation": {"counter_source": "DEVICE_UPTIME", "period_exponent": 12}}, 400, ["AES-128-EAX"]),
        ({"encryption": "AES-128-EAX", "eid_rotation": {"counter_source": "DEVICE_UPTIME", "period_in_seconds": 5000}}, 400, ["period_in_seconds", "5000"]),
    ],
)
def test_register_rejects_bad_input(hubble_api, api, body, status, words):
    assert_error(api.post(v2(hubble_api), json=body), status, *words)


def test_malformed_json_wrong_types_and_big_bodies_are_4xx(hubble_api, api):
    assert_error(api.post(v2(hubble_api), content=b"{not json", headers={"Content-Type": "application/json"}), 400, "malformed")
    assert_error(api.post(v2(hubble_api), json=["AES-256-CTR"]), 400)
    assert_error(api.patch("/devices", json={"updates": "all"}), 400, "updates")
    huge = {"encryption": "NONE", "names": ["x" * 200] * 6000}
    response = api.post(v2(hubble_api), json=huge)
    assert_error(response, 413)


def test_list_pages_with_total_on_first_page_only(hubble_api, api):
    api.post(v2(hubble_api), json={"encryption": "NONE", "n_devices": 30})
    first = api.get("/devices", params={"limit": 10})
    assert first.status_code == 200
    total = first.json()["total_devices"]
    assert total >= 30
    seen = [d["id"] for d in first.json()["devices"]]
    token = first.headers["Continuation-Token"]
    pages = 1
    while token:
        # re-sent parameters are ignored when a token is given
        page = api.get("/devices", params={"limit": 1000, "sort_ascending": "false"}, headers={"Continuation-Token": token})
        assert page.status_code == 200, page.text
        assert "total_devices" not in page.json()
        assert len(page.json()["devices"]) <= 10
        seen += [d["id"] for d in page.json()["devices"]]
        token = page.headers.get("Continuation-Token")
        pages += 1
    assert len(seen) == total == len(set(seen))
    assert pages == -(-total // 10)
    created = [d["created_ts"] for d in api.get("/devices", params={"limit": 1000}).json()["devices"]]
    assert created == sorted(created)


def test_list_filters_and_sort(hubble_api, api):
    everything = api.get("/devices", params={"limit": 1000}).json()
    devices = everything["devices"]
    sandbox = api.get("/devices", params={"filter_tags": "_env:sandbox", "limit": 1000}).json()
    assert sandbox["total_devices"] == sum(d["tags"]["_env"] == "sandbox" for d in devices) > 0
    assert all(d["tags"]["_env"] == "sandbox" for d in sandbox["devices"])
    both = api.get("/devices", params=[("filter_tags", "_env:sandbox"), ("filter_tags", "_env:production")]).json()
    assert both["total_devices"] == everything["total_devices"]
    never = api.get("/devices", params={"filter_most_recent_packet_ts": "between:0:1", "limit": 1000}).json()
    assert never["total_devices"] == sum(not d["active"] for d in devices) > 0
    assert all(d["most_recent_packet"] == {} for d in never["devices"])
    cut = sorted(d["created_ts"] for d in devices)[len(devices) // 2]
    recent = api.get("/devices", params={"filter_created_ts": f"between:{cut}:9999999999", "limit": 1000}).json()
    assert recent["total_devices"] == sum(d["created_ts"] >= cut for d in devices)
    desc = api.get("/devices", params={"sort_field": "most_recent_packet_ts", "sort_ascending": "false", "limit": 1000}).json()
    heard = [max(p["timestamp"] for p in d["most_recent_packet"].values()) for d in desc["devices"]]
    assert heard == sorted(heard, reverse=True)
    assert desc["total_devices"] == len(desc["devices"]) == sum(d["active"] for d in devices)


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"limit": 9}, ["limit"]),
        ({"limit": 1001}, ["limit"]),
        ({"limit": "ten"}, ["limit"]),
        ({"filter_created_ts": "between:abc"}, ["filter_created_ts"]),
        ({"filter_created_ts": "after:5"}, ["filter_created_ts"]),
        ({"filter_most_recent_packet_ts": "between:10:5"}, ["later than"]),
        ({"filter_tags": "site:lab"}, ["filter_tags"]),
        ({"sort_field": "name"}, ["sort_field"]),
    ],
)
def test_list_rejects_bad_query(api, params, words):
    assert_error(api.get("/devices", params=params), 400, *words)


def test_tampered_device_token_is_400(api):
    token = api.get("/devices", params={"limit": 10}).headers["Continuation-Token"]
    assert_error(api.get("/devices", headers={"Continuation-Token": token[:-2] + "xx"}), 400, "continuation")
    assert_error(api.get("/devices", headers={"Continuation-Token": "garbage"}), 400, "continuation")


def test_get_patch_delete(hubble_api, api):
    device = api.post(v2(hubble_api), json={"encryption": "AES-128-CTR", "tags": [{"site": "a", "x": "1"}]}).json()["devices"][0]
    device_id = device["device_id"]
    renamed = api.patch(f"/devices/{device_id}", json={"set_name": "dock door"})
    assert renamed.status_code == 200 and renamed.json()["name"] == "dock door"
    assert renamed.json()["tags"] == {"site": "a", "x": "1", "_env": "production"}
    retagged = api.patch(f"/devices/{device_id}", json={"set_tags": {"site": "b"}}).json()
    assert retagged["tags"] == {"site": "b", "_env": "production"}  # full replace, _env kept
    assert api.get(f"/devices/{device_id}").json()["name"] == "dock door"
    assert_error(api.patch(f"/devices/{device_id}", json={}), 400, "body", "less than 1 property")  # minProperties: 1
    deleted = api.delete(f"/devices/{device_id}")
    assert deleted.status_code == 200 and deleted.json() == {}
    assert_error(api.get(f"/devices/{device_id}"), 404, device_id)
    assert_error(api.patch(f"/devices/{device_id}", json={"set_name": "x"}), 404)
    assert_error(api.delete(f"/devices/{device_id}"), 404)
    assert_error(api.get("/devices/not-a-uuid"), 400, "device_id")


def test_batch_update(hubble_api, api):
    devices = api.post(v2(hubble_api), json={"encryption": "NONE", "n_devices": 3}).json()["devices"]
    ids = [d["device_id"] for d in devices]
    body = {"updates": [{"device_id": ids[0], "set_name": "one"}, {"device_id": ids[1], "set_tags": {"site": "x"}}]}
    response = api.patch("/devices", json=body)
    assert response.status_code == 200, response.text
    out = response.json()["devices"]
    assert [d["id"] for d in out] == ids[:2]
    assert out[0]["name"] == "one" and out[1]["tags"] == {"site": "x", "_env": "production"}
    assert [r["status"] for r in response.json()["results"]] == ["success", "success"]


def test_batch_update_applies_the_valid_updates_and_reports_the_others(hubble_api, api):
    """Vendor OpenAPI, PATCH /api/org/{org_id}/devices (batch-update-devices): "some updates
    may be applied and others may not"; the 200 body is `{devices: [...]}`. Seed
    001_b35dca0ffecc689b.txt (batch_update_devices, lines ~1250-1262) reads a per-item
    `results[]` with `status` success/error, `device_id` and `error`."""
    devices = api.post(v2(hubble_api), json={"encryption": "NONE", "n_devices": 3}).json()["devices"]
    ids = [d["device_id"] for d in devices]
    unknown = "00000000-0000-4000-8000-000000000000"
    too_many_tags = {f"k{i}": "v" for i in range(10)}  # + _env = 11 > 10
    body = {"updates": [
        {"device_id": ids[0], "set_name": "applied"},
        {"device_id": unknown, "set_name": "x"},
        {"device_id": ids[1], "set_tags": too_many_tags},
        {"device_id": ids[0], "set_name": "second"},
        {"device_id": ids[2], "set_tags": {"site": "y"}},
    ]}  # fmt: skip
    response = api.patch("/devices", json=body)
    assert response.status_code == 200, response.text
    out = response.json()
    assert [d["id"] for d in out["devices"]] == [ids[0], ids[2]]
    assert [(r["device_id"], r["status"]) for r in out["results"]] == [
        (ids[0], "success"), (unknown, "error"), (ids[1], "error"), (ids[0], "error"), (ids[2], "success")]
    assert unknown in out["results"][1]["error"] and "at most 10 tags" in out["results"][2]["error"]
    assert "more than once" in out["results"][3]["error"]
    assert api.get(f"/devices/{ids[0]}").json()["name"] == "applied"
    assert api.get(f"/devices/{ids[1]}").json()["tags"] == {"_env": "production"}  # not applied
    assert api.get(f"/devices/{ids[2]}").json()["tags"] == {"site": "y", "_env": "production"}



def test_batch_update_schema_errors_refuse_the_whole_request(hubble_api, api):
    ids = [d["device_id"] for d in api.post(v2(hubble_api), json={"encryption": "NONE", "n_devices": 1}).json()["devices"]]
    assert_error(api.patch("/devices", json={"updates": [{"device_id": ids[0]}]}), 400)
    assert_error(api.patch("/devices", json={"updates": []}), 400)
    too_many = {"updates": [{"device_id": ids[0], "set_name": "n"}] * 1001}
    assert_error(api.patch("/devices", json=too_many), 400, "updates")


def test_device_scopes(hubble_api, api):
    key = api.post("/key", json={"scopes": ["read-devices"]}).json()["key"]
    with api.__class__(base_url=api.base_url, headers={"Authorization": f"Bearer {key}"}) as reader:
        assert reader.get("/devices").status_code == 200
        assert_error(reader.post(v2(hubble_api), json={"encryption": "NONE"}), 403, "write-devices")
        assert_error(reader.patch("/devices", json={"updates": []}), 403)
