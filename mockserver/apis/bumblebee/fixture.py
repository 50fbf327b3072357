"""The `bumblebee_api` fixture's handle (mockserver.testing.plugin): webhooks, nodes and their reports."""

from __future__ import annotations

from typing import Any

from ...testing.handle import ApiHandle

__all__ = ["BumblebeeApi"]


class BumblebeeApi(ApiHandle):
    """`client` has base URL `.../bumblebee` (the sandbox webhook configuration API)."""

    api = "bumblebee"

    DATA_TYPES = (
        "battery_level/update",
        "geo_location/create",
        "temperature/create",
        "sensor_value/create",
        "sigfox_message_info/create",
    )

    def add_webhook(self, url: str, data_types: list[str] | tuple[str, ...] = DATA_TYPES, **fields: Any) -> dict[str, Any]:
        """Configure a webhook (POST /bumblebee/webhooks), by default for every data type."""
        body: dict[str, Any] = {"url": url, "data_types": list(data_types), **fields}
        return self._ok(self.client.post("/webhooks", json=body))

    def add_node(self, **fields: Any) -> dict[str, Any]:
        """A tracker node in the world (POST /_mock/bumblebee/nodes)."""
        return self.simulate("/nodes", fields)

    def report(self, node_id: str, **reading: Any) -> dict[str, Any]:
        """The node sends one Sigfox message; every matching webhook gets its bodies."""
        return self.simulate(f"/nodes/{node_id}/report", reading)
