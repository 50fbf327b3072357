"""The sandbox API's handlers (HTTP in and out only): operationId -> handler.

Request validation, errors and response validation are the pipeline's; the rules are the
model's; delivery is the engine's.
"""

from __future__ import annotations

from typing import Any

from ...kernel.api import Call, Reply
from ...kernel.errors import NotFound
from .models import BumblebeeBackend
from .payloads import utc_time
from .webhooks import BumblebeeWebhooks, render_message


def _backend(call: Call) -> BumblebeeBackend:
    return call.model


def _emitter(call: Call) -> BumblebeeWebhooks:
    return call.model.emitter


def webhook_view(hook: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": hook["id"],
        "url": hook["url"],
        "data_types": list(hook["data_types"]),
        "headers": dict(hook["headers"]),
        "description": hook["description"],
        "enabled": hook["enabled"],
        "created_at": utc_time(hook["created_at"]),
        "updated_at": utc_time(hook["updated_at"]),
    }


def create_webhook(call: Call) -> Reply:
    hook = _backend(call).create_webhook(call.body)
    return Reply(webhook_view(hook), status=201, headers={"Location": f"/bumblebee/webhooks/{hook['id']}"})


def list_webhooks(call: Call) -> dict[str, Any]:
    return {"webhooks": [webhook_view(h) for h in _backend(call).list_webhooks()]}


def get_webhook(call: Call) -> dict[str, Any]:
    return webhook_view(_backend(call).get_webhook(call.path_params["webhook_id"]))


def update_webhook(call: Call) -> dict[str, Any]:
    hook = _backend(call).update_webhook(call.path_params["webhook_id"], call.body or {})
    if {"url", "headers"} & set(call.body or {}):
        _emitter(call).retarget(hook)
    return webhook_view(hook)


def delete_webhook(call: Call) -> Reply:
    webhook_id = call.path_params["webhook_id"]
    _backend(call).delete_webhook(webhook_id)
    _emitter(call).drop(webhook_id)
    return Reply(None, status=204)


def list_webhook_messages(call: Call) -> dict[str, Any]:
    webhook_id = call.path_params["webhook_id"]
    _backend(call).get_webhook(webhook_id)
    limit = call.query.get("limit", 100)
    messages = _emitter(call).messages(webhook_id, call.query.get("state"), limit)
    return {"messages": [render_message(m) for m in messages]}


def resend_webhook_message(call: Call) -> Reply:
    webhook_id = call.path_params["webhook_id"]
    hook = _backend(call).get_webhook(webhook_id)
    emitter = _emitter(call)
    message_id = call.path_params["message_id"]
    if emitter.message(webhook_id, message_id) is None:
        raise NotFound("Message not found")
    return Reply(render_message(emitter.resend(hook, message_id)), status=202)


HANDLERS = {
    "createWebhook": create_webhook,
    "listWebhooks": list_webhooks,
    "getWebhook": get_webhook,
    "updateWebhook": update_webhook,
    "deleteWebhook": delete_webhook,
    "listWebhookMessages": list_webhook_messages,
    "resendWebhookMessage": resend_webhook_message,
}
