"""Device and packet views are cached for repeated reads; every change a client can make
or cause shows on the next read (rename, re-tag, a new packet, deletion, reset)."""

from __future__ import annotations

import httpx
import orjson
from hubble_helpers import client_for, register_devices

from mockserver.testing import MockServer


def _devices(client: httpx.Client) -> dict[str, dict]:
    return {d["id"]: d for d in client.get("/devices", params={"limit": 1000}).json()["devices"]}


def _packets(client: httpx.Client, device_id: str) -> list[dict]:
    return client.get("/packets", params={"device_id": device_id}).json()["packets"]


def test_reads_after_changes_show_the_changes(server: MockServer) -> None:
    server.reset()
    client = client_for(server)
    made = register_devices(server, client, 2, names=["a", "b"])
    dev = made[0]["device_id"]
    first = _devices(client)
    assert first[dev]["name"] == "a" and first[dev]["active"] is False
    assert _devices(client) == first  # a repeated read: the same answer

    server.simulate("hubble", "/packets", {"device_ids": [dev], "count": 2})
    heard = _devices(client)[dev]
    assert heard["active"] is True and heard["most_recent_packet"]
    packets = _packets(client, dev)
    assert len(packets) == 2 and {p["device"]["name"] for p in packets} == {"a"}
    assert _packets(client, dev) == packets

    assert client.patch(f"/devices/{dev}", json={"set_name": "renamed", "set_tags": {"k": "v"}}).status_code == 200
    after = _devices(client)[dev]
    assert after["name"] == "renamed" and after["tags"] == {"k": "v", "_env": "production"}
    assert {p["device"]["name"] for p in _packets(client, dev)} == {"renamed"}
    assert _devices(client)[made[1]["device_id"]]["tags"] == {"_env": "production"}  # its batch mate unchanged

    assert client.delete(f"/devices/{dev}").status_code == 200
    assert dev not in _devices(client)
    stream = client.get("/packets").json()["packets"]
    assert {p["device"]["name"] for p in stream if p["device"]["id"] == dev} == {"a"}  # as they arrived

    server.reset("hubble")
    assert dev not in _devices(client)


def test_get_device_shows_every_change_and_answers_the_encoders_bytes(server: MockServer) -> None:
    server.reset()
    client = client_for(server)
    dev = register_devices(server, client, encryption="AES-128-EAX")[0]["device_id"]

    def read() -> dict:
        answers = [client.get(f"/devices/{dev}") for _ in range(2)]
        assert answers[0].status_code == 200, answers[0].text
        assert answers[0].content == answers[1].content == orjson.dumps(answers[0].json())
        return answers[0].json()

    first = read()
    assert first["active"] is False and first["encryption"] == "AES-128-EAX" and "eid_rotation" in first
    server.simulate("hubble", "/packets", {"device_ids": [dev], "count": 1})
    heard = read()
    assert heard["active"] is True and heard["most_recent_packet"]
    assert client.patch(f"/devices/{dev}", json={"set_name": "renamed"}).status_code == 200
    assert read() == {**heard, "name": "renamed"}
