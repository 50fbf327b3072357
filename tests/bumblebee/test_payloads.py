"""What a receiver gets: for each data type the exact body and headers of Bumblebee's
documentation (seed 003), the rules for leaving out `asset`, `node` and `message_info`, and
bodies that validate against bumblebee-webhooks.yaml."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest

from .helpers import body_errors, create_webhook, report, wait_attempts

BATTERY, GEO, TEMPERATURE, SENSOR, SIGFOX = (
    "battery_level/update",
    "geo_location/create",
    "temperature/create",
    "sensor_value/create",
    "sigfox_message_info/create",
)
LOCAL_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d$")
SEED_TIME = "2021-01-01T13:00:00.000+01:00"
ASSET = {"id": "Abc123"}
NODE = {"id": "Ref001", "sigfox_id": "123ABC"}
MESSAGE_INFO = {"id": "Abc123", "sent_at": SEED_TIME, "message_number": 123, "external_io": 1}
CONFIGURATION = {
    "id": "Ref001",
    "name": "Name",
    "behavior_id": "Abc123",
    "behavior_version": 3,
    "behavior_profile": "unless",
    "trigger_type": "motion",
}
# The documentation's examples, verbatim (seed 003); ids are generated, so they are replaced.
SEED_BODIES: dict[str, dict[str, Any]] = {
    BATTERY: {
        "data_type": BATTERY,
        "data": {"recorded_at": SEED_TIME, "percentage": 90},
        "asset": ASSET,
        "node": NODE,
    },
    GEO: {
        "data_type": GEO,
        "data": {
            "id": "Abc123",
            "latitude": 52.255223,
            "longitude": 6.160636,
            "radius_accuracy": 48.5,
            "recorded_at": SEED_TIME,
        },
        "asset": ASSET,
        "node": NODE,
        "message_info": MESSAGE_INFO,
    },
    TEMPERATURE: {
        "data_type": TEMPERATURE,
        "data": {"id": "Abc123", "degrees": 21.5, "recorded_at": SEED_TIME},
        "asset": ASSET,
        "node": NODE,
        "message_info": MESSAGE_INFO,
    },
    SENSOR: {
        "data_type": SENSOR,
        "data": {
            "id": "Abc123",
            "recorded_at": SEED_TIME,
            "sensor1_raw_value": 123,
            "sensor2_raw_value": 456,
            "sensor3_raw_value": 789,
        },
        "asset": ASSET,
        "node": NODE,
        "message_info": MESSAGE_INFO,
    },
    SIGFOX: {
        "data_type": SIGFOX,
        "data": {
            "id": "Abc123",
            "sent_at": SEED_TIME,
            "created_at": SEED_TIME,
            "recorded_at": SEED_TIME,
            "snr": 1.234,
            "rssi": 1.234,
            "sequence": 123,
            "message_number": 123,
            "external_io": 1,
            "processing_error": "Processing Error",
            "node_configuration": CONFIGURATION,
        },
        "asset": ASSET,
        "node": NODE,
    },
}
# What the node reports to produce exactly those bodies.
MESSAGE = {
    "recorded_at": SEED_TIME,
    "sent_at": SEED_TIME,
    "snr": 1.234,
    "rssi": 1.234,
    "sequence": 123,
    "message_number": 123,
    "external_io": 1,
}
READINGS = {
    BATTERY: {"percentage": 90},
    GEO: {"latitude": 52.255223, "longitude": 6.160636, "radius_accuracy": 48.5},
    TEMPERATURE: {"degrees": 21.5},
    SENSOR: {"sensor1_raw_value": 123, "sensor2_raw_value": 456, "sensor3_raw_value": 789},
    SIGFOX: {"processing_error": "Processing Error"},
}


def _seed_node(control: Any) -> None:
    """Give demo node Ref001 the configuration of the documentation's example."""
    response = control.patch("/bumblebee/nodes/Ref001", json={"configuration": CONFIGURATION})
    assert response.status_code == 200, response.text


def _event(result: dict[str, Any], data_type: str) -> dict[str, Any]:
    return next(e for e in result["events"] if e["data_type"] == data_type)


