"""A Bumblebee webhook whose receiver is down, retried after a minute on the mock clock."""


def test_a_failed_delivery_is_retried_after_one_minute(bumblebee_api, webhook_sink, mock_clock):
    node = bumblebee_api.add_node()  # a tracker of the test's own: works with any scenario
    bumblebee_api.add_webhook(webhook_sink.url, data_types=["geo_location/create"])
    webhook_sink.script(500)  # my receiver fails once, then answers 200

    bumblebee_api.report(node["id"], data_type="geo_location/create")
    first = webhook_sink.wait_for(1)[0]

    mock_clock.advance(59)
    assert len(webhook_sink.requests) == 1  # not yet: Bumblebee waits a full minute

    mock_clock.advance(1)
    retry = webhook_sink.wait_for(2)[1]
    assert retry.json() == first.json()
    (message,) = bumblebee_api.deliveries(event_type="geo_location/create")
    assert message["state"] == "sent"
    assert [a["status"] for a in message["attempts"]] == [500, 200]
