"""The `hubble_api` fixture's handle (mockserver.testing.plugin): a client with the bearer token, devices, webhooks, packets."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ...testing.handle import ApiHandle

__all__ = ["HubbleApi"]


class HubbleApi(ApiHandle):
    """`client` has base URL `.../hubble` and the sandbox bearer token; `org_id` is the
    sandbox organization; `org_path("/devices")` is `/api/org/<org_id>/devices`."""

    api = "hubble"

    @classmethod
    def client_options(cls, credentials: dict[str, Any], clock_ms: Callable[[], int]) -> dict[str, Any]:
        return {"headers": {"Authorization": f"Bearer {credentials['token']}"}}

    def org_path(self, path: str = "", version: int = 1) -> str:
        prefix = "/api/v2" if version == 2 else "/api"
        return f"{prefix}/org/{self.credentials['org_id']}{path}"

    def add_devices(self, count: int = 1, *, encryption: str = "AES-256-CTR", names: list[str] | None = None, **fields: Any) -> list[dict[str, Any]]:
        """Register devices through the API (POST /api/v2/org/{org}/devices); each with its key."""
        body: dict[str, Any] = {"n_devices": count, "encryption": encryption, **fields}
        if names is not None:
            body["names"] = names
        result = self._ok(self.client.post(self.org_path("/devices", version=2), json=body))
        return result["devices"] if isinstance(result, dict) and "devices" in result else result

    def add_device(self, name: str | None = None, **fields: Any) -> dict[str, Any]:
        return self.add_devices(1, names=[name] if name is not None else None, **fields)[0]

    def add_webhook(self, url: str, name: str = "test", max_batch_size: int | None = None) -> dict[str, Any]:
        """Register a packet webhook for the org; the answer includes its `secret`."""
        body: dict[str, Any] = {"url": url, "name": name}
        if max_batch_size is not None:
            body["max_batch_size"] = max_batch_size
        return self._ok(self.client.post(self.org_path("/webhooks"), json=body))

    def transmit(self, device_ids: str | list[str] | None = None, count: int = 1, **fields: Any) -> dict[str, Any]:
        """The devices send `count` packets each (POST /_mock/hubble/packets); they reach the
        packet stream and the org's webhooks."""
        body: dict[str, Any] = {"count": count, **fields}
        if device_ids is not None:
            body["device_ids"] = [device_ids] if isinstance(device_ids, str) else list(device_ids)
        return self.simulate("/packets", body)

    def devices(self) -> list[dict[str, Any]]:
        return self._ok(self.client.get(self.org_path("/devices")))["devices"]
