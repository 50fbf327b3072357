"""The world behind Bumblebee: assets, tracker nodes and the Sigfox messages they send.

Control plane, under /_mock/bumblebee (JSON in and out; errors are {"error", "details"}):

    GET    /assets                      list assets
    POST   /assets                      {"id"?, "name"?}                        -> 201 asset
    GET    /assets/{asset_id}           PATCH {"name"}   DELETE (its nodes stay, unlinked)
    GET    /nodes                       list nodes (with their current readings)
    POST   /nodes                       {"id"?, "sigfox_id"?, "asset_id"?, "version"?,
                                         "configuration"?, "battery"?, "latitude"?, ...} -> 201 node
    GET    /nodes/{node_id}             PATCH (same fields but id)   DELETE
    POST   /nodes/{node_id}/report      the node sends one Sigfox message (body below)
    POST   /sigfox/{sigfox_id}/report   a message from a Sigfox device id; when no node has
                                        that id the node is unknown: bodies carry neither
                                        `node` nor `asset`
    GET    /settings   PATCH {"timezone": "UTC"}   the UTC offset webhook times are shown in

A report is one Sigfox message: it always yields a `sigfox_message_info/create` body, then
one body per reading it carries. Body of a report (every field optional):

    {"data_type": "temperature/create"} or {"data_types": [...]}   (default: inferred from the
        values given; with no values, a GPS fix, a temperature and a battery level)
    readings: "latitude", "longitude", "radius_accuracy", "degrees", "percentage",
              "sensor1_raw_value", "sensor2_raw_value", "sensor3_raw_value"
    message:  "recorded_at", "sent_at" (ISO 8601 or Unix seconds; default now), "snr",
              "rssi", "sequence", "message_number", "external_io" (0 active, 1 inactive),
              "trigger_type", "processing_error",
              "acknowledgement": true | "unparsable": true (no readings; recorded_at,
              message_number, external_io and node_configuration are null)

Values not given are generated from the node's last state (a small random walk), seeded,
so the same seed and calls give the same bodies. The answer lists every body and the
webhook messages created for it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ...control.common import json_body
from ...kernel.errors import ApiError, BadRequest
from . import payloads
from .errors import DATA_TYPES, invalid, render
from .models import BumblebeeBackend, _zone, check, round_to_5
from .payloads import BATTERY, GEO, READINGS, SENSOR, SIGFOX, TEMPERATURE, utc_time
from .webhooks import BodyBreaksSpec, BumblebeeWebhooks

if TYPE_CHECKING:
    from ...kernel.runtime import Runtime

_NUMBER = {"type": "number"}
_RAW = {"type": "integer", "minimum": 0, "maximum": 4095}
_TIME = {"type": ["string", "number"]}
REPORT = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "data_type": {"enum": list(DATA_TYPES)},
        "data_types": {"type": "array", "uniqueItems": True, "items": {"enum": list(DATA_TYPES)}},
        "latitude": {"type": "number", "minimum": -90, "maximum": 90},
        "longitude": {"type": "number", "minimum": -180, "maximum": 180},
        "radius_accuracy": {"type": ["number", "null"], "minimum": 0},
        "degrees": {"type": "number", "minimum": -100, "maximum": 150},
        "percentage": {"type": "number", "minimum": 0, "maximum": 100},
        "sensor1_raw_value": _RAW,
        "sensor2_raw_value": _RAW,
        "sensor3_raw_value": _RAW,
        "recorded_at": _TIME,
        "sent_at": _TIME,
        "snr": _NUMBER,
        "rssi": _NUMBER,
        "sequence": {"type": "integer", "minimum": 0, "maximum": 4095},
        "message_number": {"type": "integer", "minimum": 0},
        "external_io": {"enum": [0, 1]},
        "trigger_type": {"type": "string", "minLength": 1, "maxLength": 100},
        "processing_error": {"type": "string", "minLength": 1, "maxLength": 2000},
        "acknowledgement": {"type": "boolean"},
        "unparsable": {"type": "boolean"},
    },
    "not": {"required": ["data_type", "data_types"]},
}
SETTINGS = {
    "type": "object",
    "additionalProperties": False,
    "properties": {"timezone": {"type": "string", "minLength": 1}},
}
VALUES = {
    GEO: ("latitude", "longitude", "radius_accuracy"),
    TEMPERATURE: ("degrees",),
    BATTERY: ("percentage",),
    SENSOR: ("sensor1_raw_value", "sensor2_raw_value", "sensor3_raw_value"),
}
DEFAULT_READINGS = [GEO, TEMPERATURE, BATTERY]
UNPARSABLE_ERROR = "Could not parse the message payload"


class World:
    """Turns a node's report into state changes and webhook messages."""

    def __init__(self, backend: BumblebeeBackend, emitter: BumblebeeWebhooks) -> None:
        self.backend = backend
        self.emitter = emitter

    def report(self, node: dict[str, Any] | None, sigfox_id: str, request: dict[str, Any]) -> dict[str, Any]:
        check(REPORT, request)
        b = self.backend
        types = _reading_types(request)
        silent = bool(request.get("acknowledgement") or request.get("unparsable"))
        if silent and types:
            given = [k for t in types for k in VALUES[t] if k in request]
            raise invalid(
                given[0] if given else "data_types",
                "an acknowledgement or unparsable message carries no readings",
            )
        config = node["configuration"] if node is not None else None
        if "trigger_type" in request and (config is None or config.get("behavior_profile") != "unless"):
            raise invalid(
                "trigger_type", "trigger_type only applies to nodes whose behavior_profile is unless"
            )

        now = b.now()
        rng = b.rng("report")
        state = dict(node) if node is not None else self._stranger(sigfox_id)
        sent_at = _time(request, "sent_at", now)
        recorded_at = _time(request, "recorded_at", sent_at)
        sequence = request.get("sequence", (state["sequence"] + 1) % 4096)
        state["sequence"] = sequence
        if "external_io" in request:
            state["external_io"] = request["external_io"]
        if silent:
            number = external_io = node_configuration = record_time = None
        else:
            number = request.get("message_number", state["message_number"] + 1)
            state["message_number"] = number
            external_io = state["external_io"] if node is None or b.reports_external_io(node) else None
            node_configuration = dict(config) if config is not None else None
            if node_configuration is not None and "trigger_type" in request:
                node_configuration["trigger_type"] = request["trigger_type"]
            record_time = recorded_at
        processing_error = request.get("processing_error")
        if request.get("unparsable") and not processing_error:
            processing_error = UNPARSABLE_ERROR
        info = {
            "id": b.new_id("sigfox_message_info"),
            "sent_at": sent_at,
            "created_at": now,
            "recorded_at": record_time,
            "snr": float(request.get("snr", round(rng.uniform(3.0, 30.0), 3))),
            "rssi": float(request.get("rssi", round(rng.uniform(-140.0, -100.0), 3))),
            "sequence": sequence,
            "message_number": number,
            "external_io": external_io,
            "processing_error": processing_error,
            "node_configuration": node_configuration,
        }
        readings = [(t, self._reading(t, state, request, recorded_at, rng)) for t in types]
        state["last_message_at"] = now
        if node is not None:
            b.save_node(state)
        else:
            b.unknown_devices.put(sigfox_id, state)

        asset = None
        if node is not None and state.get("asset_id"):
            asset = b.assets.get(state["asset_id"])
        tz = b.timezone
        events = []
        sender = state if node is not None else None
        built = payloads.bodies(info, readings, node=sender, asset=asset, tz=tz)
        for data_type, body, records in self.emitter.emit_all(built):
            events.append(
                {
                    "data_type": data_type,
                    "body": body,
                    "messages": [{"id": r["id"], "webhook_id": r["endpoint_id"]} for r in records],
                }
            )
        return {
            "node": node_view(state) if node is not None else None,
            "sigfox_id": sigfox_id,
            "events": events,
        }

    def _stranger(self, sigfox_id: str) -> dict[str, Any]:
        """A device no node is registered for: counters kept per Sigfox id, no configuration."""
        known = self.backend.unknown_devices.get(sigfox_id)
        if known is not None:
            return dict(known)
        rng = self.backend.rng("stranger")
        fake = self.backend.faker("stranger_place")
        lat, lng = fake.local_latlng(country_code="NL", coords_only=True)
        return {
            "sigfox_id": sigfox_id,
            "latitude": round(float(lat), 6),
            "longitude": round(float(lng), 6),
            "temperature": round(rng.uniform(12.0, 24.0), 1),
            "battery": rng.randrange(50, 101, 5),
            "sensors": [rng.randrange(4096) for _ in range(3)],
            "external_io": 1,
            "sequence": rng.randrange(4096),
            "message_number": rng.randrange(1, 500),
        }

    def _reading(
        self, data_type: str, state: dict[str, Any], req: dict[str, Any], at: float, rng: Any
    ) -> dict[str, Any]:
        b = self.backend
        if data_type == BATTERY:
            drained = max(5, state["battery"] - rng.choice((0, 0, 5)))
            state["battery"] = round_to_5(req.get("percentage", drained))
            return {"recorded_at": at, "percentage": state["battery"]}
        reading: dict[str, Any] = {"id": b.new_id(data_type.split("/")[0]), "recorded_at": at}
        if data_type == GEO:
            state["latitude"] = req.get(
                "latitude", _clamp(round(state["latitude"] + rng.uniform(-0.005, 0.005), 6), 90)
            )
            state["longitude"] = req.get(
                "longitude", _clamp(round(state["longitude"] + rng.uniform(-0.008, 0.008), 6), 180)
            )
            accuracy = (
                req["radius_accuracy"] if "radius_accuracy" in req else round(rng.uniform(5.0, 60.0), 1)
            )
            reading.update(latitude=state["latitude"], longitude=state["longitude"], radius_accuracy=accuracy)
        elif data_type == TEMPERATURE:
            state["temperature"] = req.get("degrees", round(state["temperature"] + rng.uniform(-0.8, 0.8), 1))
            reading["degrees"] = state["temperature"]
        elif data_type == SENSOR:
            values = []
            for i, previous in enumerate(state["sensors"], start=1):
                drift = min(4095, max(0, previous + rng.randint(-60, 60)))
                values.append(req.get(f"sensor{i}_raw_value", drift))
                reading[f"sensor{i}_raw_value"] = values[-1]
            state["sensors"] = values
        return reading


