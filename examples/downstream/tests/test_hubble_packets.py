"""Register a Hubble device, subscribe a webhook, and receive the device's packets."""


def test_a_registered_device_delivers_its_packets_to_my_webhook(hubble_api, webhook_sink):
    device = hubble_api.add_device("pallet-tracker-7")
    assert device["key"], "an encrypted device comes with its key at registration"

    hook = hubble_api.add_webhook(webhook_sink.url, name="my-receiver")
    hubble_api.transmit(device["device_id"], count=2)

    webhook_sink.wait_until(lambda reqs: sum(len(r.json()["packets"]) for r in reqs) >= 2)
    delivery = webhook_sink.requests[0]
    assert delivery.header("HTTP-X-HUBBLE-TOKEN") == hook["secret"]
    packet = delivery.json()["packets"][0]
    assert packet["device"]["id"] == device["device_id"]
    assert packet["device"]["name"] == "pallet-tracker-7"


def test_my_client_survives_a_503(hubble_api, mockserver):
    mockserver.add_fault(api="hubble", operation_id="list-devices", status=503, count=1)
    url = hubble_api.org_path("/devices")
    assert hubble_api.client.get(url).status_code == 503
    assert hubble_api.client.get(url).status_code == 200  # a retrying client gets through
