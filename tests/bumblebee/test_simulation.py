"""The simulated world under /_mock/bumblebee: assets and nodes, their 4xx, the demo
scenario, and scenario sections (including `bumblebee: {}`)."""

from __future__ import annotations

from typing import Any

import pytest

from mockserver.apis.bumblebee.models import BumblebeeBackend
from mockserver.kernel.runtime import Runtime
from mockserver.settings import Settings

from .helpers import report


def test_demo_scenario_has_assets_and_nodes_but_no_webhooks(bumblebee: Any, control: Any) -> None:
    assets = {a["id"]: a for a in control.get("/bumblebee/assets").json()["assets"]}
    nodes = {n["id"]: n for n in control.get("/bumblebee/nodes").json()["nodes"]}
    assert set(assets) == {"Abc123", "Kx7mP2qa", "Tq9wLm3z"}
    assert set(nodes) == {"Ref001", "Ref002", "Ref003", "Ref004"}
    assert nodes["Ref001"]["sigfox_id"] == "123ABC" and nodes["Ref001"]["asset_id"] == "Abc123"
    assert nodes["Ref004"]["asset_id"] is None
    assert assets["Abc123"]["node_ids"] == ["Ref001"]
    assert bumblebee.client.get("/webhooks").json() == {"webhooks": []}
    assert control.get("/bumblebee/settings").json() == {"timezone": "Europe/Amsterdam"}


def test_create_assets_and_nodes_with_generated_values(bumblebee: Any, control: Any) -> None:
    asset = control.post("/bumblebee/assets", json={}).json()
    assert len(asset["id"]) == 8 and asset["name"] and asset["node_ids"] == []
    node = control.post("/bumblebee/nodes", json={"asset_id": asset["id"]}).json()
    assert node["id"] == "Ref005"  # the next free reference after the demo's four
    assert len(node["sigfox_id"]) == 6 and int(node["sigfox_id"], 16) >= 0
    assert node["asset_id"] == asset["id"] and node["version"] == "0.11.0"
    assert -90 <= node["latitude"] <= 90 and node["battery"] % 5 == 0
    assert node["configuration"]["behavior_profile"] == "default"
    assert control.get(f"/bumblebee/assets/{asset['id']}").json()["node_ids"] == [node["id"]]
    # the same seed and calls give the same world
    bumblebee.server.reset("bumblebee")
    assert control.post("/bumblebee/assets", json={}).json()["id"] == asset["id"]
    again = control.post("/bumblebee/nodes", json={"asset_id": asset["id"]}).json()
    assert {k: v for k, v in again.items() if k != "created_at"} == {
        k: v for k, v in node.items() if k != "created_at"
    }


def test_nodes_can_be_changed_linked_and_deleted(bumblebee: Any, control: Any) -> None:
    created = control.post(
        "/bumblebee/nodes",
        json={
            "id": "Tracker-9",
            "sigfox_id": "beef01",
            "version": "0.8.0",
            "battery": 73,
            "configuration": {"behavior_profile": "unless"},
        },
    )
    assert created.status_code == 201, created.text
    node = created.json()
    assert node["sigfox_id"] == "BEEF01" and node["battery"] == 75
    assert node["configuration"]["trigger_type"] == "motion"
    linked = control.patch("/bumblebee/nodes/Tracker-9", json={"asset_id": "Abc123"}).json()
    assert linked["asset_id"] == "Abc123"
    result = report(control, "Tracker-9", data_type="temperature/create")
    assert result["events"][1]["body"]["asset"] == {"id": "Abc123"}
    assert control.delete("/bumblebee/assets/Abc123").status_code == 204
    assert control.get("/bumblebee/nodes/Tracker-9").json()["asset_id"] is None
    assert control.get("/bumblebee/nodes/Ref001").json()["asset_id"] is None
    unlinked = report(control, "Tracker-9", data_type="temperature/create")
    assert "asset" not in unlinked["events"][1]["body"]
    assert control.delete("/bumblebee/nodes/Tracker-9").status_code == 204
    assert control.get("/bumblebee/nodes/Tracker-9").status_code == 404
    # a deleted node's Sigfox id is a device Bumblebee no longer knows
    stranger = control.post(
        "/bumblebee/sigfox/BEEF01/report", json={"data_type": "temperature/create"}
    ).json()
    assert "node" not in stranger["events"][1]["body"]


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("GET", "/bumblebee/nodes/Nope", None, 404),
        ("PATCH", "/bumblebee/nodes/Nope", {}, 404),
        ("DELETE", "/bumblebee/nodes/Nope", None, 404),
        ("POST", "/bumblebee/nodes/Nope/report", {}, 404),
        ("GET", "/bumblebee/assets/Nope", None, 404),
        ("DELETE", "/bumblebee/assets/Nope", None, 404),
        ("POST", "/bumblebee/nodes", {"id": "Ref001"}, 409),
        ("POST", "/bumblebee/nodes", {"sigfox_id": "123abc"}, 409),
        ("POST", "/bumblebee/nodes", {"asset_id": "Nope"}, 404),
        ("POST", "/bumblebee/nodes", {"sigfox_id": "XYZ"}, 400),
        ("POST", "/bumblebee/nodes", {"battery": 101}, 400),
        ("POST", "/bumblebee/nodes", {"colour": "red"}, 400),
        ("POST", "/bumblebee/nodes", {"configuration": {"trigger_type": "motion"}}, 400),
        ("POST", "/bumblebee/nodes", [1, 2], 400),
        ("POST", "/bumblebee/assets", {"id": "Abc123"}, 409),
        ("POST", "/bumblebee/assets", {"name": ""}, 400),
        ("POST", "/bumblebee/nodes/Ref001/report", {"data_type": "gps"}, 400),
        ("POST", "/bumblebee/nodes/Ref001/report", {"data_type": "geo_location/create", "degrees": 3}, 400),
        (
            "POST",
            "/bumblebee/nodes/Ref001/report",
            {"data_type": "geo_location/create", "data_types": []},
            400,
        ),
        ("POST", "/bumblebee/nodes/Ref001/report", {"latitude": 91}, 400),
        ("POST", "/bumblebee/nodes/Ref001/report", {"sensor1_raw_value": 4096}, 400),
        ("POST", "/bumblebee/nodes/Ref001/report", {"recorded_at": "yesterday"}, 400),
        ("POST", "/bumblebee/nodes/Ref001/report", {"external_io": 2}, 400),
        ("POST", "/bumblebee/sigfox/NOT-HEX/report", {}, 400),
    ],
)
def test_control_plane_errors(
    bumblebee: Any, control: Any, method: str, path: str, body: Any, status: int
) -> None:
    response = control.request(method, path, json=body)
    assert response.status_code == status, response.text
    assert response.json()["error"]


