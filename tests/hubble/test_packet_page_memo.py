"""Issue 10: a repeated packets read reuses the page's walk over the stream. The default
window's `start` moves with the clock, so a memo keyed on the walk must still drop packets
the window has left behind, and take in what arrived since."""

from __future__ import annotations

import orjson
from hubble_helpers import client_for, register_devices

from mockserver.testing import MockServer

DAY = 86_400


def _timestamps(client, device: str, **params) -> list[float]:  # noqa: ANN001
    r = client.get("/packets", params={"device_id": device, **params})
    assert r.status_code == 200, r.text
    return [p["device"]["timestamp"] for p in r.json()["packets"]]


def test_the_moving_window_drops_packets_from_a_repeated_read(server: MockServer) -> None:
    server.reset()
    client = client_for(server)
    device = register_devices(server, client)[0]["device_id"]
    # heard 4, 3, 2, 1 and 0 days ago, all arriving now
    server.simulate("hubble", "/packets", {"device_ids": [device], "count": 5, "spacing_seconds": DAY})
    now = server.now()
    heard = [now - k * DAY for k in (4, 3, 2, 1, 0)]
    assert _timestamps(client, device) == heard
    assert _timestamps(client, device) == heard  # the same read again
    server.advance(3.5 * DAY)  # the 7-day window now starts after the first packet
    assert _timestamps(client, device) == heard[1:]
    server.advance(DAY)
    assert _timestamps(client, device) == heard[2:]
    # an explicit start right on a packet takes it in, a moment later leaves it out
    assert _timestamps(client, device, start=int(heard[2])) == heard[2:]
    assert _timestamps(client, device, start=int(heard[2]) + 1) == heard[3:]
    assert _timestamps(client, device, start=int(heard[2])) == heard[2:]
    server.simulate("hubble", "/packets", {"device_ids": [device], "count": 1})  # a new one arrives
    assert _timestamps(client, device) == [*heard[2:], server.now()]


def test_a_repeated_page_is_sent_as_the_encoder_would_write_it(server: MockServer) -> None:
    """A remembered page goes out pre-encoded: byte for byte what encoding its views gives,
    before and after the page's device changes."""
    server.reset()
    client = client_for(server)
    device = register_devices(server, client)[0]["device_id"]
    server.simulate("hubble", "/packets", {"device_ids": [device], "count": 3})
    pages = [client.get("/packets", params={"device_id": device}) for _ in range(2)]
    assert client.patch(f"/devices/{device}", json={"set_name": "renamed"}).status_code == 200
    pages += [client.get("/packets", params={"device_id": device}) for _ in range(2)]
    for page in pages:
        assert page.status_code == 200
        assert page.content == orjson.dumps(page.json())
    assert pages[0].content == pages[1].content != pages[2].content == pages[3].content
    assert {p["device"]["name"] for p in pages[3].json()["packets"]} == {"renamed"}
