"""Opt-in webhook delivery chaos (issue 12, item 12): hubby-notes.md says Hubby's webhooks
are "at-least-once and unordered"; a receiver tested against a fake that always delivers
exactly once and in order never meets a duplicate or a late message. With chaos on, the
fake delivers some messages twice and late, seeded so a failing run replays; it is off by
default and every effect shows in the deliveries log. Driven on a frozen clock; nothing here
asserts a wall-clock duration."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from mockserver.settings import Settings
from mockserver.testing import MockServer, WebhookSink
from mockserver.webhooks.chaos import Chaos, ChaosConfigError, parse

T0 = 1_767_225_600.0
TEMPERATURE = "temperature/create"
CHAOS = {"seed": 7, "rules": [{"api": "bumblebee", "duplicate": 0.5, "reorder": 0.3, "hold_seconds": 40, "jitter_seconds": 20}]}


@pytest.fixture(scope="module")
def server() -> Iterator[MockServer]:
    settings = Settings.from_env(strict=True, rate_limit=False, scenario="demo", seed=3, clock="frozen", clock_start=T0)
    with MockServer(settings) as s:
        yield s


@pytest.fixture
def sink() -> Iterator[WebhookSink]:
    with WebhookSink() as s:
        yield s


def _traffic(server: MockServer, sink: WebhookSink, reports: int = 12) -> list[dict[str, Any]]:
    server.reset()
    hook = httpx.post(f"{server.bumblebee_url}/webhooks", json={"url": sink.url, "data_types": [TEMPERATURE]}, timeout=30)
    assert hook.status_code in (200, 201), hook.text
    for i in range(reports):
        server.simulate("bumblebee", "/nodes/Ref001/report", {"data_type": TEMPERATURE, "degrees": 10 + i})
    return server.deliveries(api="bumblebee")


def test_chaos_is_off_by_default(server: MockServer, sink: WebhookSink) -> None:
    assert server.call("GET", "/webhooks/chaos") == {"enabled": False, "seed": 3, "rules": []}
    messages = _traffic(server, sink, reports=5)
    assert len(messages) == 5 and not any("chaos" in m for m in messages)
    sink.wait_for(5)
    server.wait_idle()
    ids = [r.header("x-request-id") for r in sink.requests]
    assert sorted(ids) == sorted(m["id"] for m in messages)  # each exactly once, none late


def test_duplicates_and_late_messages_are_seeded_and_logged(server: MockServer, sink: WebhookSink) -> None:
    described = server.call("PUT", "/webhooks/chaos", json=CHAOS)
    assert described["enabled"] is True and described["rules"][0]["duplicate"] == 0.5
    try:
        first = _traffic(server, sink)
        notes = [m["chaos"] for m in first]
        copies = [m for m in first if "duplicate_of" in m["chaos"]]
        originals = {m["id"]: m for m in first if "duplicate_of" not in m["chaos"]}
        assert len(originals) == 12 and copies, "seed 7 at 0.5 makes some duplicates"
        for copy in copies:  # same body and headers (X-Request-ID included): a true redelivery
            original = originals[copy["chaos"]["duplicate_of"]]
            assert original["chaos"]["duplicated_by"] == copy["id"]
            assert (copy["body"], copy["headers"]) == (original["body"], original["headers"])
        assert any(n["held_back"] for n in notes) and all(0 <= n["delay"] <= 60 for n in notes)
        assert len(sink.requests) == 0 or all(m["chaos"]["delay"] == 0 for m in first)  # nothing due yet
        server.advance(61)  # every delay has fallen due
        sink.wait_for(len(first))
        server.wait_idle()
        ids = [r.header("x-request-id") for r in sink.requests]
        assert len(ids) == len(first) and len(set(ids)) == 12  # duplicates carry the same X-Request-ID
        created_order = [m["headers"]["X-Request-ID"] for m in reversed(list(originals.values()))]  # log is newest first
        due = {}
        for m in first:  # a message is first seen when its earliest copy falls due (the clock fires in time order)
            rid = m["headers"]["X-Request-ID"]
            due[rid] = min(due.get(rid, float("inf")), m["next_attempt_at"] if m["attempts"] == [] else m["attempts"][0]["at"])
        first_seen = list(dict.fromkeys(ids))
        assert first_seen == sorted(due, key=lambda rid: (due[rid], first_seen.index(rid)))
        assert first_seen != created_order  # delivered out of order
        replay = _traffic(server, sink)  # a reset reseeds: the same traffic meets the same chaos
        assert [m["chaos"] for m in replay] == notes
    finally:
        assert server.call("DELETE", "/webhooks/chaos")["enabled"] is False


def test_rules_scope_by_api_and_endpoint() -> None:
    chaos = Chaos(1)
    chaos.configure("hubby:duplicate=1,jitter=5;bumblebee/hook-1:reorder=1,hold=9;seed=4")
    assert chaos.seed == 4
    assert chaos.plan("hubble", "any") is None
    hubby = chaos.plan("hubby", "any")
    assert hubby is not None and hubby.duplicate_delay is not None and hubby.delay <= 5
    assert chaos.plan("bumblebee", "hook-2") is None
    held = chaos.plan("bumblebee", "hook-1")
    assert held is not None and held.held_back and held.delay == 9 and held.duplicate_delay is None


@pytest.mark.parametrize("config", [
    "hubby", "hubby:duplicate=2", "hubby:explode=1", '{"rules": [{"api": "hubby", "duplicate": "x"}]}',
    {"rules": [{"nope": 1}]}, {"seed": "x"}, {"rules": {}},
])  # fmt: skip
def test_bad_configurations_say_why(config: Any) -> None:
    with pytest.raises(ChaosConfigError):
        parse(config)


def test_the_control_plane_refuses_a_bad_configuration(server: MockServer) -> None:
    r = httpx.put(f"{server.base_url}/_mock/webhooks/chaos", json={"rules": [{"api": "hubby", "duplicate": 3}]}, timeout=30)
    assert r.status_code == 400 and "duplicate" in r.json()["error"]


def test_the_environment_variable_turns_it_on() -> None:
    settings = Settings.from_env({"MOCKSERVER_WEBHOOK_CHAOS": "hubby:duplicate=0.2"}, scenario="empty")
    assert settings.webhook_chaos == "hubby:duplicate=0.2"
    with MockServer(settings) as s:
        assert s.call("GET", "/webhooks/chaos")["rules"][0]["api"] == "hubby"