@pytest.mark.parametrize("data_type", [BATTERY, GEO, TEMPERATURE, SENSOR, SIGFOX])
def test_each_data_type_body_and_headers(
    bumblebee: Any, control: Any, webhook_sink: Any, data_type: str
) -> None:
    _seed_node(control)
    hook = create_webhook(
        bumblebee.client,
        webhook_sink.url,
        [data_type],
        headers={"Authorization": "Bearer s3cr3t", "X-Tenant": "7"},
    )
    result = report(control, "Ref001", data_type=data_type, **MESSAGE, **READINGS[data_type])
    [received] = webhook_sink.wait_for(1)
    log = wait_attempts(bumblebee.client, hook["id"], 1, total=1)
    assert len(webhook_sink.requests) == 1  # only the subscribed type

    body = received.json()
    info = _event(result, SIGFOX)["body"]["data"]
    expected = copy.deepcopy(SEED_BODIES[data_type])
    if "id" in expected["data"]:
        expected["data"]["id"] = (
            info["id"] if data_type == SIGFOX else _event(result, data_type)["body"]["data"]["id"]
        )
    if "message_info" in expected:
        expected["message_info"]["id"] = info["id"]
    if data_type == SIGFOX:
        expected["data"]["created_at"] = body["data"]["created_at"]  # when the fake received it: now
        assert LOCAL_TIME.match(body["data"]["created_at"])
    assert body == expected
    assert body == _event(result, data_type)["body"] == log[0]["payload"]
    assert body_errors(body) == []

    assert received.method == "POST"
    assert received.path == "/hook"
    assert received.header("Content-Type") == "application/json"
    assert received.header("User-Agent") == "Bumblebee v0.11.0 webhooks"
    assert received.header("X-Request-ID") == log[0]["id"] == _event(result, data_type)["messages"][0]["id"]
    assert received.header("Authorization") == "Bearer s3cr3t"
    assert received.header("X-Tenant") == "7"
    assert log[0]["state"] == "sent"


def test_one_message_yields_its_info_then_each_reading(
    bumblebee: Any, control: Any, webhook_sink: Any
) -> None:
    hook = create_webhook(bumblebee.client, webhook_sink.url, [BATTERY, GEO, TEMPERATURE, SENSOR, SIGFOX])
    result = report(control, "Ref001", data_types=[GEO, TEMPERATURE, SENSOR, BATTERY])
    assert [e["data_type"] for e in result["events"]] == [SIGFOX, GEO, TEMPERATURE, SENSOR, BATTERY]
    webhook_sink.wait_for(5)
    wait_attempts(bumblebee.client, hook["id"], 1, total=5)
    bodies = {r.json()["data_type"]: r.json() for r in webhook_sink.requests}
    assert set(bodies) == {SIGFOX, GEO, TEMPERATURE, SENSOR, BATTERY}
    info = bodies[SIGFOX]["data"]
    for data_type, body in bodies.items():
        assert body_errors(body) == [], data_type
        assert body["asset"] == {"id": "Abc123"} and body["node"] == NODE
        if data_type in (BATTERY, SIGFOX):
            assert "message_info" not in body  # "omitted for battery levels and Sigfox messages"
        else:
            assert body["message_info"] == {
                "id": info["id"],
                "sent_at": info["sent_at"],
                "message_number": info["message_number"],
                "external_io": info["external_io"],
            }
        for key in ("recorded_at", "sent_at", "created_at"):
            if key in body["data"]:
                assert LOCAL_TIME.match(body["data"][key]), body["data"][key]
    assert "processing_error" not in info  # "Omitted when empty."
    assert len({r.header("X-Request-ID") for r in webhook_sink.requests}) == 5


def test_asset_is_omitted_when_the_node_has_none(bumblebee: Any, control: Any, webhook_sink: Any) -> None:
    hook = create_webhook(bumblebee.client, webhook_sink.url, [GEO, SIGFOX])
    report(control, "Ref004", data_type=GEO)  # demo node Ref004 is on no asset
    webhook_sink.wait_for(2)
    wait_attempts(bumblebee.client, hook["id"], 1, total=2)
    for received in webhook_sink.requests:
        body = received.json()
        assert "asset" not in body
        assert body["node"] == {"id": "Ref004", "sigfox_id": "A1B2C3"}
        assert body_errors(body) == []


def test_node_and_asset_are_omitted_for_an_unknown_device(
    bumblebee: Any, control: Any, webhook_sink: Any
) -> None:
    hook = create_webhook(bumblebee.client, webhook_sink.url, [TEMPERATURE, SIGFOX, BATTERY])
    response = control.post("/bumblebee/sigfox/fedcba/report", json={"data_types": [TEMPERATURE, BATTERY]})
    assert response.status_code == 201, response.text
    assert response.json()["node"] is None and response.json()["sigfox_id"] == "FEDCBA"
    webhook_sink.wait_for(3)
    wait_attempts(bumblebee.client, hook["id"], 1, total=3)
    for received in webhook_sink.requests:
        body = received.json()
        assert "node" not in body and "asset" not in body
        assert body_errors(body) == []
    info = next(r.json() for r in webhook_sink.requests if r.json()["data_type"] == SIGFOX)["data"]
    assert info["node_configuration"] is None


def test_a_known_sigfox_id_reports_as_its_node(bumblebee: Any, control: Any) -> None:
    response = control.post(
        "/bumblebee/sigfox/123abc/report", json={"data_type": TEMPERATURE, "degrees": 3.5}
    )
    assert response.status_code == 201
    body = response.json()["events"][1]["body"]
    assert body["node"] == NODE and body["asset"] == ASSET and body["data"]["degrees"] == 3.5


