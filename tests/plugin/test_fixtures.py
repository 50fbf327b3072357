"""The plugin's fixtures, used exactly as a downstream project uses them (the plugin is
loaded through its `pytest11` entry point), against the real server they start."""

from __future__ import annotations

import asyncio
import socket

import httpx
import pytest

LEFTOVER = "left-behind-by-the-previous-test"


def test_mockserver_is_a_running_server_on_loopback(mockserver):
    assert mockserver.base_url.startswith("http://127.0.0.1:")
    assert httpx.get(f"{mockserver.base_url}/_mock/health").json() == {"status": "ok"}
    creds = mockserver.credentials()
    assert creds["hubble"]["base_url"] == f"{mockserver.base_url}/hubble"
    with pytest.raises(OSError):  # bound to 127.0.0.1 only, not every loopback address
        socket.create_connection(("127.0.0.2", mockserver.port), timeout=2).close()


def test_hubble_api_registers_a_device_with_its_key(hubble_api):
    device = hubble_api.add_device(LEFTOVER)
    assert device["name"] == LEFTOVER and device["key"]
    assert any(d["id"] == device["device_id"] for d in hubble_api.devices())
    r = hubble_api.client.get(hubble_api.org_path("/devices"))  # the raw client is ready too
    assert r.status_code == 200


def test_hubble_state_is_reset_before_each_test(hubble_api):
    assert all(d["name"] != LEFTOVER for d in hubble_api.devices())


def test_packets_reach_the_webhook_sink(hubble_api, webhook_sink):
    device = hubble_api.add_device("tracker")
    hook = hubble_api.add_webhook(webhook_sink.url)
    hubble_api.transmit(device["device_id"], count=3)
    webhook_sink.wait_until(lambda reqs: sum(len(r.json()["packets"]) for r in reqs) >= 3)
    first = webhook_sink.requests[0]
    assert first.header("HTTP-X-HUBBLE-TOKEN") == hook["secret"]
    assert {p["device"]["id"] for r in webhook_sink.requests for p in r.json()["packets"]} == {device["device_id"]}


def test_mock_clock_fast_forwards_a_bumblebee_retry(bumblebee, webhook_sink, mock_clock):
    bumblebee.add_webhook(webhook_sink.url, data_types=["temperature/create"])
    webhook_sink.script(503)  # the first attempt fails, the retry succeeds
    bumblebee.report("Ref001", data_type="temperature/create", degrees=21.5)
    webhook_sink.wait_for(1)
    bumblebee.server.wait_idle()
    (message,) = [m for m in bumblebee.deliveries() if m["event_type"] == "temperature/create"]
    assert message["state"] == "failed"
    start = mock_clock.now()
    assert message["next_attempt_at"] == pytest.approx(start + 60)
    result = mock_clock.advance(60)  # Bumblebee retries after 1 minute
    assert result["timers_fired"] >= 1
    assert len(webhook_sink.requests) == 2
    assert webhook_sink.requests[1].json() == webhook_sink.requests[0].json()
    (message,) = [m for m in bumblebee.deliveries() if m["event_type"] == "temperature/create"]
    assert message["state"] == "sent" and [a["status"] for a in message["attempts"]] == [503, 200]
    assert mock_clock.now() == pytest.approx(start + 60)


def test_mock_clock_hands_the_clock_back_afterwards(mockserver, mock_clock):
    mock_clock.advance(3 * 3600)
    far = mock_clock.now()
    mockserver.reset_clock()  # what the fixture's teardown does
    clock = mockserver.clock()
    assert clock["mode"] == mockserver.settings.clock and clock["now"] < far - 3 * 3600 + 60
    mockserver.freeze()


def test_hubby_api_signs_and_books(hubby_api, mock_clock):
    if "hubby" not in hubby_api.server.runtime.backends:
        pytest.skip("the Hubby API is not mounted in this build")
    mock_clock.advance(600)  # signatures follow the fake's clock, not the wall's
    booking = hubby_api.create_booking(booking_id="PLUGIN-1")
    assert booking
    r = hubby_api.client.get("/packages")
    assert r.status_code == 200
    unsigned = httpx.get(f"{hubby_api.base_url}/packages")
    assert unsigned.status_code == 401


def test_faults_are_scoped_to_the_test(hubble_api, mockserver):
    mockserver.add_fault(api="hubble", operation_id="list-devices", status=503)
    r = hubble_api.client.get(hubble_api.org_path("/devices"))
    assert r.status_code == 503 and r.json()["code"] == 503
    entry = hubble_api.requests(operation_id="list-devices")[0]
    assert entry["fault"]["status"] == 503


def test_no_fault_is_left_over_from_the_previous_test(hubble_api, mockserver):
    assert mockserver.faults() == []
    assert hubble_api.client.get(hubble_api.org_path("/devices")).status_code == 200


def test_snapshot_and_restore(hubble_api, mockserver):
    before = mockserver.snapshot()
    hubble_api.add_device("temporary")
    assert any(d["name"] == "temporary" for d in hubble_api.devices())
    mockserver.restore(before)
    assert all(d["name"] != "temporary" for d in hubble_api.devices())


def test_in_process_mode_through_an_asgi_transport(mockserver_asgi):
    async def scenario() -> tuple[int, int, int]:
        async with mockserver_asgi.client("hubble") as client:
            org = mockserver_asgi.credentials["hubble"]["org_id"]
            made = await client.post(f"/api/v2/org/{org}/devices", json={"n_devices": 2, "encryption": "AES-256-CTR"})
            listed = await client.get(f"/api/org/{org}/devices")
        async with mockserver_asgi.client() as control:
            health = await control.get("/_mock/health")
        return made.status_code, len(listed.json()["devices"]), health.status_code

    made, _count, health = asyncio.run(scenario())
    assert (made, health) == (200, 200)
    fired = asyncio.run(mockserver_asgi.advance(60))
    assert fired >= 0


def test_in_process_state_is_reset_per_test(mockserver_asgi):
    before = len(mockserver_asgi.runtime.store.table("hubble.devices"))

    async def add() -> int:
        async with mockserver_asgi.client("hubble") as client:
            org = mockserver_asgi.credentials["hubble"]["org_id"]
            r = await client.post(f"/api/v2/org/{org}/devices", json={"n_devices": 1, "encryption": "NONE"})
            return r.status_code

    assert asyncio.run(add()) == 200
    assert len(mockserver_asgi.runtime.store.table("hubble.devices")) == before + 1
    mockserver_asgi.reset()
    assert len(mockserver_asgi.runtime.store.table("hubble.devices")) == before
