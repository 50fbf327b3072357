"""Packet webhooks: CRUD with a secret, batches delivered to a real receiver with the token
header, nothing after deletion, and the sample receiver `POST /api/webhook/testBatch`."""

from __future__ import annotations

import httpx
import pytest
from hubble_helpers import assert_error

PACKET_KEYS = {"location", "device", "network_type"}


def test_webhook_crud(api):
    created = api.post("/webhooks", json={"url": "https://hooks.example.com/a", "name": "primary"})
    assert created.status_code == 200, created.text
    hook = created.json()
    assert hook["max_batch_size"] == 100 and hook["secret"] and hook["name"] == "primary"
    listed = api.get("/webhooks").json()["webhooks"]
    assert listed == [{k: v for k, v in hook.items() if k != "secret"}]
    updated = api.patch(f"/webhooks/{hook['webhook_id']}", json={"set_max_batch_size": 250, "set_name": "p2"}).json()
    assert (updated["max_batch_size"], updated["name"], updated["url"]) == (250, "p2", hook["url"])
    assert api.delete(f"/webhooks/{hook['webhook_id']}").json() == {}
    assert api.get("/webhooks").json()["webhooks"] == []
    assert_error(api.delete(f"/webhooks/{hook['webhook_id']}"), 404)
    assert_error(api.patch(f"/webhooks/{hook['webhook_id']}", json={"set_name": "x"}), 404)


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"url": "not a url"},
        {"url": "https://x.example/" + "a" * 2000},
        {"url": "https://x.example", "max_batch_size": 5},
        {"url": "https://x.example", "max_batch_size": 1001},
        {"url": "https://x.example", "name": "n" * 251},
    ],
)
def test_webhook_bad_input(api, body):
    assert_error(api.post("/webhooks", json=body), 400)


def test_packets_reach_the_webhook_in_batches_with_the_token(hubble_api, api, webhook_sink):
    hook = api.post("/webhooks", json={"url": webhook_sink.url, "name": "sink", "max_batch_size": 10}).json()
    devices = api.get("/devices", params={"limit": 1000}).json()["devices"][:5]
    result = hubble_api.server.simulate("hubble", "/packets", {"device_ids": [d["id"] for d in devices], "count": 5})
    assert result["created"] == 25
    received = webhook_sink.wait_for(3, timeout=30)
    batches = [r.json()["packets"] for r in received]
    assert sorted(len(b) for b in batches) == [5, 10, 10]
    for request in received:
        assert request.header("HTTP-X-HUBBLE-TOKEN") == hook["secret"]
        assert request.header("Content-Type").startswith("application/json")
    delivered = [p for b in batches for p in b]
    assert all(set(p) == PACKET_KEYS for p in delivered)
    assert {p["device"]["id"] for p in delivered} == {d["id"] for d in devices}
    assert sorted(p["device"]["payload"] for p in delivered) == sorted(p["device"]["payload"] for p in result["packets"])
    # the stream and the webhook agree
    hubble_api.server.wait_idle()
    metrics = api.get("/webhook_metrics").json()
    assert metrics["total_requests"] >= 3 and metrics["success_rate"] == 1.0

    webhook_sink.clear()
    assert api.delete(f"/webhooks/{hook['webhook_id']}").status_code == 200
    hubble_api.server.simulate("hubble", "/packets", {"device_ids": [devices[0]["id"]]})
    hubble_api.server.wait_idle()
    assert webhook_sink.requests == []


def test_sample_receiver_takes_a_batch_with_a_known_secret(hubble_api, api):
    hook = api.post("/webhooks", json={"url": "https://hooks.example.com/a"}).json()
    packet = hubble_api.server.simulate("hubble", "/packets", {"count": 1})["packets"][0]
    url = f"{hubble_api.base_url}/api/webhook/testBatch"
    with httpx.Client(trust_env=False) as plain:
        ok = plain.post(url, json={"packets": [packet]}, headers={"HTTP-X-HUBBLE-TOKEN": hook["secret"]})
        assert ok.status_code == 200 and ok.json() == {}
        assert_error(plain.post(url, json={"packets": [packet]}, headers={"HTTP-X-HUBBLE-TOKEN": "wrong"}), 401, "secret")
        assert_error(plain.post(url, json={"packets": [packet]}), 400, "HTTP-X-HUBBLE-TOKEN")
        assert_error(plain.post(url, json={"packets": []}, headers={"HTTP-X-HUBBLE-TOKEN": hook["secret"]}), 400)


def test_webhook_scopes(hubble_api, api):
    key = api.post("/key", json={"scopes": ["read-webhooks"]}).json()["key"]
    with httpx.Client(base_url=str(api.base_url), headers={"Authorization": f"Bearer {key}"}, trust_env=False) as reader:
        assert reader.get("/webhooks").status_code == 200
        assert_error(reader.post("/webhooks", json={"url": "https://x.example"}), 403, "write-webhooks")
