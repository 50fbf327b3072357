"""The packet stream (start/end, Retry-After, device and platform-tag filters, 1000-packet
pages, tokens) and ingest/decode of real encrypted advertisements, on a frozen clock."""

from __future__ import annotations

import base64

import pytest
from hubble_helpers import T0, assert_error, client_for, read_all
from hubblenetwork import crypto as sdk_crypto

DAY = 86400


@pytest.fixture
def api(server):
    server.reset("hubble")
    with client_for(server) as client:
        yield client


def register(server, api, encryption="AES-256-CTR", n=1, **body):
    url = f"{server.hubble_url}/api/v2/org/{server.credentials()['hubble']['org_id']}/devices"
    response = api.post(url, json={"encryption": encryption, "n_devices": n, **body})
    assert response.status_code == 200, response.text
    return response.json()["devices"]


def transmit(server, device_ids, count=1, **body):
    return server.simulate("hubble", "/packets", {"device_ids": device_ids, "count": count, **body})


def test_simulated_packets_have_the_list_shape(server, api):
    (device,) = register(server, api)
    result = transmit(server, [device["device_id"]], count=3, spacing_seconds=60)
    assert result["created"] == 3
    heard = [p["device"]["timestamp"] for p in result["packets"]]
    now = server.now()
    assert heard == [now - 120, now - 60, now]
    packets, pages = read_all(api)
    assert len(packets) == 3 and pages[-1].headers["Retry-After"]
    packet = packets[0]
    assert set(packet) == {"location", "device", "network_type"}
    assert packet["device"]["id"] == device["device_id"]
    assert packet["device"]["counter"] == int(now - 120) // DAY  # UNIX_TIME counter: the Unix day
    assert packet["device"]["sequence_number"] == 0
    assert {"latitude", "longitude", "altitude", "timestamp"} <= set(packet["location"])
    assert base64.b64decode(packet["device"]["payload"])


def test_default_start_is_seven_days_back_and_end_ends_paging(server, api):
    ids = [d["device_id"] for d in register(server, api, n=2)]
    transmit(server, ids)  # at T
    server.advance(8 * DAY)
    transmit(server, ids)  # at T + 8 days
    recent, pages = read_all(api)
    assert len(recent) == 2 and pages[-1].headers["Continuation-Token"] and int(pages[-1].headers["Retry-After"]) > 0
    everything, _ = read_all(api, {"start": int(server.now() - 9 * DAY)})
    assert len(everything) == 4
    bounded, pages = read_all(api, {"start": int(server.now() - 9 * DAY), "end": int(server.now() - DAY)})
    assert len(bounded) == 2
    assert pages[-1].headers["Continuation-Token"] == "" and "Retry-After" not in pages[-1].headers


def test_caught_up_reader_gets_retry_after_and_later_packets(server, api):
    (device,) = register(server, api)
    transmit(server, [device["device_id"]], count=2)
    first = api.get("/packets")
    assert len(first.json()["packets"]) == 2
    token = first.headers["Continuation-Token"]
    assert token and 0 < int(first.headers["Retry-After"]) <= 300
    idle = api.get("/packets", headers={"Continuation-Token": token})
    assert idle.json()["packets"] == [] and idle.headers["Retry-After"]
    transmit(server, [device["device_id"]], count=3)
    more = api.get("/packets", headers={"Continuation-Token": idle.headers["Continuation-Token"]})
    assert len(more.json()["packets"]) == 3


def test_future_end_waits_then_finishes(server, api):
    (device,) = register(server, api)
    end = int(server.now()) + 120
    transmit(server, [device["device_id"]])
    page = api.get("/packets", params={"end": end})
    assert len(page.json()["packets"]) == 1
    assert page.headers["Continuation-Token"] and int(page.headers["Retry-After"]) <= 120
    server.advance(60)
    transmit(server, [device["device_id"]])
    page = api.get("/packets", headers={"Continuation-Token": page.headers["Continuation-Token"]})
    assert len(page.json()["packets"]) == 1
    server.advance(120)
    transmit(server, [device["device_id"]])  # after `end`: not part of this read
    page = api.get("/packets", headers={"Continuation-Token": page.headers["Continuation-Token"]})
    assert page.json()["packets"] == [] and page.headers["Continuation-Token"] == ""


def test_pages_hold_at_most_1000_packets(server, api):
    ids = [d["device_id"] for d in register(server, api, n=3)]
    assert transmit(server, ids, count=700, spacing_seconds=1)["created"] == 2100
    packets, pages = read_all(api)
    assert [len(p.json()["packets"]) for p in pages] == [1000, 1000, 100]
    assert "Retry-After" not in pages[0].headers and pages[-1].headers["Retry-After"]
    heard = [p["device"]["timestamp"] for p in packets]
    assert heard == sorted(heard)  # arrival order follows the hearing times here


