"""The helpers each fixture documents (README, "Fixture reference"), used as a downstream
test uses them, and the rule for scenario events and a test's webhook sink."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"
DAY = 86400


def documented_helpers() -> dict[str, list[str]]:
    """fixture name -> the names its table in README's "Fixture reference" lists."""
    text = README.read_text(encoding="utf-8")
    section = text.split("### Fixture reference", 1)[1].split("\n## ", 1)[0]
    out: dict[str, list[str]] = {}
    for block in re.split(r"\n#### ", section)[1:]:
        fixtures = re.findall(r"`(\w+)`", block.splitlines()[0])
        rows = [line.split("|")[1] for line in block.splitlines() if line.startswith("| `")]
        names = [name for cell in rows for name in re.findall(r"`\.?(\w+)", cell)]
        for fixture in fixtures:
            out[fixture] = names
    return out


def test_the_reference_documents_every_fixture():
    assert set(documented_helpers()) >= {
        "mockserver", "hubble_api", "hubby_api", "bumblebee", "bumblebee_api", "webhook_sink", "mock_clock",
        "mockserver_asgi",
    }  # fmt: skip


def test_every_documented_helper_exists(request, hubble_api, hubby_api, bumblebee, webhook_sink, mock_clock):
    missing = []
    for fixture, names in documented_helpers().items():
        handle = request.getfixturevalue(fixture)
        # the class first: a property such as webhook_sink.last is not evaluated
        missing += [f"{fixture}.{name}" for name in names if not (hasattr(type(handle), name) or hasattr(handle, name))]
    assert not missing, f"README documents helpers that do not exist: {missing}"


def test_hubby_helpers_drive_a_traveller_and_the_webhooks_follow(hubby_api, webhook_sink):
    hubby_api.add_webhook(webhook_sink.url)
    (booking,) = hubby_api.create_booking()["data"]
    code = booking["promo_codes"][0]["promo_code"]
    esim = hubby_api.redeem(code, external_user_id="traveller-1")["esim"]
    iccid = esim["iccid"]
    assert hubby_api.install(iccid)["status"] == "installed"
    hubby_api.activate(iccid)
    hubby_api.consume(iccid, percent=55)
    events = [r.json()["event"] for r in webhook_sink.wait_for(5)]  # sent concurrently: any order
    assert sorted(events) == sorted(["promo_code.redeemed", "esim.installed", "package.activated",
                                     "package.usage.20_percent", "package.usage.50_percent"])  # fmt: skip
    logged = [e["type"] for e in hubby_api.events(booking=booking["id"])]
    assert {"booking.created", "esim.installed", "package.activated"} <= set(logged)


def test_scenario_reminders_do_not_reach_a_sink_the_test_registered(hubby_api, webhook_sink, mock_clock):
    hubby_api.add_webhook(webhook_sink.url)
    mock_clock.advance(3 * DAY + 60)  # demo booking DEMO-GR-001 departs in 3d2h: its 2-hour reminder fires
    hubby_api.server.wait_idle()
    assert webhook_sink.requests == []
    (reminder,) = [e for e in hubby_api.events(type="booking.about_to_depart")]
    assert reminder["webhook_message"] is None and "scenario_events=false" in reminder["webhook_note"]


def test_a_sink_may_opt_in_to_the_scenario_events(hubby_api, webhook_sink, mock_clock):
    hubby_api.add_webhook(webhook_sink.url, scenario_events=True)
    mock_clock.advance(3 * DAY + 60)
    (request,) = webhook_sink.wait_for(1)
    assert request.json()["event"] == "booking.about_to_depart"
    assert request.json()["data"]["booking_id"] == "DEMO-GR-001"


@pytest.mark.parametrize("name", ["bumblebee", "bumblebee_api"])
def test_bumblebee_api_is_the_same_fixture_as_bumblebee(request, name):
    handle = request.getfixturevalue(name)
    assert handle.api == "bumblebee" and handle.base_url.endswith("/bumblebee")
