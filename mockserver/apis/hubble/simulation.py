"""The Hubble world: registered devices transmit, gateways hear them.

Control routes (mounted under /_mock/hubble):

    POST /_mock/hubble/packets
        {"org_id": default sandbox org, "device_ids": [...] (omitted: every device of the org),
         "count": packets per device (1..10000, default 1), "spacing_seconds": S (default 60),
         "network_type": "TERRESTRIAL" | "SATELLITE", "payload": base64 (default generated),
         "rssi": number, "location": {"latitude", "longitude"}}
        Each device transmits `count` packets heard at now-(count-1)*S, ..., now-S, now; they all
        enter the stream now (in time order) and go to the org's packet webhooks.
        -> {"created": N, "packets": [first 1000, list-packets shape], "truncated": bool}

    POST /_mock/hubble/advertisements
        {"device_id", "count": 1..100, "spacing_seconds", "payload": base64 (optional)}
        Encrypts advertisements exactly as the device would broadcast them (nothing is stored):
        feed them to the ingest or decode endpoints.
        -> {"device_id", "encryption", "advertisements": [{"payload", "rssi", "timestamp"}]}

    GET /_mock/hubble/devices/{device_id}
        The stored device record, key included (the API shows a key only at registration).

Generated values (gateway locations near a per-device home city, RSSI, payloads) come from
Faker seeded by the server seed, so a seed fixes them all.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import random
from typing import TYPE_CHECKING, Any, cast

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from ...control.common import ControlError, json_body
from . import crypto
from .models.packets import TERRESTRIAL

if TYPE_CHECKING:
    from ...kernel.runtime import Runtime
    from .models import HubbleBackend

NETWORKS = ("TERRESTRIAL", "SATELLITE")
MAX_COUNT = 10_000
MAX_TOTAL = 100_000
RESPONSE_PACKETS = 1000
MAX_PAYLOAD = {crypto.AES_256_CTR: 13, crypto.AES_128_CTR: 13, crypto.AES_128_EAX: 9, crypto.NONE: 18}


class Transmitter:
    """Generates what a device sends and where a gateway hears it."""

    def __init__(self, backend: HubbleBackend) -> None:
        from faker import Faker  # noqa: PLC0415 - ~0.1 s: only when packets are generated

        self.backend = backend
        self.fake = Faker()
        self.random = self.fake.random
        self._places = Faker()  # a second instance: picking a home must not disturb the packet stream
        self._homes: dict[str, tuple[float, float]] = {}
        # Faker's local_latlng() filters its whole place list on every call; the same draw
        # from the list filtered once (its own provider and random stream: the same homes)
        self._geo = cast(Any, self._places.local_latlng).__self__  # the bound method's provider
        self._us_places = [loc for loc in self._geo.land_coords if loc[3] == "US"]

    def home(self, device_id: str) -> tuple[float, float]:
        """A fixed home city per device (seed + id), around which gateways hear it."""
        home = self._homes.get(device_id)
        if home is None:
            digest = hashlib.sha256(f"{self.backend.settings.seed}:home:{device_id}".encode()).digest()
            self._places.seed_instance(int.from_bytes(digest[:8], "big"))
            lat, lon = self._geo.random_element(self._us_places)[:2]
            home = self._homes[device_id] = (float(lat), float(lon))
        return home

    def reseed(self, rng: random.Random) -> None:
        """Restart Faker's stream from `rng` (one seeded stream per simulate call or seeding)."""
        self.fake.seed_instance(rng.getrandbits(64))
        self.random = self.fake.random

    def payload(self, encryption: str) -> bytes:
        r = self.random
        return r.randbytes(r.randint(2, MAX_PAYLOAD[encryption]))

    def location(self, device_id: str, heard_at: float, fixed: dict[str, Any] | None = None) -> dict[str, Any]:
        r = self.random  # Faker's seeded stream (its providers are slow for thousands of packets)
        if fixed is not None:
            lat, lon = float(fixed["latitude"]), float(fixed["longitude"])
        else:
            home_lat, home_lon = self.home(device_id)
            lat = max(-90.0, min(90.0, home_lat + r.uniform(-0.02, 0.02)))
            lon = max(-180.0, min(180.0, home_lon + r.uniform(-0.02, 0.02)))
        accuracy = round(r.uniform(3, 40), 1)
        return {
            "latitude": round(lat, 6),
            "longitude": round(lon, 6),
            "altitude": round(r.uniform(0, 150), 1),
            "horizontal_accuracy": accuracy,
            "vertical_accuracy": round(accuracy * 1.5, 1),
            "timestamp": round(max(0.0, heard_at - r.uniform(0, 120)), 3),
        }

    def counters(self, device: dict[str, Any], heard_at: float) -> tuple[int | None, int | None]:
        """(counter, sequence number) as the device would stamp them at `heard_at`."""
        encryption = device["encryption"]
        if encryption == crypto.NONE:
            return None, None
        key = self.backend._device_key(device)
        uptime = max(0.0, heard_at - device["created_ts"])
        counter = crypto.counter_for(key, heard_at, uptime)
        if encryption == crypto.AES_128_EAX:
            return counter, self.random.randint(0, 0xFFFF)  # the nonce salt, reported as the sequence
        sent = len(self.backend.stream(f"dev:{device['id']}"))
        return counter, sent % (crypto.MAX_SEQ_NO + 1)

    def transmit(
        self,
        device: dict[str, Any],
        heard_at: float,
        *,
        rx: float | None = None,
        network: str = TERRESTRIAL,
        payload: bytes | None = None,
        rssi: float | None = None,
        location: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        counter, seq_no = self.counters(device, heard_at)
        return self.backend.add_packet(
            device,
            ts=round(heard_at, 3),
            payload=self.payload(device["encryption"]) if payload is None else payload,
            rssi=self.random.randint(-118, -55) if rssi is None else rssi,
            location=self.location(device["id"], heard_at, location),
            counter=counter,
            seq_no=seq_no,
            network=network,
            rx=None if rx is None else round(rx, 3),
        )


# -- control routes -----------------------------------------------------------------------------


def _int(body: dict[str, Any], name: str, default: int, lo: int, hi: int) -> int:
    value = body.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise ControlError(400, f"{name} must be an integer from {lo} to {hi}")
    return value


def _number(body: dict[str, Any], name: str, default: float, lo: float) -> float:
    value = body.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < lo:
        raise ControlError(400, f"{name} must be a number >= {lo}")
    return float(value)


def _payload(body: dict[str, Any]) -> bytes | None:
    if body.get("payload") is None:
        return None
    try:
        return base64.b64decode(body["payload"], validate=True)
    except (binascii.Error, TypeError, ValueError):
        raise ControlError(400, "payload must be base64") from None


def simulate_packets(backend: HubbleBackend, body: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise ControlError(400, "expected a JSON object")
    org_id = body.get("org_id", backend.settings.hubble_org_id)
    if not isinstance(org_id, str):  # a list or object is no key (and unhashable)
        raise ControlError(400, "org_id must be a string")
    if org_id not in backend.orgs:
        raise ControlError(404, f"no organization {org_id!r}")
    count = _int(body, "count", 1, 1, MAX_COUNT)
    spacing = _number(body, "spacing_seconds", 60.0, 0.0)
    network = body.get("network_type", TERRESTRIAL)
    if network not in NETWORKS:
        raise ControlError(400, f"network_type must be one of {list(NETWORKS)}")
    payload = _payload(body)
    rssi = body.get("rssi")
    if rssi is not None and (isinstance(rssi, bool) or not isinstance(rssi, int | float)):
        raise ControlError(400, "rssi must be a number")
    location = body.get("location")
    if location is not None and not (
        isinstance(location, dict)
        and all(isinstance(location.get(k), int | float) for k in ("latitude", "longitude"))
        and -90 <= location["latitude"] <= 90
        and -180 <= location["longitude"] <= 180
    ):
        raise ControlError(400, "location must be {latitude: -90..90, longitude: -180..180}")
    ids = body.get("device_ids")
    if ids is None:
        devices = [backend.devices[d] for d in backend.device_ids(org_id)]
    else:
        if not isinstance(ids, list) or not all(isinstance(d, str) for d in ids):
            raise ControlError(400, "device_ids must be a list of device ids")
        unknown = [d for d in ids if d not in backend.devices or backend.devices[d]["org_id"] != org_id]
        if unknown:
            raise ControlError(404, f"no such devices in organization {org_id}: {unknown[:10]}")
        devices = [backend.devices[d] for d in dict.fromkeys(ids)]
    if count * len(devices) > MAX_TOTAL:
        raise ControlError(400, f"count x devices is {count * len(devices)}; at most {MAX_TOTAL} packets a call")
    transmitter = backend.transmitter
    transmitter.reseed(backend.ids.rng("simulate"))
    now = backend.now()
    stored = []
    for k in range(count):
        heard_at = now - (count - 1 - k) * spacing
        for device in devices:
            stored.append(
                transmitter.transmit(device, heard_at, network=network, payload=payload, rssi=rssi, location=location)
            )
    backend.emitter.emit(org_id, stored)
    views = [backend.packet_view(p) for p in stored[:RESPONSE_PACKETS]]
    return {"created": len(stored), "packets": views, "truncated": len(stored) > RESPONSE_PACKETS}


def make_advertisements(backend: HubbleBackend, body: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise ControlError(400, "expected a JSON object")
    if not isinstance(body.get("device_id"), str):
        raise ControlError(400, "device_id must be a string")
    device = backend.devices.get(body["device_id"])
    if device is None:
        raise ControlError(404, f"no device {body.get('device_id')!r}")
    count = _int(body, "count", 1, 1, 100)
    spacing = _number(body, "spacing_seconds", 60.0, 0.0)
    fixed = _payload(body)
    transmitter = backend.transmitter
    transmitter.reseed(backend.ids.rng("advertisement"))
    key = backend._device_key(device)
    now = backend.now()
    limit = MAX_PAYLOAD[device["encryption"]]
    if fixed is not None and len(fixed) > limit:
        raise ControlError(400, f"payload: {device['encryption']} carries at most {limit} bytes")
    out = []
    for k in range(count):
        at = now - (count - 1 - k) * spacing
        plain = transmitter.payload(device["encryption"]) if fixed is None else fixed
        seq = transmitter.random.randint(0, 0xFFFF if device["encryption"] == crypto.AES_128_EAX else crypto.MAX_SEQ_NO)
        raw = crypto.encrypt(key, plain, at, seq, uptime=max(0.0, at - device["created_ts"]))
        out.append({"payload": base64.b64encode(raw).decode(), "rssi": transmitter.random.randint(-118, -55), "timestamp": round(at, 3)})
    return {"device_id": device["id"], "encryption": device["encryption"], "advertisements": out}


def control_routes(runtime: Runtime, hubble: HubbleBackend) -> list[Route]:
    def backend() -> HubbleBackend:
        return hubble

    async def packets(request: Request) -> JSONResponse:
        result = simulate_packets(backend(), await json_body(request, required=False))
        runtime.store.flush()
        return JSONResponse(result)

    async def advertisements(request: Request) -> JSONResponse:
        result = make_advertisements(backend(), await json_body(request))
        runtime.store.flush()
        return JSONResponse(result)

    async def device(request: Request) -> JSONResponse:
        record = backend().devices.get(request.path_params["device_id"])
        if record is None:
            raise ControlError(404, f"no device {request.path_params['device_id']!r}")
        return JSONResponse(record)

    return [
        Route("/packets", packets, methods=["POST"]),
        Route("/advertisements", advertisements, methods=["POST"]),
        Route("/devices/{device_id}", device, methods=["GET"]),
    ]
