"""Assets (`bumblebee.assets`): the things nodes are attached to."""

from __future__ import annotations

from typing import Any

from ....kernel.errors import Conflict, NotFound
from .rules import ASSET_CREATE, ASSET_KINDS, ASSET_UPDATE, check
from .state import BumblebeeState


class AssetsMixin(BumblebeeState):
    def list_assets(self) -> list[dict[str, Any]]:
        return [self.asset_view(a) for a in self.assets.values()]

    def get_asset(self, asset_id: str) -> dict[str, Any]:
        asset = self.assets.get(asset_id)
        if asset is None:
            raise NotFound(f"no asset {asset_id!r}")
        return asset

    def asset_view(self, asset: dict[str, Any]) -> dict[str, Any]:
        nodes = [n["id"] for n in self.nodes.values() if n.get("asset_id") == asset["id"]]
        return {**asset, "node_ids": nodes}

    def create_asset(self, data: dict[str, Any]) -> dict[str, Any]:
        check(ASSET_CREATE, data)
        asset_id = data.get("id") or self.new_id("asset_id", self.assets)
        if asset_id in self.assets:
            raise Conflict(f"asset {asset_id!r} already exists")
        name = data.get("name")
        if name is None:
            fake = self.faker("asset_name")
            name = f"{fake.random_element(ASSET_KINDS)} {fake.license_plate()}"
        asset = {"id": asset_id, "name": name, "created_at": self.now()}
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