def test_malformed_json_to_the_control_plane_is_a_400(bumblebee: Any, control: Any) -> None:
    response = control.post("/bumblebee/nodes/Ref001/report", content=b"{oops")
    assert response.status_code == 400 and "malformed JSON" in response.json()["error"]


# -- scenario sections -------------------------------------------------------------------------
def _backend(section: Any) -> BumblebeeBackend:
    from mockserver.apis.bumblebee import API as bumblebee

    runtime = Runtime(Settings(scenario=None))
    runtime.scenario = {"bumblebee": section}
    bumblebee.mount(runtime)
    runtime.reset("bumblebee")
    return runtime.backends["bumblebee"]  # type: ignore[return-value]


@pytest.mark.parametrize("section", [{}, None])
def test_an_empty_section_gives_an_empty_world(section: Any) -> None:
    backend = _backend(section)
    assert backend.list_nodes() == [] and backend.list_assets() == [] and backend.list_webhooks() == []


def test_a_section_may_configure_webhooks() -> None:
    backend = _backend(
        {
            "timezone": "UTC",
            "webhooks": [{"url": "http://127.0.0.1:9/h", "data_types": ["temperature/create"]}],
        }
    )
    [hook] = backend.list_webhooks()
    assert hook["data_types"] == ["temperature/create"] and hook["enabled"] is True
    assert backend.settings.get("timezone") == "UTC"


@pytest.mark.parametrize(
    "section",
    [
        {"nodes": [{"id": "A", "colour": "red"}]},
        {"nodes": [{"asset_id": "missing"}]},
        {"webhooks": [{"url": "ftp://x", "data_types": ["temperature/create"]}]},
        {"webhooks": [{"url": "http://x", "data_types": ["gps"]}]},
        {"webhooks": [{"url": "http://x", "data_types": ["temperature/create"], "headers": {"Host": "y"}}]},
        {"timezone": "Nowhere/Special"},
        {"gadgets": []},
    ],
)
def test_a_bad_section_is_refused_with_a_clear_error(section: dict) -> None:
    with pytest.raises(ValueError, match="scenario section 'bumblebee'"):
        _backend(section)


def test_the_world_survives_snapshot_and_restore(bumblebee: Any, control: Any) -> None:
    hook = bumblebee.client.post(
        "/webhooks", json={"url": "http://127.0.0.1:9/h", "data_types": ["temperature/create"]}
    ).json()
    control.patch("/bumblebee/nodes/Ref001", json={"battery": 35})
    report(control, "Ref001", data_type="temperature/create", degrees=30.5)
    saved = bumblebee.server.snapshot()
    bumblebee.server.reset("bumblebee")
    assert bumblebee.client.get("/webhooks").json() == {"webhooks": []}
    bumblebee.server.restore(saved)
    assert bumblebee.client.get(f"/webhooks/{hook['id']}").json() == hook
    node = control.get("/bumblebee/nodes/Ref001").json()
    assert (node["battery"], node["temperature"]) == (35, 30.5)
    [message] = bumblebee.client.get(f"/webhooks/{hook['id']}/messages").json()["messages"]
    assert message["payload"]["data"]["degrees"] == 30.5
    # ids carry on after a restore: no collision with what was already made
    again = report(control, "Ref001", data_type="temperature/create")
    assert again["events"][1]["messages"][0]["id"] != message["id"]
