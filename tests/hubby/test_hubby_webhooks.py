"""Hubby webhooks end to end at a real receiver: the nine 2.0.0 events with exactly their
payloads (checked against the spec's `webhooks:` schemas too), the x-api-key header, usage
thresholds once each, clock-driven reminders, and the 1/5/30-minute retry schedule."""

from __future__ import annotations

import functools
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hubby_helpers import Partner, create, simulate

from mockserver.kernel.spec import Spec
from mockserver.testing import MockServer, WebhookSink

DAY = 86400


@functools.cache
def event_schemas() -> dict[str, Any]:
    spec = Spec.from_resource("hubby", "hubby-openapi.yaml")
    out = {}
    for event, item in spec.document["webhooks"].items():
        schema = item["post"]["requestBody"]["content"]["application/json"]["schema"]
        out[event] = spec.schema(schema)
    return out


def check(body: dict[str, Any]) -> dict[str, Any]:
    problems = event_schemas()[body["event"]].errors(body, "body")
    assert problems == [], problems
    return body


def iso(ts: float) -> str:
    return datetime.fromtimestamp(int(ts), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def departure(ts: int, offset_hours: int = 2) -> str:
    return datetime.fromtimestamp(ts, timezone(timedelta(hours=offset_hours))).isoformat()


def events_of(sink: WebhookSink) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for body in sink.bodies():
        out.setdefault(check(body)["event"], []).append(body)
    return out


@pytest.fixture
def hooked(new_partner: Any, mock_clock: Any, webhook_sink: WebhookSink) -> Partner:
    """A fresh partner whose webhook URL is the sink, on a frozen clock."""
    partner = new_partner("Hook Travel")
    partner.hook(webhook_sink.url)
    return partner


def test_all_nine_events_with_exact_payloads(hooked: Partner, mockserver: MockServer, mock_clock: Any, webhook_sink: WebhookSink) -> None:
    t0 = int(mockserver.runtime.clock.now()) + 1
    mock_clock.set(t0)
    dep_ts = t0 + 10 * DAY
    b = create(hooked.client, booking_id="HOOK-1", departure_date=departure(dep_ts),
               package_specifications=[{"destination": "GR", "size": "1GB", "external_user_id": "u1"}])  # fmt: skip
    code = b["promo_codes"][0]["promo_code"]
    iccid = simulate(mockserver, f"promo-codes/{code}/redeem")["esim"]["iccid"]
    simulate(mockserver, f"esims/{iccid}/install")
    simulate(mockserver, f"esims/{iccid}/activate")
    gb = 1024**3
    simulate(mockserver, f"esims/{iccid}/consume", {"bytes": gb // 5})
    simulate(mockserver, f"esims/{iccid}/consume", {"percent": 35})
    simulate(mockserver, f"esims/{iccid}/consume", {"percent": 30})
    simulate(mockserver, f"esims/{iccid}/remove")
    webhook_sink.wait_for(7)
    mock_clock.advance(3 * DAY)  # departure is now 7 days away
    mock_clock.set(dep_ts - 2 * 3600)
    requests = webhook_sink.wait_for(9)
    assert len(requests) == 9
    assert {r.header("x-api-key") for r in requests} == {hooked.api_key}
    assert {r.header("content-type") for r in requests} == {"application/json"}
    got = events_of(webhook_sink)
    assert sorted(got) == sorted([
        "promo_code.redeemed", "esim.installed", "package.activated", "package.usage.20_percent",
        "package.usage.50_percent", "package.usage.80_percent", "esim.removed", "booking.within_cutoff",
        "booking.about_to_depart"])  # fmt: skip
    now = iso(t0)
    ids = {"external_user_id": "u1", "booking_id": "HOOK-1"}
    assert got["promo_code.redeemed"] == [{"event": "promo_code.redeemed", "timestamp": now,
                                           "data": {"promocode": code, "booking_id": "HOOK-1", "redeemed_at": now}}]  # fmt: skip
    assert got["esim.installed"] == [{"event": "esim.installed", "timestamp": now, "data": {**ids, "iccid": iccid}}]
    assert got["esim.removed"] == [{"event": "esim.removed", "timestamp": now, "data": {**ids, "iccid": iccid}}]
    assert got["package.activated"] == [{"event": "package.activated", "timestamp": now, "data": {
        **ids, "package_id": "pkg_gr_1gb_365", "destination": "GR", "size": "1GB",
        "activated_at": now, "expires_at": iso(t0 + 365 * DAY)}}]  # fmt: skip
    used = {20: gb // 5, 50: gb // 5 + -(-gb * 35 // 100)}
    used[80] = used[50] + -(-gb * 30 // 100)
    for t in (20, 50, 80):
        assert got[f"package.usage.{t}_percent"] == [{"event": f"package.usage.{t}_percent", "timestamp": now, "data": {
            **ids, "package_id": "pkg_gr_1gb_365", "destination": "GR", "size": "1GB", "package_type": "data-limited",
            "used_bytes": used[t], "remaining_bytes": gb - used[t], "usage_percent": t}}]  # fmt: skip
        # seed 002 (package.usage.*): size/used_bytes/remaining_bytes "data-limited packages",
        # duration_days/elapsed_days/remaining_days "time-limited packages": a data-limited
        # package sends no day counts
    assert got["booking.within_cutoff"] == [{"event": "booking.within_cutoff", "timestamp": iso(dep_ts - 7 * DAY), "data": {
        **ids, "departure_date": departure(dep_ts), "days_until_departure": 7, "esim_installed": False}}]  # fmt: skip
    assert got["booking.about_to_depart"] == [{"event": "booking.about_to_depart", "timestamp": iso(dep_ts - 2 * 3600), "data": {
        **ids, "departure_date": departure(dep_ts), "hours_until_departure": 2, "esim_installed": False}}]  # fmt: skip
    kinds = [e["type"] for e in mockserver.call("GET", "/hubby/events", params={"booking": b["id"]})["events"]]
    assert kinds[:3] == ["booking.created", "esim.created", "promo_code.redeemed"]


def test_usage_thresholds_fire_once_each(hooked: Partner, mockserver: MockServer, webhook_sink: WebhookSink) -> None:
    b = create(hooked.client, package_specifications=[{"destination": "TR", "size": "1GB"}])
    iccid = simulate(mockserver, f"promo-codes/{b['promo_codes'][0]['promo_code']}/redeem")["esim"]["iccid"]
    simulate(mockserver, f"esims/{iccid}/install")
    simulate(mockserver, f"esims/{iccid}/activate")
    for percent in (19, 1, 1, 40, 60):  # 19, 20, 21, 61 (50 only: 80 not reached), then 100 (80)
        simulate(mockserver, f"esims/{iccid}/consume", {"percent": percent})
    webhook_sink.wait_for(6)  # redeemed, installed, activated + three usage events
    mockserver.wait_idle()
    usage = [b for b in webhook_sink.bodies() if b["event"].startswith("package.usage")]
    assert sorted(b["data"]["usage_percent"] for b in usage) == [20, 50, 80]
    assert all("external_user_id" not in b["data"] for b in usage)  # the traveler has none
    assert len(webhook_sink.requests) == 6


def test_a_jump_sends_every_threshold_in_order(hooked: Partner, mockserver: MockServer) -> None:
    b = create(hooked.client, package_specifications=[{"destination": "TR", "size": "1GB"}])
    iccid = simulate(mockserver, f"promo-codes/{b['promo_codes'][0]['promo_code']}/redeem")["esim"]["iccid"]
    simulate(mockserver, f"esims/{iccid}/install")
    simulate(mockserver, f"esims/{iccid}/activate")
    simulate(mockserver, f"esims/{iccid}/consume", {"percent": 90})
    events = mockserver.call("GET", "/hubby/events", params={"booking": b["id"]})["events"]
    usage = [e["type"] for e in events if e["type"].startswith("package.usage")]
    assert usage == ["package.usage.20_percent", "package.usage.50_percent", "package.usage.80_percent"]


def test_time_limited_thresholds_follow_the_clock(hooked: Partner, mockserver: MockServer, mock_clock: Any, webhook_sink: WebhookSink) -> None:
    b = create(hooked.client, booking_id="TL-1", package_specifications=[
        {"destination": "GR", "package_type": "time-limited", "size": "1GB", "external_user_id": "u2"}])  # fmt: skip
    iccid = simulate(mockserver, f"promo-codes/{b['promo_codes'][0]['promo_code']}/redeem")["esim"]["iccid"]
    simulate(mockserver, f"esims/{iccid}/install")
    simulate(mockserver, f"esims/{iccid}/activate")
    simulate(mockserver, f"esims/{iccid}/consume", {"percent": 90})  # data does not drive time-limited thresholds
    webhook_sink.wait_for(3)
    mock_clock.advance(8 * DAY)
    usage = [x for x in webhook_sink.bodies() if x["event"].startswith("package.usage")]
    assert [(u["data"]["usage_percent"], u["data"]["elapsed_days"], u["data"]["remaining_days"]) for u in usage] == [
        (20, 1, 6), (50, 3, 4), (80, 5, 2)]  # fmt: skip
    assert all(check(u)["data"]["duration_days"] == 7 and u["data"]["package_type"] == "time-limited" for u in usage)
    # seed 002: size and the byte counts are "data-limited packages" only
    assert not any({"size", "used_bytes", "remaining_bytes"} & set(u["data"]) for u in usage)
    assert hooked.client.get(f"/esims/{iccid}").json()["data"]["packages"][0]["status"] == "expired"


def test_date_only_departure_never_gets_about_to_depart(hooked: Partner, mockserver: MockServer, mock_clock: Any, webhook_sink: WebhookSink) -> None:
    day = datetime.fromtimestamp(mockserver.runtime.clock.now() + 10 * DAY, UTC).date()
    b = create(hooked.client, booking_id="DATE-ONLY", departure_date=day.isoformat())
    mock_clock.advance(11 * DAY)
    mockserver.wait_idle()
    got = events_of(webhook_sink)
    assert list(got) == ["booking.within_cutoff"]
    assert got["booking.within_cutoff"][0]["data"]["departure_date"] == f"{day.isoformat()}T00:00:00Z"
    assert got["booking.within_cutoff"][0]["data"]["days_until_departure"] == 7
    kinds = [e["type"] for e in mockserver.call("GET", "/hubby/events", params={"booking": b["id"]})["events"]]
    assert "booking.about_to_depart" not in kinds


def test_reminders_come_at_once_inside_the_window_and_never_when_cancelled(
    hooked: Partner, mockserver: MockServer, mock_clock: Any, webhook_sink: WebhookSink
) -> None:
    now = int(mockserver.runtime.clock.now())
    soon = create(hooked.client, booking_id="SOON", departure_date=departure(now + 3 * DAY + 600))
    cancelled = create(hooked.client, booking_id="LATER", departure_date=departure(now + 20 * DAY))
    assert hooked.client.delete(f"/bookings/{cancelled['id']}").status_code == 200
    webhook_sink.wait_for(1)
    mock_clock.advance(21 * DAY)
    mockserver.wait_idle()
    got = events_of(webhook_sink)
    assert got["booking.within_cutoff"][0]["data"]["booking_id"] == "SOON"
    assert got["booking.within_cutoff"][0]["data"]["days_until_departure"] == 3
    assert [x["data"]["booking_id"] for x in got["booking.about_to_depart"]] == ["SOON"]
    assert soon["id"] != cancelled["id"] and len(webhook_sink.requests) == 2


def test_retries_after_1_5_and_30_minutes_then_dropped(hooked: Partner, mockserver: MockServer, mock_clock: Any, webhook_sink: WebhookSink) -> None:
    webhook_sink.script(500, 503, 500, 502, 200)
    b = create(hooked.client, package_specifications=[{"destination": "TR"}])
    simulate(mockserver, f"promo-codes/{b['promo_codes'][0]['promo_code']}/redeem")
    webhook_sink.wait_for(1)
    for seconds, expected in ((59, 1), (1, 2), (299, 2), (1, 3), (1799, 3), (1, 4), (7 * DAY, 4)):
        mock_clock.advance(seconds)
        mockserver.wait_idle()
        assert len(webhook_sink.requests) == expected, (seconds, expected)
    (msg,) = mockserver.deliveries(api="hubby", endpoint=hooked.id)
    assert msg["state"] == "canceled" and msg["event_type"] == "promo_code.redeemed"
    t0 = msg["attempts"][0]["at"]
    assert [round(a["at"] - t0) for a in msg["attempts"]] == [0, 60, 360, 2160]
    assert [a["status"] for a in msg["attempts"]] == [500, 503, 500, 502]
    assert len({r.body for r in webhook_sink.requests}) == 1  # the same event every time


def test_custom_webhook_key_and_removing_the_webhook(hooked: Partner, mockserver: MockServer, webhook_sink: WebhookSink) -> None:
    view = hooked.hook(webhook_sink.url, webhook_api_key="whk_live_partner_key")
    assert view["webhook_api_key"] == "whk_live_partner_key"
    b = create(hooked.client, package_specifications=[{"destination": "TR"}, {"destination": "GR"}])
    simulate(mockserver, f"promo-codes/{b['promo_codes'][0]['promo_code']}/redeem")
    assert webhook_sink.wait_for(1)[0].header("x-api-key") == "whk_live_partner_key"
    mockserver.call("DELETE", "/hubby/webhook", json={"partner_api_key": hooked.api_key})
    simulate(mockserver, f"promo-codes/{b['promo_codes'][1]['promo_code']}/redeem")
    mockserver.wait_idle()
    assert len(webhook_sink.requests) == 1
    last = mockserver.call("GET", "/hubby/events", params={"type": "promo_code.redeemed", "booking": b["id"]})["events"][-1]
    assert last["webhook_message"] is None and "no webhook URL" in last["webhook_note"]
    listed = mockserver.call("GET", "/hubby/webhook", params={"partner_api_key": hooked.api_key})["webhooks"]
    assert listed == [{"partner": hooked.id, "partner_api_key": hooked.api_key, "url": None, "webhook_api_key": None,
                      "scenario_events": True}]


def test_each_partner_gets_only_its_own_events(new_partner: Any, mockserver: MockServer, hubby_api: Any) -> None:
    from mockserver.testing import WebhookSink as Sink

    with Sink() as sink_a, Sink() as sink_b:
        a, b = new_partner("Alpha Travel"), new_partner("Beta Travel")
        a.hook(sink_a.url)
        b.hook(sink_b.url)
        booking = create(a.client, package_specifications=[{"destination": "TR"}])
        simulate(mockserver, f"promo-codes/{booking['promo_codes'][0]['promo_code']}/redeem")
        sink_a.wait_for(1)
        mockserver.wait_idle()
        assert len(sink_b.requests) == 0


def test_webhook_control_rejects_bad_input(hubby_api: Any, mockserver: MockServer) -> None:
    assert mockserver.control is not None
    r = mockserver.control.put("/hubby/webhook", json={"url": "not a url"})
    assert r.status_code == 400
    r = mockserver.control.put("/hubby/webhook", json={"url": "http://127.0.0.1:9/x", "partner_api_key": "nope"})
    assert r.status_code == 404
    r = mockserver.control.put("/hubby/webhook", json={"url": "http://127.0.0.1:9/x"})  # the sandbox partner
    assert r.status_code == 200 and r.json()["partner"] == "partner_sandbox"


def test_seed_example_payloads_validate() -> None:
    spec = Spec.from_resource("hubby", "hubby-openapi.yaml")
    for event, item in spec.document["webhooks"].items():
        example = item["post"]["requestBody"]["content"]["application/json"]["example"]
        assert example["event"] == event
        check(example)
