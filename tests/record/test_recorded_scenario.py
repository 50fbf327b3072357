"""The `hubble.recorded` scenario block on its own: ids kept, times shifted to the clock
(or not), mistakes named."""

from __future__ import annotations

import pytest

from mockserver.scenarios import ScenarioError
from mockserver.testing import MockServer

from .helpers import hubble_client

AT = 1_790_000_000.0
DEV = "6ea53e36-b7fb-429f-8c2e-d536cab71089"
GONE = "0b5d0c0e-1111-4222-8333-444455556666"
SCENARIO = f"""
hubble:
  recorded:
    at: {AT}
    devices:
    - {{"id": "{DEV}", "name": "tracker-1", "created_ts": {AT - 86400}, "tags": {{"site": "dock"}}, "encryption": "AES-128-EAX", "eid_rotation": {{"counter_source": "DEVICE_UPTIME", "period_exponent": 11}}}}
    packets:
    - {{"device_id": "{GONE}", "name": "old-one", "tags": {{"_env": "sandbox"}}, "timestamp": {AT - 7200}, "payload": "SGk=", "rssi": -80, "network_type": "SATELLITE", "location": {{"latitude": 1.5, "longitude": 2.5, "altitude": 3.0, "timestamp": {AT - 7210}}}}}
    - {{"device_id": "{DEV}", "timestamp": {AT - 3600}, "payload": "SGVsbG8=", "rssi": -85, "counter": 7, "sequence_number": 42, "location": {{"latitude": 47.61, "longitude": -122.32, "altitude": 12.0, "timestamp": {AT - 3601}}}}}
    users:
    - {{"user_id": "u-1", "email": "a@example.com", "first_name": "Ann", "role": "admin", "created_at": {AT - 86400 * 3}, "last_active_at": null}}
    webhooks:
    - {{"webhook_id": "wh-1", "url": "https://hooks.example.com/x", "name": "main"}}
"""


def _serve(tmp_path, text, **overrides):
    path = tmp_path / "rec.yaml"
    path.write_text(text, encoding="utf-8")
    return MockServer(seed=1, scenario=str(path), clock="frozen", rate_limit=False, **overrides)


@pytest.mark.parametrize("later, shift", [(0, True), (10 * 86400, True), (10 * 86400, False)])
def test_times_follow_the_clock_unless_told_not_to(tmp_path, later, shift):
    text = SCENARIO if shift else SCENARIO.replace(f"    at: {AT}\n", f"    at: {AT}\n    shift_times: false\n")
    with _serve(tmp_path, text, clock_start=AT + later) as server:
        api = hubble_client(server)
        moved = later if shift else 0
        device = api.get(f"/devices/{DEV}").json()
        assert device["created_ts"] == AT - 86400 + moved and device["tags"] == {"site": "dock", "_env": "production"}
        assert device["encryption"] == "AES-128-EAX" and device["eid_rotation"]["period_exponent"] == 11
        packets = api.get("/packets", params={"start": int(AT - 86400), "end": int(AT + later + 1)}).json()["packets"]
        assert [p["device"]["timestamp"] for p in packets] == [AT - 7200 + moved, AT - 3600 + moved]
        assert packets[0]["device"]["name"] == "old-one" and packets[0]["network_type"] == "SATELLITE"
        assert packets[1]["device"]["counter"] == 7 and packets[1]["location"]["timestamp"] == AT - 3601 + moved
        assert api.get("/users").json()["users"][0]["created_at"] == AT - 86400 * 3 + moved
        assert api.get("/webhooks").json()["webhooks"][0]["webhook_id"] == "wh-1"
        recent = api.get("/packets").json()["packets"]  # the default window: the last 7 days
        assert len(recent) == (2 if moved == later else 0)


def test_mistakes_are_named(tmp_path):
    twice = SCENARIO.replace("    packets:", f'    - {{"id": "{DEV}"}}\n    packets:')
    with pytest.raises(ScenarioError, match=r"devices\[1\]: id .* appears twice"):
        _serve(tmp_path, twice)
    bad = SCENARIO.replace('"payload": "SGk="', '"payload": "not base64!"')
    with pytest.raises(ScenarioError, match=r"packets\[0\].payload: not valid base64"):
        _serve(tmp_path, bad)
    with pytest.raises(ScenarioError, match=r"hubble.recorded.devices\[0\].encryption"):
        _serve(tmp_path, SCENARIO.replace('"encryption": "AES-128-EAX"', '"encryption": "ROT13"'))