def test_old_nodes_report_no_external_io(bumblebee: Any, control: Any) -> None:
    result = report(control, "Ref003", data_type=GEO, external_io=0)  # demo Ref003 runs version 0.8.2
    assert _event(result, SIGFOX)["body"]["data"]["external_io"] is None
    assert _event(result, GEO)["body"]["message_info"]["external_io"] is None
    newer = report(control, "Ref001", data_type=GEO, external_io=0)
    assert _event(newer, GEO)["body"]["message_info"]["external_io"] == 0
    assert control.get("/bumblebee/nodes/Ref001").json()["external_io"] == 0


@pytest.mark.parametrize("kind", ["acknowledgement", "unparsable"])
def test_acknowledgements_and_unparsable_messages(bumblebee: Any, control: Any, kind: str) -> None:
    before = control.get("/bumblebee/nodes/Ref001").json()
    result = report(control, "Ref001", **{kind: True})
    assert [e["data_type"] for e in result["events"]] == [SIGFOX]
    body = result["events"][0]["body"]
    data = body["data"]
    assert data["recorded_at"] is None
    assert data["message_number"] is None
    assert data["external_io"] is None
    assert data["node_configuration"] is None
    assert data["sequence"] == (before["sequence"] + 1) % 4096
    assert ("processing_error" in data) is (kind == "unparsable")
    assert body_errors(body) == []
    rejected = control.post("/bumblebee/nodes/Ref001/report", json={kind: True, "degrees": 20})
    assert rejected.status_code == 400
    assert rejected.json()["details"][0]["field"] == "degrees"


@pytest.mark.parametrize(("given", "sent"), [(87, 85), (88, 90), (87.5, 90), (100, 100), (1, 0)])
def test_battery_levels_are_rounded_to_5_percent(
    bumblebee: Any, control: Any, given: float, sent: int
) -> None:
    result = report(control, "Ref001", percentage=given)
    assert _event(result, BATTERY)["body"]["data"]["percentage"] == sent
    assert body_errors(_event(result, BATTERY)["body"]) == []


def test_trigger_type_follows_the_behavior_profile(bumblebee: Any, control: Any) -> None:
    default = report(control, "Ref001", data_type=SIGFOX)  # demo Ref001: profile default
    assert "trigger_type" not in _event(default, SIGFOX)["body"]["data"]["node_configuration"]
    refused = control.post("/bumblebee/nodes/Ref001/report", json={"trigger_type": "button"})
    assert refused.status_code == 400
    unless = report(control, "Ref002", data_type=SIGFOX, trigger_type="button")  # demo Ref002: unless
    config = _event(unless, SIGFOX)["body"]["data"]["node_configuration"]
    assert config["behavior_profile"] == "unless" and config["trigger_type"] == "button"
    assert body_errors(_event(unless, SIGFOX)["body"]) == []


def test_generated_values_are_deterministic(bumblebee: Any, control: Any, mock_clock: Any) -> None:
    first = report(control, "Ref002")  # no values: a GPS fix, a temperature and a battery level
    assert [e["data_type"] for e in first["events"]] == [SIGFOX, GEO, TEMPERATURE, BATTERY]
    for event in first["events"]:
        assert body_errors(event["body"]) == []
    bumblebee.server.reset("bumblebee")
    again = report(control, "Ref002")
    assert [e["body"] for e in again["events"]] == [e["body"] for e in first["events"]]
    moved = report(control, "Ref002")
    assert _event(moved, GEO)["body"]["data"] != _event(first, GEO)["body"]["data"]


def test_values_are_inferred_from_what_is_reported(bumblebee: Any, control: Any) -> None:
    result = report(control, "Ref001", degrees=-4.25, latitude=10.5, longitude=-20.25, radius_accuracy=None)
    assert [e["data_type"] for e in result["events"]] == [SIGFOX, GEO, TEMPERATURE]
    assert _event(result, TEMPERATURE)["body"]["data"]["degrees"] == -4.25
    geo = _event(result, GEO)["body"]["data"]
    assert (geo["latitude"], geo["longitude"], geo["radius_accuracy"]) == (10.5, -20.25, None)
    node = control.get("/bumblebee/nodes/Ref001").json()
    assert (node["latitude"], node["longitude"], node["temperature"]) == (10.5, -20.25, -4.25)


def test_timestamps_follow_the_configured_timezone(bumblebee: Any, control: Any) -> None:
    utc = control.patch("/bumblebee/settings", json={"timezone": "UTC"})
    assert utc.status_code == 200 and utc.json() == {"timezone": "UTC"}
    result = report(control, "Ref001", data_type=TEMPERATURE, recorded_at="2021-07-01T12:00:00Z")
    assert _event(result, TEMPERATURE)["body"]["data"]["recorded_at"] == "2021-07-01T12:00:00.000+00:00"
    control.patch("/bumblebee/settings", json={"timezone": "Europe/Amsterdam"})
    summer = report(control, "Ref001", data_type=TEMPERATURE, recorded_at=1625140800)
    assert _event(summer, TEMPERATURE)["body"]["data"]["recorded_at"] == "2021-07-01T14:00:00.000+02:00"
    assert control.patch("/bumblebee/settings", json={"timezone": "Mars/Olympus"}).status_code == 400
