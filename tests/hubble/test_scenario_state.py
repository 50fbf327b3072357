"""Seeding (demo, empty, custom scenarios), determinism by seed, snapshot/restore and
persistence across a restart: the indexes come back with the state."""

from __future__ import annotations

import base64

import pytest
from hubble_helpers import T0, client_for, read_all, start_server

from mockserver.app import create_app
from mockserver.scenarios import ScenarioError
from mockserver.settings import Settings

DAY = 86400


def _app_state(**overrides) -> dict:
    settings = Settings(strict=True, rate_limit=False, clock="frozen", clock_start=T0, **overrides)
    return create_app(settings).state.runtime.snapshot()["tables"]


def test_seed_fixes_every_id_and_payload():
    one, again, other = _app_state(seed=7), _app_state(seed=7), _app_state(seed=8)
    for table in ("hubble.devices", "hubble.packets", "hubble.users", "hubble.keys"):
        assert one[table] == again[table], table
    assert set(one["hubble.devices"]) != set(other["hubble.devices"])
    payloads = [p["payload"] for p in one["hubble.packets"].values()]
    assert payloads != [p["payload"] for p in other["hubble.packets"].values()]
    devices = list(one["hubble.devices"].values())
    assert {d["encryption"] for d in devices} == {"AES-256-CTR", "AES-128-CTR", "AES-128-EAX", "NONE"}
    assert {d["tags"]["_env"] for d in devices} == {"production", "sandbox"}
    heard = [p["rx"] for p in one["hubble.packets"].values()]
    assert min(heard) >= T0 - 7 * DAY and max(heard) <= T0
    assert not one.get("hubble.webhooks")  # a webhook-free start


def test_empty_section_gives_the_org_and_its_bootstrap_key(tmp_path):
    path = tmp_path / "bare.yaml"
    path.write_text("hubble: {}\n")
    server = start_server(scenario=str(path))
    try:
        with client_for(server) as api:
            assert api.get("/devices").json() == {"devices": [], "total_devices": 0}
            assert [k["key_name"] for k in api.get("/key").json()["keys"]] == ["sandbox bootstrap key"]
            assert api.get("/users").json() == {"users": []}
            assert api.get("/packets").json() == {"packets": []}
            assert api.get("/billing/invoices").json() == {"invoices": []}
    finally:
        server.stop()


def test_custom_scenario_keys_devices_and_webhooks(tmp_path):
    path = tmp_path / "custom.yaml"
    path.write_text(
        """
hubble:
  org: {name: Tiny Co}
  keys:
    - {name: fixed, token: my-fixed-token, scopes: [read-devices]}
  devices:
    - {count: 3, encryption: AES-128-EAX, name_prefix: tag, tags: {_env: sandbox}}
    - {names: [gate], encryption: NONE}
  packets: {days: 2, per_device_per_day: 24, active_share: 1.0}
  webhooks:
    - {url: "http://127.0.0.1:9/hook", name: dead, max_batch_size: 10}
  users: {count: 6}
"""
    )
    server = start_server(scenario=str(path), clock="frozen", clock_start=T0)
    try:
        with client_for(server) as admin, client_for(server, token="my-fixed-token") as fixed:
            names = [d["name"] for d in fixed.get("/devices").json()["devices"]]
            assert sorted(names) == ["gate", "tag-001", "tag-002", "tag-003"]
            assert fixed.get("/users").status_code == 403
            assert admin.get("").json()["name"] == "Tiny Co"
            assert len(admin.get("/users", params={"page_size": 100}).json()["users"]) == 6
            assert len(admin.get("/webhooks").json()["webhooks"]) == 1
            assert 150 <= len(admin.get("/packets", params={"start": int(T0 - 3 * DAY)}).json()["packets"]) <= 250
    finally:
        server.stop()


@pytest.mark.parametrize(
    "section",
    [
        "hubble: {devices: [{encryption: DES}]}",
        "hubble: {colour: blue}",
        "hubble: {devices: [{tags: {_env: staging}}]}",
        "hubble: {keys: [{scopes: [devices:read]}]}",
    ],
)
def test_bad_scenarios_are_refused(tmp_path, section):
    path = tmp_path / "bad.yaml"
    path.write_text(section + "\n")
    with pytest.raises((ScenarioError, ValueError)):
        create_app(Settings(scenario=str(path)))


def test_snapshot_and_restore_rebuild_the_indexes(frozen, fapi):
    state = frozen.snapshot()
    before = read_all(fapi)[0]
    url = f"{frozen.hubble_url}/api/v2/org/{frozen.credentials()['hubble']['org_id']}/devices"
    extra = fapi.post(url, json={"encryption": "AES-128-CTR"}).json()["devices"][0]
    frozen.simulate("hubble", "/packets", {"device_ids": [extra["device_id"]], "count": 5})
    assert len(read_all(fapi)[0]) == len(before) + 5
    frozen.restore(state)
    assert read_all(fapi)[0] == before
    assert fapi.get(f"/devices/{extra['device_id']}").status_code == 404
    # the stream goes on from the restored position
    some = fapi.get("/devices", params={"limit": 10}).json()["devices"][0]["id"]
    frozen.simulate("hubble", "/packets", {"device_ids": [some]})
    assert len(read_all(fapi)[0]) == len(before) + 1


def test_state_survives_a_restart(tmp_path):
    db = tmp_path / "state.sqlite"
    first = start_server(state_path=str(db), scenario="empty")
    try:
        with client_for(first) as api:
            url = f"{first.hubble_url}/api/v2/org/{first.credentials()['hubble']['org_id']}/devices"
            device = api.post(url, json={"encryption": "AES-256-CTR", "names": ["keeper"]}).json()["devices"][0]
            key = api.post("/key", json={"name": "kept", "scopes": ["read-packets", "read-devices"]}).json()["key"]
            made = first.simulate("hubble", "/advertisements", {"device_id": device["device_id"], "count": 2, "spacing_seconds": 1})
            location = {"latitude": 1.0, "longitude": 2.0, "altitude": 0.0, "timestamp": made["advertisements"][0]["timestamp"]}
            body = {"ble_locations": [{"location": location, "adv": made["advertisements"][:1]}]}
            assert api.post("/packets", json=body).json() == {"accepted": 1, "decoded": 1}
    finally:
        first.stop()
    second = start_server(state_path=str(db), scenario="empty")
    try:
        with client_for(second, token=key) as api:
            assert api.get(f"/devices/{device['device_id']}").json()["name"] == "keeper"
            packets = api.get("/packets").json()["packets"]
            assert len(packets) == 1 and packets[0]["device"]["id"] == device["device_id"]
            # the decoder knows the device again: its next advertisement decodes
            body = {"ble_locations": [{"location": location, "adv": made["advertisements"][1:]}]}
            assert api.post("/packets", json=body).json() == {"accepted": 1, "decoded": 1}
            assert base64.b64decode(api.get("/packets").json()["packets"][1]["device"]["payload"])
    finally:
        second.stop()
