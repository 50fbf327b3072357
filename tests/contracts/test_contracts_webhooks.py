"""Webhook payload contracts: every message the fake emitted checked against the specs'
`webhooks:` sections, and generated valid events sent to a receiver, with its answers
(status, time, idempotent handling of a duplicate) reported."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from brokenapis import serve

from mockserver.contracts import webhooks


class Receiver:
    """A webhook receiver on 127.0.0.1: records bodies, answers with `decide(body, headers)`."""

    def __init__(self, decide: Callable[[dict, dict], int] | None = None) -> None:
        self.decide = decide or (lambda body, headers: 200)
        self.received: list[dict[str, Any]] = []

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body, more = b"", True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        parsed = json.loads(body) if body else None
        self.received.append({"body": parsed, "headers": headers})
        status = self.decide(parsed, headers)
        await send({"type": "http.response.start", "status": status, "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": b"{}"})


@pytest.fixture
def receiver() -> Iterator[Callable[..., tuple[str, Receiver]]]:
    from contextlib import ExitStack

    with ExitStack() as stack:

        def start(decide: Callable[[dict, dict], int] | None = None) -> tuple[str, Receiver]:
            app = Receiver(decide)
            return stack.enter_context(serve(app)), app

        yield start


def test_every_message_the_fake_emitted_matches_its_webhook_contract(receiver, cli):
    from mockserver.testing import MockServer

    sink, app = receiver()
    with MockServer(rate_limit=False) as server:
        webhooks.drive_fake(server.base_url, sink)
        server.wait_idle()
        results = webhooks.check_deliveries(server.base_url)
        report = cli("contracts", "webhooks", "check", "--base-url", server.base_url)
    assert results, "the fake emitted nothing"
    seen = {(r.api, r.event_type) for r in results}
    assert ("hubble", "packet-batch") in seen
    assert {("hubby", "promo_code.redeemed"), ("hubby", "esim.installed"), ("hubby", "package.activated")} <= seen
    assert ("hubby", "package.usage.80_percent") in seen
    assert {("bumblebee", t) for t in ("sigfox_message_info/create", "battery_level/update")} <= seen
    broken = [r for r in results if r.problems]
    assert broken == [], webhooks.format_delivery_report(results)
    assert report.code == 0 and "0 break their spec" in report.out
    assert len(app.received) >= len(results) > 5


def test_a_message_that_breaks_its_contract_is_reported():
    bad = {
        "id": "m1", "api": "hubby", "event_type": "esim.installed", "url": "http://x", "state": "sent",
        "body": {"event": "esim.installed", "timestamp": "not a time", "data": {"iccid": 42}}, "headers": {},
    }
    result = webhooks.check_message(bad)
    text = "\n".join(result.problems)
    assert "header.x-api-key: required header is missing" in text
    assert "body.data.iccid" in text and "body.timestamp" in text
    unknown = webhooks.check_message({**bad, "event_type": "esim.exploded", "body": {"event": "esim.exploded"}})
    assert unknown.problems == ["event type 'esim.exploded' is not in the hubby spec's webhooks"]


@pytest.mark.parametrize("api", ["hubble", "hubby", "bumblebee"])
def test_sample_events_are_valid_and_deterministic(api):
    events = webhooks.sample_events(api, count=2, seed=0)
    table = webhooks.contracts(api)
    assert {e.name for e in events} == set(table)
    for e in events:
        assert table[e.name].problems(e.body, e.headers) == [], (e.name, e.source)
    again = webhooks.sample_events(api, count=2, seed=0)
    assert [e.body for e in again] == [e.body for e in events]


def test_a_good_receiver_answers_every_event_idempotently(receiver, cli):
    url, app = receiver()
    result = cli("contracts", "webhooks", "send", "--api", "bumblebee", "--url", url, "--count", "1")
    assert result.code == 0, result.text
    assert "0 not ok" in result.out and "same answer class" in result.out
    ids = [r["headers"].get("x-request-id") for r in app.received]
    assert len(ids) == 2 * len(set(ids))  # each event twice, with the same X-Request-ID


def test_a_receiver_that_mishandles_duplicates_or_rejects_valid_events_is_reported(receiver, cli):
    seen: set[str] = set()

    def first_time_only(body: dict, headers: dict) -> int:
        key = json.dumps(body, sort_keys=True)
        if key in seen:
            return 409  # the duplicate is refused instead of acknowledged again
        seen.add(key)
        return 200

    url, _ = receiver(first_time_only)
    result = cli("contracts", "webhooks", "send", "--api", "hubby", "--url", url, "--event", "esim.installed", "--count", "1")
    assert result.code == 1
    assert "409 (DIFFERENT answer class)  <- not idempotent" in result.out

    url, _ = receiver(lambda body, headers: 401 if headers.get("x-api-key") != "whk_secret" else 200)
    rejected = cli("contracts", "webhooks", "send", "--api", "hubby", "--url", url, "--event", "esim.removed", "--count", "0")
    assert rejected.code == 1 and "rejected a valid event" in rejected.out
    accepted = cli("contracts", "webhooks", "send", "--api", "hubby", "--url", url, "--event", "esim.removed",
                   "--count", "0", "--header", "x-api-key=whk_secret")
    assert accepted.code == 0, accepted.text


def test_an_unreachable_receiver_is_a_one_line_error(cli):
    result = cli("contracts", "webhooks", "send", "--api", "hubble", "--url", "http://127.0.0.1:9/hook")
    assert result.code == 2
    assert result.err.startswith("mockserver contracts: error: cannot reach the receiver http://127.0.0.1:9/hook")
