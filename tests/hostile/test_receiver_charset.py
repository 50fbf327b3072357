"""Item 1, through a webhook receiver: a receiver whose answer declares a charset that
decodes to lone surrogates (utf-7, unicode_escape) must not poison the delivery log that
the control plane and Bumblebee's messages API show."""

from __future__ import annotations

import pytest

from mockserver.testing import WebhookSink

from .conftest import Door


@pytest.mark.parametrize("charset,body", [("utf-7", b"+2AA-"), ("unicode_escape", b"\\ud800 oops")])
def test_a_receiver_answer_with_a_hostile_charset_is_stored_safely(door: Door, charset: str, body: bytes):
    with WebhookSink() as sink:
        hook = door.http.post(
            "/bumblebee/webhooks",
            json={"url": sink.url, "data_types": ["battery_level/update"]},
        )
        assert hook.status_code == 201, hook.text
        sink.script({"status": 500, "body": body, "headers": {"Content-Type": f"text/plain; charset={charset}"}})
        r = door.http.post("/_mock/bumblebee/nodes/Ref001/report", json={"data_type": "battery_level/update"})
        assert r.status_code == 201, r.text
        sink.wait_for(1)
        door.server.wait_idle()
        deliveries = door.http.get("/_mock/webhooks/deliveries", params={"api": "bumblebee"})
        assert deliveries.status_code == 200, deliveries.text
        messages = door.http.get(f"/bumblebee/webhooks/{hook.json()['id']}/messages")
        assert messages.status_code == 200, messages.text
        assert door.http.get("/_mock/state").status_code == 200
