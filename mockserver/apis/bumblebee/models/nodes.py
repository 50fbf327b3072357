"""Nodes (`bumblebee.nodes`): the trackers, their configuration and latest readings."""

from __future__ import annotations

import random
from typing import Any

from ....kernel.errors import Conflict, NotFound
from ..errors import invalid
from .rules import (
    ALPHANUM,
    CONFIG_NAMES,
    DEFAULT_NODE_VERSION,
    EXTERNAL_IO_SINCE,
    NODE_CREATE,
    NODE_UPDATE,
    check,
    round_to_5,
    version_tuple,
)
from .state import BumblebeeState


class NodesMixin(BumblebeeState):
    def list_nodes(self) -> list[dict[str, Any]]:
        return list(self.nodes.values())

    def get_node(self, node_id: str) -> dict[str, Any]:
        node = self.nodes.get(node_id)
        if node is None:
            raise NotFound(f"no node {node_id!r}")
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
            raise Conflict(f"node {node_id!r} already exists")
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
            "created_at": self.now(),
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
                raise Conflict(f"sigfox_id {sigfox_id!r} already belongs to node {other['id']!r}")
            node["sigfox_id"] = sigfox_id
        if "asset_id" in data:
            asset_id = data["asset_id"]
            if asset_id is not None and asset_id not in self.assets:
                raise NotFound(f"no asset {asset_id!r}")
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
