"""Bumblebee's state and its rules, no HTTP: webhooks, assets and nodes.

Tables (all JSON-able dicts, written only through `put`/`delete`):

- `bumblebee.webhooks`  {id, url, data_types, headers, description, enabled, created_at, updated_at}
- `bumblebee.assets`    {id, name, created_at}
- `bumblebee.nodes`     {id, sigfox_id, asset_id, version, configuration, battery, latitude,
                         longitude, temperature, sensors, external_io, sequence, message_number,
                         created_at, last_message_at}
- `bumblebee.settings`  {"timezone": "Europe/Amsterdam"}
- `bumblebee.unknown_devices`  Sigfox id -> the counters and last readings of a device that
                         no node is registered for

Times are Unix seconds (floats) here; the routes and payloads format them.
A node's `id` is its reference ("Ref001"), `sigfox_id` its Sigfox device id ("123ABC").
"""

from __future__ import annotations

import random
import string
from datetime import UTC
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import jsonschema_rs

from ...kernel.docs import load_yaml_file
from ...kernel.errors import ApiError
from ...kernel.ids import Ids
from ...kernel.spec import Schema, Spec, Violation
from .errors import DATA_TYPES, invalid

if TYPE_CHECKING:
    from ...kernel.runtime import Runtime

NAME = "bumblebee"
RESERVED_HEADERS = ("content-type", "user-agent", "x-request-id", "content-length", "host")
DEFAULT_TIMEZONE = "Europe/Amsterdam"
DEFAULT_NODE_VERSION = "0.11.0"
EXTERNAL_IO_SINCE = (0, 9)  # nodes older than 0.9 report no external i/o state
ALPHANUM = string.ascii_letters + string.digits
ASSET_KINDS = ("Trailer", "Container", "Forklift", "Generator", "Pallet", "Crane", "Van", "Skip")
CONFIG_NAMES = ("Default tracking", "Motion tracking", "Hourly heartbeat", "Cold chain", "Theft alarm")

SCENARIO_SCHEMA = Path(__file__).resolve().parent / "scenario_schema.yaml"


@lru_cache(maxsize=1)
def _section_schema() -> dict[str, Any]:
    doc = load_yaml_file(SCENARIO_SCHEMA)  # libyaml, and cached as JSON (PyYAML's pure-Python loader: ~30 ms)
    doc.pop("$schema", None)
    return doc


def _definition(name: str) -> dict[str, Any]:
    """One of scenario_schema.yaml's $defs, as a schema of its own."""
    return {"$defs": _section_schema()["$defs"], "$ref": f"#/$defs/{name}"}


SCENARIO = _section_schema()
ASSET_CREATE = _definition("Asset")
ASSET_UPDATE = _definition("AssetChanges")
NODE_CREATE = _definition("Node")
NODE_UPDATE = _definition("NodeChanges")


def check(schema: dict[str, Any], value: Any, where: str = "body") -> None:
    """Raise a 400 listing every way `value` breaks `schema` (a module-level schema dict)."""
    validator = _VALIDATORS.get(id(schema))
    if validator is None:
        validator = _VALIDATORS[id(schema)] = jsonschema_rs.Draft202012Validator(
            schema, validate_formats=True
        )
    found = [
        Violation(
            where + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err.instance_path),
            err.message,
        )
        for err in validator.iter_errors(value)
    ]
    if found:
        raise ApiError(400, "Invalid request", violations=found)


_VALIDATORS: dict[int, jsonschema_rs.Draft202012Validator] = {}


def version_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


