"""The five webhook bodies, built from node and asset state exactly as Bumblebee documents them.

    {"data_type": ..., "data": {...}, "asset": {"id"}, "node": {"id", "sigfox_id"},
     "message_info": {"id", "sent_at", "message_number", "external_io"}}

- `asset` is left out when the data cannot be tied to an asset (the node is linked to none);
- `node` is left out when the sending node is unknown (a Sigfox device Bumblebee does not know);
- `message_info` is left out for battery levels and Sigfox message info, present otherwise.

Internally a Sigfox message ("info") and each reading keep times as Unix seconds; bodies show
them as ISO 8601 with milliseconds and the account's UTC offset, like the documentation's
"2021-01-01T13:00:00.000+01:00".
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

BATTERY = "battery_level/update"
GEO = "geo_location/create"
TEMPERATURE = "temperature/create"
SENSOR = "sensor_value/create"
SIGFOX = "sigfox_message_info/create"
READINGS = (GEO, TEMPERATURE, SENSOR, BATTERY)  # what one Sigfox message can carry
WITH_MESSAGE_INFO = frozenset({GEO, TEMPERATURE, SENSOR})


def local_time(t: float | None, tz: Any) -> str | None:
    """2021-01-01T13:00:00.000+01:00"""
    if t is None:
        return None
    return datetime.fromtimestamp(t, tz).isoformat(timespec="milliseconds")


def utc_time(t: float | None) -> str | None:
    """2021-01-01T12:00:00.000Z (the sandbox API's times)."""
    if t is None:
        return None
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_time(value: Any) -> float:
    """Unix seconds from a number or an ISO 8601 string (no offset: UTC). ValueError otherwise."""
    if isinstance(value, bool):
        raise ValueError("not a time")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        parsed = datetime.fromisoformat(text)
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        return parsed.timestamp()
    raise ValueError("not a time")


# -- the data nodes --------------------------------------------------------------------
def battery_data(reading: dict[str, Any], tz: Any) -> dict[str, Any]:
    return {"recorded_at": local_time(reading["recorded_at"], tz), "percentage": reading["percentage"]}


def geo_data(reading: dict[str, Any], tz: Any) -> dict[str, Any]:
    return {
        "id": reading["id"],
        "latitude": reading["latitude"],
        "longitude": reading["longitude"],
        "radius_accuracy": reading["radius_accuracy"],
        "recorded_at": local_time(reading["recorded_at"], tz),
    }


def temperature_data(reading: dict[str, Any], tz: Any) -> dict[str, Any]:
    return {
        "id": reading["id"],
        "degrees": reading["degrees"],
        "recorded_at": local_time(reading["recorded_at"], tz),
    }


def sensor_data(reading: dict[str, Any], tz: Any) -> dict[str, Any]:
    return {
        "id": reading["id"],
        "recorded_at": local_time(reading["recorded_at"], tz),
        "sensor1_raw_value": reading["sensor1_raw_value"],
        "sensor2_raw_value": reading["sensor2_raw_value"],
        "sensor3_raw_value": reading["sensor3_raw_value"],
    }


def sigfox_data(info: dict[str, Any], tz: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": info["id"],
        "sent_at": local_time(info["sent_at"], tz),
        "created_at": local_time(info["created_at"], tz),
        "recorded_at": local_time(info["recorded_at"], tz),
        "snr": info["snr"],
        "rssi": info["rssi"],
        "sequence": info["sequence"],
        "message_number": info["message_number"],
        "external_io": info["external_io"],
    }
    if info.get("processing_error"):  # "Omitted when empty."
        data["processing_error"] = info["processing_error"]
    data["node_configuration"] = info["node_configuration"]
    return data


def message_info(info: dict[str, Any], tz: Any) -> dict[str, Any]:
    return {
        "id": info["id"],
        "sent_at": local_time(info["sent_at"], tz),
        "message_number": info["message_number"],
        "external_io": info["external_io"],
    }


DATA_BUILDERS = {
    BATTERY: battery_data,
    GEO: geo_data,
    TEMPERATURE: temperature_data,
    SENSOR: sensor_data,
}


# -- the whole body --------------------------------------------------------------------
def body(
    data_type: str,
    data: dict[str, Any],
    *,
    node: dict[str, Any] | None,
    asset: dict[str, Any] | None,
    info: dict[str, Any] | None,
    tz: Any,
) -> dict[str, Any]:
    out: dict[str, Any] = {"data_type": data_type, "data": data}
    if asset is not None:
        out["asset"] = {"id": asset["id"]}
    if node is not None:
        out["node"] = {"id": node["id"], "sigfox_id": node["sigfox_id"]}
    if data_type in WITH_MESSAGE_INFO:
        assert info is not None, f"{data_type} always comes from a Sigfox message"
        out["message_info"] = message_info(info, tz)
    return out


def bodies(
    info: dict[str, Any],
    readings: list[tuple[str, dict[str, Any]]],
    *,
    node: dict[str, Any] | None,
    asset: dict[str, Any] | None,
    tz: Any,
) -> list[tuple[str, dict[str, Any]]]:
    """Every body one Sigfox message produces: its message info first, then each reading."""
    out = [(SIGFOX, body(SIGFOX, sigfox_data(info, tz), node=node, asset=asset, info=None, tz=tz))]
    for data_type, reading in readings:
        data = DATA_BUILDERS[data_type](reading, tz)
        out.append((data_type, body(data_type, data, node=node, asset=asset, info=info, tz=tz)))
    return out
