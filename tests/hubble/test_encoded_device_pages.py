"""Issue 10: a device page whose views are all unchanged goes out pre-encoded. The bytes
must be exactly what encoding the answer gives, with and without `total_devices`, and a
change to any device on the page (a rename, a new packet) must show."""

from __future__ import annotations

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