class BumblebeeBackend:
    name = NAME

    def __init__(self, runtime: Runtime, webhook_schema: Schema | None = None) -> None:
        self.runtime = runtime
        store = runtime.store
        self.webhooks = store.table("bumblebee.webhooks")
        self.assets = store.table("bumblebee.assets")
        self.nodes = store.table("bumblebee.nodes")
        self.settings = store.table("bumblebee.settings")
        self.unknown_devices = store.table("bumblebee.unknown_devices")
        self.ids = Ids(runtime.settings.seed, store, NAME)
        self._webhook_schema = webhook_schema  # the sandbox spec's WebhookCreate, for scenarios
        self._faker: Any = None
        self.spec: Spec | None = None  # the sandbox API document, set by the package
        self.emitter: Any = None  # the webhooks.Emitter, set by the package

    @property
    def now(self) -> float:
        return self.runtime.clock.now()

    # -- runtime protocol ---------------------------------------------------------------
    def seed(self, scenario: dict[str, Any]) -> None:
        scenario = scenario or {}
        try:
            check(SCENARIO, scenario, "bumblebee")
            tz = scenario.get("timezone", DEFAULT_TIMEZONE)
            _zone(tz)
            self.settings.put("timezone", tz)
            for item in scenario.get("assets") or []:
                self.create_asset(item)
            for item in scenario.get("nodes") or []:
                self.create_node(item)
            for item in scenario.get("webhooks") or []:
                if self._webhook_schema is not None:
                    found = self._webhook_schema.errors(item, "webhooks[]")
                    if found:
                        raise ApiError(400, "invalid webhook", violations=found)
                self.create_webhook(item)
        except ApiError as err:
            raise ValueError(f"scenario section 'bumblebee': {err.detailed_message()}") from None

    def loaded(self) -> None:
        """Nothing to rebuild: every lookup reads the tables."""

    # -- settings -----------------------------------------------------------------------
    @property
    def timezone(self) -> Any:
        return _zone(self.settings.get("timezone", DEFAULT_TIMEZONE))

    # -- ids ----------------------------------------------------------------------------
    def new_id(self, kind: str, taken: Any = (), length: int = 8) -> str:
        """A short mixed-case id like Bumblebee's ("Abc123"), deterministic from the seed."""
        while True:
            rng = self.ids.rng(kind)
            value = "".join(rng.choice(ALPHANUM) for _ in range(length))
            if value not in taken:
                return value

    def rng(self, kind: str) -> random.Random:
        return self.ids.rng(kind)

    def faker(self, kind: str) -> Any:
        """A Faker (Dutch locale: Bumblebee tracks assets around the Netherlands) seeded for one use."""
        if self._faker is None:
            from faker import Faker

            self._faker = Faker("nl_NL")
        self._faker.seed_instance(self.ids.rng(kind).getrandbits(64))
        return self._faker

    # -- webhooks -----------------------------------------------------------------------
    def list_webhooks(self) -> list[dict[str, Any]]:
        return sorted(self.webhooks.values(), key=lambda w: w["created_at"])  # stable: insertion order

    def get_webhook(self, webhook_id: str) -> dict[str, Any]:
        hook = self.webhooks.get(webhook_id)
        if hook is None:
            raise ApiError(404, "Webhook not found")
        return hook

    def create_webhook(self, data: dict[str, Any]) -> dict[str, Any]:
        _check_url(data["url"])
        headers = _check_headers(data.get("headers") or {})
        now = self.now
        hook = {
            "id": self.ids.uuid("webhook"),
            "url": data["url"],
            "data_types": _data_types(data["data_types"]),
            "headers": headers,
            "description": data.get("description"),
            "enabled": bool(data.get("enabled", True)),
            "created_at": now,
            "updated_at": now,
        }
        return self.webhooks.put(hook["id"], hook)

    def update_webhook(self, webhook_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        hook = dict(self.get_webhook(webhook_id))
        if "url" in changes:
            _check_url(changes["url"])
            hook["url"] = changes["url"]
        if "headers" in changes:
            hook["headers"] = _check_headers(changes["headers"] or {})
        if "data_types" in changes:
            hook["data_types"] = _data_types(changes["data_types"])
        if "description" in changes:
            hook["description"] = changes["description"]
        if "enabled" in changes:
            hook["enabled"] = bool(changes["enabled"])
        if changes:
            hook["updated_at"] = self.now
        return self.webhooks.put(webhook_id, hook)

    def delete_webhook(self, webhook_id: str) -> dict[str, Any]:
        self.get_webhook(webhook_id)
        return self.webhooks.delete(webhook_id)

    def subscribers(self, data_type: str) -> list[dict[str, Any]]:
        """Enabled webhooks subscribed to `data_type`, oldest first."""
        return [w for w in self.list_webhooks() if w["enabled"] and data_type in w["data_types"]]

    # -- assets -------------------------------------------------------------------------
    def list_assets(self) -> list[dict[str, Any]]:
        return [self.asset_view(a) for a in self.assets.values()]

    def get_asset(self, asset_id: str) -> dict[str, Any]:
        asset = self.assets.get(asset_id)
        if asset is None:
            raise ApiError(404, f"no asset {asset_id!r}")
        return asset

    def asset_view(self, asset: dict[str, Any]) -> dict[str, Any]:
        nodes = [n["id"] for n in self.nodes.values() if n.get("asset_id") == asset["id"]]
        return {**asset, "node_ids": nodes}

    def create_asset(self, data: dict[str, Any]) -> dict[str, Any]:
        check(ASSET_CREATE, data)
        asset_id = data.get("id") or self.new_id("asset_id", self.assets)
        if asset_id in self.assets:
            raise ApiError(409, f"asset {asset_id!r} already exists")
        name = data.get("name")
        if name is None:
            fake = self.faker("asset_name")
            name = f"{fake.random_element(ASSET_KINDS)} {fake.license_plate()}"
        asset = {"id": asset_id, "name": name, "created_at": self.now}
        return self.assets.put(asset_id, asset)

    def update_asset(self, asset_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        check(ASSET_UPDATE, changes)
        asset = {**self.get_asset(asset_id), **changes}
        return self.assets.put(asset_id, asset)

    def delete_asset(self, asset_id: str) -> dict[str, Any]:
        """Delete an asset; its nodes stay, unlinked (their data then carries no `asset`)."""
        asset = self.get_asset(asset_id)
        for node in list(self.nodes.values()):
            if node.get("asset_id") == asset_id:
                self.nodes.put(node["id"], {**node, "asset_id": None})
        self.assets.delete(asset_id)
        return asset

    # -- nodes --------------------------------------------------------------------------
    def list_nodes(self) -> list[dict[str, Any]]:
        return list(self.nodes.values())

    def get_node(self, node_id: str) -> dict[str, Any]:
        node = self.nodes.get(node_id)
        if node is None:
            raise ApiError(404, f"no node {node_id!r}")
        return node

    def node_by_sigfox(self, sigfox_id: str) -> dict[str, Any] | None:
        wanted = sigfox_id.upper()
        for node in self.nodes.values():
            if node["sigfox_id"] == wanted:
                return node
        return None

    def create_node(self, data: dict[str, Any]) -> dict[str, Any]:
        check(NODE_CREATE, data)
        node_id = data.get("id") or self._next_reference()
        if node_id in self.nodes:
            raise ApiError(409, f"node {node_id!r} already exists")
        rng = self.rng("node")
        fake = self.faker("node_place")
        lat, lng = fake.local_latlng(country_code="NL", coords_only=True)
        sigfox_id = (data.get("sigfox_id") or self._new_sigfox_id(rng)).upper()
        node = {
            "id": node_id,
            "sigfox_id": sigfox_id,
            "asset_id": None,
            "version": DEFAULT_NODE_VERSION,
            "configuration": self._new_configuration(rng),
            "battery": rng.randrange(50, 101, 5),
            "latitude": round(float(lat), 6),
            "longitude": round(float(lng), 6),
            "temperature": round(rng.uniform(12.0, 24.0), 1),
            "sensors": [rng.randrange(4096) for _ in range(3)],
            "external_io": 1,
            "sequence": rng.randrange(4096),
            "message_number": rng.randrange(1, 500),
            "created_at": self.now,
            "last_message_at": None,
        }
        node = self._apply_node_fields(node, data)
        return self.nodes.put(node_id, node)

    def update_node(self, node_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        check(NODE_UPDATE, changes)
        node = self._apply_node_fields(dict(self.get_node(node_id)), changes)
        return self.nodes.put(node_id, node)

    def delete_node(self, node_id: str) -> dict[str, Any]:
        node = self.get_node(node_id)
        self.nodes.delete(node_id)
        return node

    def save_node(self, node: dict[str, Any]) -> dict[str, Any]:
        return self.nodes.put(node["id"], node)

    def reports_external_io(self, node: dict[str, Any]) -> bool:
        return version_tuple(node["version"])[:2] >= EXTERNAL_IO_SINCE

    def _apply_node_fields(self, node: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        if "sigfox_id" in data:
            sigfox_id = data["sigfox_id"].upper()
            other = self.node_by_sigfox(sigfox_id)
            if other is not None and other["id"] != node["id"]:
                raise ApiError(409, f"sigfox_id {sigfox_id!r} already belongs to node {other['id']!r}")
            node["sigfox_id"] = sigfox_id
        if "asset_id" in data:
            asset_id = data["asset_id"]
            if asset_id is not None and asset_id not in self.assets:
                raise ApiError(404, f"no asset {asset_id!r}")
            node["asset_id"] = asset_id
        if "configuration" in data:
            config = {**node["configuration"], **data["configuration"]}
            if config.get("behavior_profile") != "unless":
                if "trigger_type" in data["configuration"]:
                    raise invalid(
                        "configuration.trigger_type", "trigger_type only applies to behavior_profile unless"
                    )
                config.pop("trigger_type", None)
            else:
                config.setdefault("trigger_type", "motion")
            node["configuration"] = config
        for key in (
            "version",
            "latitude",
            "longitude",
            "temperature",
            "sensors",
            "external_io",
            "sequence",
            "message_number",
        ):
            if key in data:
                node[key] = data[key]
        if "battery" in data:
            node["battery"] = round_to_5(data["battery"])
        return node

    def _next_reference(self) -> str:
        while True:
            ref = f"Ref{self.ids.number('node_reference'):03d}"
            if ref not in self.nodes:
                return ref

    def _new_sigfox_id(self, rng: random.Random) -> str:
        while True:
            value = f"{rng.randrange(0x100000, 0x1000000):06X}"
            if self.node_by_sigfox(value) is None:
                return value

    def _new_configuration(self, rng: random.Random) -> dict[str, Any]:
        return {
            "id": "".join(rng.choice(ALPHANUM) for _ in range(8)),
            "name": rng.choice(CONFIG_NAMES),
            "behavior_id": "".join(rng.choice(ALPHANUM) for _ in range(8)),
            "behavior_version": rng.randint(1, 5),
            "behavior_profile": "default",
        }


# -- rules ---------------------------------------------------------------------------------
def round_to_5(value: float) -> int:
    """Battery levels are "rounded to 5 percent" (halves round up: 87.5 -> 90)."""
    return min(100, max(0, int(float(value) / 5.0 + 0.5) * 5))


def _zone(name: str) -> Any:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        if name in ("UTC", "Etc/UTC", DEFAULT_TIMEZONE):
            from datetime import timedelta, timezone

            # no tz database on this machine: UTC, or Bumblebee's winter offset
            return UTC if name != DEFAULT_TIMEZONE else timezone(timedelta(hours=1), "CET")
        raise ApiError(400, f"unknown timezone {name!r}") from None


def _check_url(url: str) -> None:
    if not url.lower().startswith(("http://", "https://")):
        raise invalid("url", "url must be an absolute http or https URL")


def _check_headers(headers: dict[str, str]) -> dict[str, str]:
    seen: dict[str, str] = {}
    violations = []
    for name in headers:
        lowered = name.lower()
        if lowered in RESERVED_HEADERS:
            violations.append(
                Violation(f"body.headers.{name}", f"{name} is set by Bumblebee and cannot be configured")
            )
        elif lowered in seen:
            violations.append(
                Violation(
                    f"body.headers.{name}", f"{name} repeats {seen[lowered]} (header names ignore case)"
                )
            )
        seen[lowered] = name
    if violations:
        raise ApiError(400, "Invalid request", violations=violations)
    return {str(k): str(v) for k, v in headers.items()}


def _data_types(values: list[str]) -> list[str]:
    out: list[str] = []
    for i, value in enumerate(values):
        if value not in DATA_TYPES:
            raise invalid(f"data_types[{i}]", f"unknown data type {value!r}; one of {', '.join(DATA_TYPES)}")
        if value not in out:
            out.append(value)
    if not out:
        raise invalid("data_types", "subscribe to at least one data type")
    return out
