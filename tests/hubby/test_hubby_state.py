"""State: scenarios (`hubby: {}`, the demo section, bad bookings), snapshot and restore
with the clock-driven reminders re-created, and reminders re-armed by a new departure."""

from __future__ import annotations

from typing import Any

import pytest
from hubby_helpers import Partner, create

from mockserver.apis.hubby.models import HubbyBackend
from mockserver.kernel.runtime import Runtime
from mockserver.scenarios import ScenarioError, parse_scenario
from mockserver.settings import Settings
from mockserver.testing import MockServer, WebhookSink

DAY = 86400


def backend(section: dict[str, Any]) -> HubbyBackend:
    runtime = Runtime(Settings(scenario=None))
    b = HubbyBackend(runtime)
    runtime.register(b)
    b.seed(section)
    b.loaded()
    return b


def test_empty_section_gives_the_sandbox_partner_and_the_catalogue() -> None:
    assert parse_scenario("hubby: {}\n") == {"hubby": {}}
    b = backend({})
    assert [p["api_key"] for p in b.partners.values()] == [Settings().hubby_api_key]
    assert len(b.countries) >= 90 and len(b.packages) > 1000
    assert len(b.bookings) == 0


def test_scenario_partners_packages_and_bookings() -> None:
    b = backend({
        "partners": [{"name": "Acme Trips", "api_key": "acme-key", "secret": "acme-secret", "cutoff_days": 3}],
        "packages": [{"id": "pkg_custom_gr", "destination": "GR", "size": "2GB", "duration_days": 30, "price": 4.5}],
        "bookings": [{"partner": "acme-key", "booking_id": "ACME-1", "departure_in": "5d", "state": "active",
                      "usage_percent": 30, "package_specifications": [{"package_id": "pkg_custom_gr"}]}],
    })  # fmt: skip
    partner = b.partner_by_key("acme-key")
    assert partner is not None and partner["cutoff_days"] == 3
    (booking,) = b.bookings.values()
    esim = b.esims[booking["esims"][0]]
    assert esim["status"] == "installed" and esim["packages"][0]["used_bytes"] == -(-2 * 1024**3 * 30 // 100)
    kinds = [e["type"] for e in b.events.values()]
    assert "package.usage.20_percent" in kinds and "package.usage.50_percent" not in kinds


def test_a_bad_scenario_booking_is_reported() -> None:
    with pytest.raises(ScenarioError, match=r"hubby.bookings\[0\].*departure_date"):
        backend({"bookings": [{"booking_id": "B-1", "package_specifications": [{"destination": "GR"}]}]})
    with pytest.raises(ScenarioError, match="No data-limited package of 7GB covers Greece"):
        backend({"bookings": [{"booking_id": "B-1", "departure_in": "3d", "package_specifications": [{"destination": "GR", "size": "7GB"}]}]})
    with pytest.raises(ScenarioError, match="name"):
        parse_scenario("hubby:\n  partners: [{api_key: k}]\n")


def test_restore_recreates_the_reminders(hubby_api: Any, new_partner: Any, mockserver: MockServer, mock_clock: Any, webhook_sink: WebhookSink) -> None:
    partner: Partner = new_partner("Restore Travel")
    partner.hook(webhook_sink.url)
    now = int(mockserver.runtime.clock.now())
    create(partner.client, booking_id="KEEP", departure_date=f"{_date(now + 10 * DAY)}")
    state = mockserver.snapshot()
    mockserver.reset("hubby")
    assert partner.client.get("/bookings").status_code == 401  # the partner is gone with the reset
    mockserver.restore(state)
    assert [b["booking_id"] for b in partner.client.get("/bookings").json()["data"]] == ["KEEP"]
    mock_clock.advance(4 * DAY)
    mockserver.wait_idle()
    assert [b["event"] for b in webhook_sink.bodies()] == ["booking.within_cutoff"]


def test_a_new_departure_rearms_the_reminders(hubby_api: Any, new_partner: Any, mockserver: MockServer, mock_clock: Any, webhook_sink: WebhookSink) -> None:
    partner: Partner = new_partner("Moving Travel")
    partner.hook(webhook_sink.url)
    now = int(mockserver.runtime.clock.now())
    b = create(partner.client, booking_id="MOVE", departure_date=_date(now + 5 * DAY))
    webhook_sink.wait_for(1)  # inside the window at once
    r = partner.client.put(f"/bookings/{b['id']}", json={"departure_date": _date(now + 20 * DAY)})
    assert r.status_code == 200
    mock_clock.advance(13 * DAY)  # the new departure (a date: its midnight) is 19-20 days away
    mockserver.wait_idle()
    days = [x["data"]["days_until_departure"] for x in webhook_sink.bodies()]
    assert days == [4, 7]


def _date(ts: float) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ts, UTC).date().isoformat()


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({}, 400),
        ({"name": 5}, 400),
        ({"name": "X Travel", "cutoff_days": "soon"}, 400),
        ({"name": "X Travel", "is_active": "no"}, 400),
        ({"name": "Sandbox Partner", "id": "partner_sandbox"}, 409),
        ({"name": "Y Travel", "api_key": Settings().hubby_api_key}, 409),
    ],
)
def test_adding_a_partner_checks_its_fields(hubby_api: Any, mockserver: MockServer, body: dict[str, Any], status: int) -> None:
    assert mockserver.control is not None
    r = mockserver.control.post("/hubby/partners", json=body)
    assert r.status_code == status, r.text
    assert r.json()["error"]
