"""Helpers the Bumblebee tests share: calls through the HTTP surface and polling."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx


def create_webhook(client: httpx.Client, url: str, data_types: list[str], **fields: Any) -> dict[str, Any]:
    response = client.post("/webhooks", json={"url": url, "data_types": data_types, **fields})
    assert response.status_code == 201, response.text
    return response.json()


def report(control: httpx.Client, node_id: str, **body: Any) -> dict[str, Any]:
    response = control.post(f"/bumblebee/nodes/{node_id}/report", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def messages(client: httpx.Client, webhook_id: str, **params: Any) -> list[dict[str, Any]]:
    response = client.get(f"/webhooks/{webhook_id}/messages", params=params)
    assert response.status_code == 200, response.text
    return response.json()["messages"]


def wait_until(probe: Callable[[], Any], timeout: float = 10.0, what: str = "condition") -> Any:
    """Poll `probe` until it returns something truthy (never asserts a duration)."""
    deadline = time.monotonic() + timeout
    while True:
        result = probe()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def wait_attempts(client: httpx.Client, webhook_id: str, count: int, total: int | None = None) -> list[dict]:
    """Wait until every message of the webhook has `count` attempts recorded (and, with
    `total`, that there are that many messages); returns the log."""

    def probe() -> list[dict] | None:
        log = messages(client, webhook_id)
        if total is not None and len(log) != total:
            return None
        return log if log and all(len(m["attempts"]) >= count for m in log) else None

    return wait_until(probe, what=f"{count} attempt(s) per message")


# -- bumblebee-webhooks.yaml ----------------------------------------------------------------
BODY_SCHEMAS = {
    "battery_level/update": "BatteryLevelUpdate",
    "geo_location/create": "GeoLocationCreate",
    "temperature/create": "TemperatureCreate",
    "sensor_value/create": "SensorValueCreate",
    "sigfox_message_info/create": "SigfoxMessageInfoCreate",
}
_VALIDATORS: dict[str, Any] = {}


def body_errors(body: dict[str, Any]) -> list[str]:
    """Every way a received body breaks bumblebee-webhooks.yaml (Draft 2020-12, formats on)."""
    import jsonschema_rs
    import yaml

    from mockserver.kernel.spec import resource_path

    if not _VALIDATORS:
        doc = yaml.safe_load(resource_path("bumblebee-webhooks.yaml").read_text(encoding="utf-8"))
        for data_type, name in BODY_SCHEMAS.items():
            schema = {"$ref": f"#/components/schemas/{name}", "components": doc["components"]}
            _VALIDATORS[data_type] = jsonschema_rs.Draft202012Validator(schema, validate_formats=True)
    validator = _VALIDATORS.get(body.get("data_type"))
    if validator is None:
        return [f"unknown data_type {body.get('data_type')!r}"]
    return [f"{list(e.instance_path)}: {e.message}" for e in validator.iter_errors(body)]