def _reading_types(request: dict[str, Any]) -> list[str]:
    given = [t for t, keys in VALUES.items() if any(k in request for k in keys)]
    if "data_types" in request or "data_type" in request:
        asked = request["data_types"] if "data_types" in request else [request["data_type"]]
        types = [t for t in asked if t != SIGFOX]
        for t in given:
            if t not in types:
                raise invalid(
                    VALUES[t][0], f"{VALUES[t][0]} belongs to {t}, which this report does not carry"
                )
        return types
    if request.get("acknowledgement") or request.get("unparsable"):
        return given
    return [t for t in READINGS if t in given] if given else list(DEFAULT_READINGS)


# times a webhook body can show: from the Unix epoch (older dates carry local mean time
# offsets like +00:19:32, which are not RFC 3339) to the last day of year 9998 (no year
# 10000 once the account's UTC offset is applied)
EARLIEST_TIME = 0.0
LATEST_TIME = 253370764800.0  # 9998-12-31T00:00:00Z


def _time(request: dict[str, Any], key: str, default: float) -> float:
    if key not in request:
        return default
    try:
        value = payloads.parse_time(request[key])
    except (ValueError, OverflowError):
        raise invalid(key, f"{key} must be an ISO 8601 date-time or Unix seconds") from None
    if not EARLIEST_TIME <= value <= LATEST_TIME:
        raise invalid(key, f"{key} must be between 1970-01-01 and 9998-12-31")
    return value


