"""Issue 10: a device page whose views are all unchanged goes out pre-encoded. The bytes
must be exactly what encoding the answer gives, with and without `total_devices`, and a
change to any device on the page (a rename, a new packet) must show."""

from __future__ import annotations

import httpx
import orjson
from hubble_helpers import client_for

from mockserver.testing import MockServer


def test_device_pages_are_byte_identical_to_the_encoder(server: MockServer) -> None:
    server.reset()
    client = client_for(server)
    creds = server.credentials()["hubble"]
    v2 = f"{creds['base_url']}/api/v2/org/{creds['org_id']}/devices"
    assert client.post(v2, json={"n_devices": 12, "encryption": "AES-256-CTR"}).status_code == 200
    answers = []
    for _ in range(2):
        answers.append(client.get("/devices", params={"limit": 10}))  # a first page: total_devices, a token
        token = answers[-1].headers["Continuation-Token"]
        answers.append(client.get("/devices", params={"limit": 10}, headers={"Continuation-Token": token}))  # no total
    first, second = (d["id"] for d in answers[0].json()["devices"][:2])
    assert client.patch(f"/devices/{first}", json={"set_name": "renamed"}).status_code == 200
    server.simulate("hubble", "/packets", {"device_ids": [second], "count": 1})
    after = client.get("/devices", params={"limit": 10})
    for r in [*answers, after]:
        assert r.status_code == 200, r.text
        assert r.content == orjson.dumps(r.json())
    assert "total_devices" in answers[0].json() and "total_devices" not in answers[1].json()
    assert answers[0].content == answers[2].content and answers[1].content == answers[3].content
    views = {d["id"]: d for d in after.json()["devices"]}
    assert views[first]["name"] == "renamed" and views[second]["active"] is True
    assert after.json()["total_devices"] == answers[0].json()["total_devices"] == 12


def test_a_repeated_walk_follows_every_change_to_devices_and_packets(server: MockServer) -> None:
    """Repeated list reads reuse the walk they found while neither devices nor packets
    changed: a new packet reorders a last-heard sort, a delete and a registration show."""
    server.reset()
    client = client_for(server)
    creds = server.credentials()["hubble"]
    v2 = f"{creds['base_url']}/api/v2/org/{creds['org_id']}/devices"
    made = client.post(v2, json={"n_devices": 3, "encryption": "AES-256-CTR"}).json()["devices"]
    ids = [d["device_id"] for d in made]
    try:
        _walks_follow_changes(server, client, v2, ids)
    finally:
        server.reset_clock()


def _walks_follow_changes(server: MockServer, client: httpx.Client, v2: str, ids: list[str]) -> None:
    for device in ids:
        server.advance(10)  # each device heard at its own second
        server.simulate("hubble", "/packets", {"device_ids": [device], "count": 1})
    by_heard = {"limit": 10, "sort_field": "most_recent_packet_ts", "sort_ascending": False}

    def heard_order() -> list[str]:
        pages = [client.get("/devices", params=by_heard) for _ in range(2)]
        assert pages[0].status_code == 200, pages[0].text
        assert pages[0].content == pages[1].content
        return [d["id"] for d in pages[0].json()["devices"]][:3]

    assert heard_order() == [ids[2], ids[1], ids[0]]
    server.advance(10)
    server.simulate("hubble", "/packets", {"device_ids": [ids[0]], "count": 1})  # now heard last
    assert heard_order() == [ids[0], ids[2], ids[1]]
    total = client.get("/devices", params={"limit": 10}).json()["total_devices"]
    assert client.delete(f"/devices/{ids[0]}").status_code == 200
    assert ids[0] not in heard_order()
    assert client.get("/devices", params={"limit": 10}).json()["total_devices"] == total - 1
    client.post(v2, json={"n_devices": 1, "encryption": "AES-256-CTR"})
    assert client.get("/devices", params={"limit": 10}).json()["total_devices"] == total
