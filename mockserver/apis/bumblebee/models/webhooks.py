"""Webhook subscriptions (`bumblebee.webhooks`): create, change, list, and who hears a data type."""

from __future__ import annotations

from typing import Any

from ....kernel.errors import NotFound
from .rules import _check_headers, _check_url, _data_types
from .state import BumblebeeState


class WebhooksMixin(BumblebeeState):
    def list_webhooks(self) -> list[dict[str, Any]]:
        return sorted(self.webhooks.values(), key=lambda w: w["created_at"])  # stable: insertion order

    def get_webhook(self, webhook_id: str) -> dict[str, Any]:
        hook = self.webhooks.get(webhook_id)
        if hook is None:
            raise NotFound("Webhook not found")
        return hook

    def create_webhook(self, data: dict[str, Any]) -> dict[str, Any]:
        _check_url(data["url"])
        headers = _check_headers(data.get("headers") or {})
        now = self.now()
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
            hook["updated_at"] = self.now()
        return self.webhooks.put(webhook_id, hook)

    def delete_webhook(self, webhook_id: str) -> dict[str, Any]:
        self.get_webhook(webhook_id)
        return self.webhooks.delete(webhook_id)

    def subscribers(self, data_type: str) -> list[dict[str, Any]]:
        """Enabled webhooks subscribed to `data_type`, oldest first."""
        return [w for w in self.list_webhooks() if w["enabled"] and data_type in w["data_types"]]