def test_device_filter_pages_end_and_tokens_ignore_new_params(server, api):
    a, b = (d["device_id"] for d in register(server, api, n=2))
    transmit(server, [a, b], count=600, spacing_seconds=1)
    first = api.get("/packets", params={"device_id": a})
    assert len(first.json()["packets"]) == 600
    assert {p["device"]["id"] for p in first.json()["packets"]} == {a}
    assert first.headers["Continuation-Token"] == "" and "Retry-After" not in first.headers
    transmit(server, [a], count=1001)
    page1 = api.get("/packets", params={"device_id": a})
    assert len(page1.json()["packets"]) == 1000
    # the token carries the original query: a re-sent device_id is ignored
    page2 = api.get("/packets", params={"device_id": b}, headers={"Continuation-Token": page1.headers["Continuation-Token"]})
    assert len(page2.json()["packets"]) == 601 and {p["device"]["id"] for p in page2.json()["packets"]} == {a}
    assert page2.headers["Continuation-Token"] == ""


def test_platform_tag_filter(server, api):
    (prod,) = register(server, api)
    (sand,) = register(server, api, tags=[{"_env": "sandbox"}])
    transmit(server, [prod["device_id"], sand["device_id"]], count=2)
    sandbox = api.get("/packets", params={"filter_tags": "_env:sandbox"}).json()["packets"]
    assert len(sandbox) == 2 and {p["device"]["id"] for p in sandbox} == {sand["device_id"]}
    both = api.get("/packets", params=[("filter_tags", "_env:sandbox"), ("filter_tags", "_env:production")])
    assert len(both.json()["packets"]) == 4
    sandbox_device = api.get("/packets", params={"filter_tags": "_env:production", "device_id": sand["device_id"]})
    assert sandbox_device.json()["packets"] == []
    assert_error(api.get("/packets", params={"filter_tags": "site:lab"}), 400, "filter_tags")


def test_tampered_expired_and_foreign_tokens_are_400(server, api):
    (device,) = register(server, api)
    transmit(server, [device["device_id"]])
    token = api.get("/packets").headers["Continuation-Token"]
    assert_error(api.get("/packets", headers={"Continuation-Token": token[:-3] + "abc"}), 400, "continuation")
    assert_error(api.get("/packets", headers={"Continuation-Token": "x.y"}), 400, "continuation")
    devices_token = api.get("/devices", params={"limit": 10})
    assert "Continuation-Token" not in devices_token.headers  # one device: a single page
    server.advance(25 * 3600)
    assert_error(api.get("/packets", headers={"Continuation-Token": token}), 400, "expired")


@pytest.mark.parametrize(
    ("params", "status", "words"),
    [
        ({"start": -5}, 400, ["start"]),
        ({"start": "yesterday"}, 400, ["start"]),
        ({"start": 2000, "end": 1000}, 400, ["before start"]),
        ({"device_id": "nope"}, 400, ["device_id"]),
        ({"device_id": "00000000-0000-4000-8000-000000000000"}, 404, ["device"]),
    ],
)
def test_bad_packet_queries(api, params, status, words):
    assert_error(api.get("/packets", params=params), status, *words)


# -- ingest and decode with real encrypted advertisements ----------------------------------------


def sdk_ctr_adv(key: bytes, counter: int, seq_no: int, plaintext: bytes) -> bytes:
    """An AES-CTR advertisement built with the official SDK's own helpers."""
    enc_key = sdk_crypto._get_encryption_key(key, counter, seq_no, keylen=len(key))
    nonce = sdk_crypto._get_nonce(key, counter, seq_no, keylen=len(key))
    ciphertext = sdk_crypto._aes_decrypt(enc_key, nonce, plaintext)
    tag = sdk_crypto._get_auth_tag(enc_key, ciphertext)
    return (seq_no & 0x3FF).to_bytes(2, "big") + sdk_crypto.ctr_eid(key, counter) + tag + ciphertext


def _adv(raw: bytes, at: float, rssi: int = -70) -> dict:
    return {"payload": base64.b64encode(raw).decode(), "rssi": rssi, "timestamp": at}


LOCATION = {"latitude": 47.61, "longitude": -122.33, "altitude": 10.0, "horizontal_accuracy": 5.0,
            "vertical_accuracy": 5.0, "timestamp": T0}  # fmt: skip


