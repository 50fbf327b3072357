"""Webhook payload contract of a fake: make it send every kind of webhook to a local receiver,
then check every message it emitted (`GET /_mock/webhooks/deliveries`) against the specs'
`webhooks:` sections (Hubble packet-batch, Hubby's nine events, Bumblebee's five data types).

Runs only when the target is a mockserver (it has a /_mock control plane); a real API's
webhooks are checked with `mockserver contracts webhooks send` against your own receiver.
"""

from __future__ import annotations

import os

import pytest

from mockserver.contracts import webhooks
from mockserver.contracts.target import APIS, Target
from mockserver.testing import WebhookSink

# the fake started here, or a sandbox the user allowed to be written to (the suite makes it send webhooks)
TARGETS = [t for t in (Target.from_env(api) for api in APIS) if t is not None and (t.is_fake or (t.sandbox and t.allow_writes))]
if not TARGETS:
    pytest.skip("the target is not a mockserver: no deliveries to read", allow_module_level=True)
ROOT = TARGETS[0].mock_root


def test_every_webhook_the_fake_emits_matches_its_spec():
    token = os.environ.get("MOCKSERVER_ADMIN_TOKEN")
    with WebhookSink() as sink:
        webhooks.drive_fake(ROOT, sink.url, admin_token=token)
        webhooks.wait_until_delivered(ROOT, admin_token=token)
        results = [webhooks.check_message(m) for m in webhooks.fetch_deliveries(ROOT, admin_token=token)]
    assert results, "the fake emitted no webhook"
    assert {r.api for r in results} == {"hubble", "hubby", "bumblebee"}, webhooks.format_delivery_report(results)
    broken = [r for r in results if r.problems]
    assert not broken, webhooks.format_delivery_report(results)