def _clamp(value: float, limit: float) -> float:
    return max(-limit, min(limit, value))


# -- views -----------------------------------------------------------------------------
def node_view(node: dict[str, Any]) -> dict[str, Any]:
    return {
        **node,
        "created_at": utc_time(node.get("created_at")),
        "last_message_at": utc_time(node.get("last_message_at")),
    }


def asset_view(backend: BumblebeeBackend, asset: dict[str, Any]) -> dict[str, Any]:
    view = backend.asset_view(asset)
    return {**view, "created_at": utc_time(view.get("created_at"))}


# -- routes ----------------------------------------------------------------------------
Handler = Callable[[dict[str, Any], Any], tuple[int, Any]]


def control_routes(runtime: Runtime, backend: BumblebeeBackend, emitter: BumblebeeWebhooks) -> list[Route]:
    b = backend
    world = World(backend, emitter)

    def route(path: str, methods: dict[str, Handler]) -> Route:
        async def endpoint(request: Request) -> Response:
            handler = methods[request.method]
            body = await json_body(request, required=False) if request.method in ("POST", "PATCH") else None
            try:
                status, result = handler(dict(request.path_params), body)
            except ApiError as err:
                return JSONResponse(render(err), status_code=err.status, headers=err.headers)
            except BodyBreaksSpec as exc:
                return JSONResponse({"error": str(exc)}, status_code=500)
            finally:
                runtime.store.flush()
            if status == 204:
                return Response(status_code=204)
            return JSONResponse(result, status_code=status)

        return Route(path, endpoint, methods=list(methods))

    def assets_list(p: dict, body: Any) -> tuple[int, Any]:
        return 200, {"assets": [asset_view(b, a) for a in b.assets.values()]}

    def assets_create(p: dict, body: Any) -> tuple[int, Any]:
        return 201, asset_view(b, b.create_asset(body))

    def asset_get(p: dict, body: Any) -> tuple[int, Any]:
        return 200, asset_view(b, b.get_asset(p["asset_id"]))

    def asset_patch(p: dict, body: Any) -> tuple[int, Any]:
        return 200, asset_view(b, b.update_asset(p["asset_id"], body))

    def asset_delete(p: dict, body: Any) -> tuple[int, Any]:
        b.delete_asset(p["asset_id"])
        return 204, None

    def nodes_list(p: dict, body: Any) -> tuple[int, Any]:
        return 200, {"nodes": [node_view(n) for n in b.list_nodes()]}

    def nodes_create(p: dict, body: Any) -> tuple[int, Any]:
        return 201, node_view(b.create_node(body))

    def node_get(p: dict, body: Any) -> tuple[int, Any]:
        return 200, node_view(b.get_node(p["node_id"]))

    def node_patch(p: dict, body: Any) -> tuple[int, Any]:
        return 200, node_view(b.update_node(p["node_id"], body))

    def node_delete(p: dict, body: Any) -> tuple[int, Any]:
        b.delete_node(p["node_id"])
        return 204, None

    def node_report(p: dict, body: Any) -> tuple[int, Any]:
        node = b.get_node(p["node_id"])
        return 201, world.report(node, node["sigfox_id"], body)

    def sigfox_report(p: dict, body: Any) -> tuple[int, Any]:
        sigfox_id = p["sigfox_id"].upper()
        if not all(c in "0123456789ABCDEF" for c in sigfox_id) or not 1 <= len(sigfox_id) <= 8:
            raise BadRequest("a Sigfox id is 1 to 8 hexadecimal digits")
        return 201, world.report(b.node_by_sigfox(sigfox_id), sigfox_id, body)

    def settings_get(p: dict, body: Any) -> tuple[int, Any]:
        return 200, {"timezone": b.settings.get("timezone")}

    def settings_patch(p: dict, body: Any) -> tuple[int, Any]:
        check(SETTINGS, body)
        if "timezone" in body:
            _zone(body["timezone"])
            b.settings.put("timezone", body["timezone"])
        return settings_get(p, None)

    return [
        route("/assets", {"GET": assets_list, "POST": assets_create}),
        route("/assets/{asset_id}", {"GET": asset_get, "PATCH": asset_patch, "DELETE": asset_delete}),
        route("/nodes", {"GET": nodes_list, "POST": nodes_create}),
        route("/nodes/{node_id}", {"GET": node_get, "PATCH": node_patch, "DELETE": node_delete}),
        route("/nodes/{node_id}/report", {"POST": node_report}),
        route("/sigfox/{sigfox_id}/report", {"POST": sigfox_report}),
        route("/settings", {"GET": settings_get, "PATCH": settings_patch}),
    ]