def test_ingest_decrypts_with_device_keys(server, api):
    ctr256, ctr128 = register(server, api, "AES-256-CTR")[0], register(server, api, "AES-128-CTR")[0]
    now = server.now()
    day = int(now) // DAY
    advs = [
        _adv(sdk_ctr_adv(base64.b64decode(ctr256["key"]), day, 7, b"temp=21.5"), now),
        _adv(sdk_ctr_adv(base64.b64decode(ctr128["key"]), day - 1, 1023, b"\x01\x02"), now - 10),
        _adv(b"\x00\x05" + bytes(20), now),  # nobody's packet
    ]
    response = api.post("/packets", json={"ble_locations": [{"location": LOCATION, "adv": advs}]})
    assert response.status_code == 200, response.text
    assert response.json() == {"accepted": 3, "decoded": 2}
    first = api.get("/packets", params={"device_id": ctr256["device_id"]}).json()["packets"]
    assert len(first) == 1
    assert base64.b64decode(first[0]["device"]["payload"]) == b"temp=21.5"
    assert (first[0]["device"]["counter"], first[0]["device"]["sequence_number"]) == (day, 7)
    assert first[0]["location"]["latitude"] == 47.61
    second = api.get("/packets", params={"device_id": ctr128["device_id"]}).json()["packets"]
    assert base64.b64decode(second[0]["device"]["payload"]) == b"\x01\x02"
    detail = api.get(f"/devices/{ctr256['device_id']}").json()
    assert detail["active"] is True and detail["most_recent_packet"]["terrestrial"]["timestamp"] == now
    # the same advertisement heard again (another gateway) is not stored twice
    again = api.post("/packets", json={"ble_locations": [{"location": LOCATION, "adv": advs[:1]}]})
    assert again.json() == {"accepted": 1, "decoded": 1}
    assert len(api.get("/packets", params={"device_id": ctr256["device_id"]}).json()["packets"]) == 1


def test_decode_every_encrypted_mode_and_store(server, api):
    devices = {
        "ctr": register(server, api, "AES-256-CTR")[0],
        "uptime": register(server, api, "AES-128-CTR", eid_rotation={"counter_source": "DEVICE_UPTIME"})[0],
        "eax": register(server, api, "AES-128-EAX", eid_rotation={"counter_source": "DEVICE_UPTIME", "period_exponent": 10})[0],
    }
    now = server.now()
    advs, expected = [], {}
    for name, device in devices.items():
        made = server.simulate("hubble", "/advertisements", {"device_id": device["device_id"], "payload": base64.b64encode(name.encode()).decode()})
        adv = dict(made["advertisements"][0], location=LOCATION)
        advs.append(adv)
        expected[adv["payload"]] = (device["device_id"], name.encode())
    advs.append(dict(_adv(bytes([8]) + bytes(20), now), location=LOCATION))  # an EAX-looking stranger
    response = api.post("/packets/decode", json={"advertisements": advs, "metadata": {"source": "test"}})
    assert response.status_code == 200, response.text
    decoded = response.json()["packets"]
    assert len(decoded) == 3
    for item in decoded:
        device_id, plain = expected[item["advertisement"]["payload"]]
        assert item["device"]["id"] == device_id
        assert base64.b64decode(item["device"]["payload"]) == plain
    stored = {p["device"]["id"] for p in read_all(api)[0]}
    assert stored == {d["device_id"] for d in devices.values()}
    again = api.post("/packets/decode", json={"advertisements": advs[:1]})
    assert len(again.json()["packets"]) == 1
    assert len(read_all(api)[0]) == 3  # decoded again, stored once


def test_decode_refuses_whole_batch(server, api):
    (device,) = register(server, api)
    now = server.now()
    good = dict(_adv(sdk_ctr_adv(base64.b64decode(device["key"]), int(now) // DAY, 1, b"x"), now), location=LOCATION)
    old = dict(good, timestamp=now - 73 * 3600)
    ahead = dict(good, timestamp=now + 3 * 3600)
    assert_error(api.post("/packets/decode", json={"advertisements": [good, old]}), 400, "decode window")
    assert_error(api.post("/packets/decode", json={"advertisements": [ahead]}), 400, "decode window")
    assert_error(api.post("/packets/decode", json={"advertisements": [dict(good, payload="")]}), 400, "payload")
    assert_error(api.post("/packets/decode", json={"advertisements": [good] * 26}), 400, "advertisements")
    assert_error(api.post("/packets/decode", json={"advertisements": []}), 400)
    assert_error(api.post("/packets", json={"ble_locations": [{"location": LOCATION, "adv": [{"payload": "!!!!", "rssi": -1, "timestamp": now}]}]}), 400)
    assert read_all(api)[0] == []


def test_packet_scope_is_required(server, api):
    key = api.post("/key", json={"scopes": ["read-devices"]}).json()["key"]
    with client_for(server, token=key) as reader:
        assert_error(reader.get("/packets"), 403, "read-packets")
        assert_error(reader.post("/packets/decode", json={"advertisements": []}), 403)


def test_simulation_control_rejects_bad_input(server, api):
    control = server.control
    assert control.post("/hubble/packets", json={"count": 0}).status_code == 400
    assert control.post("/hubble/packets", json={"device_ids": ["nope"]}).status_code == 404
    assert control.post("/hubble/packets", content=b"{oops").status_code == 400
    assert control.post("/hubble/packets", json={"network_type": "LORA"}).status_code == 400
    assert control.post("/hubble/packets", json={"payload": "***"}).status_code == 400
    assert control.post("/hubble/advertisements", json={"device_id": "nope"}).status_code == 404
