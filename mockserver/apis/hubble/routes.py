"""Hubble HTTP in/out: one small handler per operationId; the rules live in the model."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import TYPE_CHECKING, Any

from ...kernel.api import Call, Reply

if TYPE_CHECKING:
    from .models import HubbleBackend

Handler = Callable[[Call], Any]


def _m(call: Call) -> HubbleBackend:
    return call.model


def _org(call: Call) -> str:
    return call.path_params["org_id"]


def _body(call: Call) -> dict[str, Any]:
    return call.body if isinstance(call.body, dict) else {}


# -- API keys and organization --------------------------------------------------------------


def validate_api_key(call: Call) -> dict:
    return {"org_id": _org(call)}


def provision_api_key(call: Call) -> dict:
    return _m(call).provision_key(_org(call), _body(call))


def list_api_keys(call: Call) -> dict:
    return {"keys": _m(call).list_keys(_org(call))}


def update_api_key(call: Call) -> dict:
    return _m(call).update_key(_org(call), call.path_params["key_id"], _body(call))


def delete_api_key(call: Call) -> dict:
    return _m(call).delete_key(_org(call), call.path_params["key_id"])


def list_key_scopes(call: Call) -> dict:
    return {"scopes": _m(call).key_scopes()}


def retrieve_organization(call: Call) -> dict:
    return _m(call).org_view(_m(call).org(_org(call)))


def update_organization(call: Call) -> dict:
    return _m(call).org_view(_m(call).update_org(_org(call), _body(call)))


# -- devices ---------------------------------------------------------------------------------


def register_devices(call: Call) -> dict:
    return {"devices": _m(call).register_devices(_org(call), _body(call))}


def list_devices(call: Call) -> Reply:
    devices, token, total = _m(call).list_devices(_org(call), call.query, call.headers.get("continuation-token"))
    body, encoded, stands_for = devices.body(total)  # the body, its bytes, an object standing for it
    return Reply(body, headers={"Continuation-Token": token} if token else {}, encoded=encoded, check_key=stands_for)


def get_device(call: Call) -> Reply:
    model = _m(call)
    view, encoded = model.device_detail(model.device(_org(call), call.path_params["device_id"]))
    return Reply(view, encoded=encoded, check_key=view)  # the view object stands for its bytes


def update_device(call: Call) -> dict:
    return _m(call).update_device(_org(call), call.path_params["device_id"], _body(call))


def batch_update_devices(call: Call) -> dict:
    return _m(call).batch_update_devices(_org(call), _body(call)["updates"])


def delete_device(call: Call) -> dict:
    return _m(call).delete_device(_org(call), call.path_params["device_id"])


# -- packets -----------------------------------------------------------------------------------


def list_packets(call: Call) -> Reply:
    packets, token, retry_after = _m(call).list_packets(_org(call), call.query, call.headers.get("continuation-token"))
    headers = {"Continuation-Token": token}
    if retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    # a repeated page comes with its body encoded and an object standing for its views
    return Reply({"packets": packets}, headers=headers, encoded=packets.encoded, check_key=packets.key)


def ingest_packets(call: Call) -> dict:
    return _m(call).ingest(_org(call), _body(call))


def decode_packets(call: Call) -> dict:
    return {"packets": _m(call).decode(_org(call), _body(call))}


def packet_webhook_example(call: Call) -> dict:
    _m(call).check_webhook_secret(call.headers.get("http-x-hubble-token") or "")
    return {}


# -- metrics and billing -------------------------------------------------------------------------


def api_metrics(call: Call) -> dict:
    return _m(call).api_metrics(_org(call), call.query)


def packet_metrics(call: Call) -> dict:
    return _m(call).packet_metrics(_org(call), call.query)


def webhook_metrics(call: Call) -> dict:
    return _m(call).webhook_metrics(_org(call), call.query)


def device_metrics(call: Call) -> dict:
    return _m(call).device_metrics(_org(call), call.query)


def recent_invoices(call: Call) -> dict:
    return {"invoices": _m(call).list_invoices(_org(call))}


def invoice_pdf(call: Call) -> Reply:
    content = _m(call).invoice_pdf(_org(call), call.path_params["invoice_id"])
    return Reply(content=content, media_type="application/pdf")


def billing_usage(call: Call) -> dict:
    return {"usage": _m(call).billing_usage(_org(call))}


# -- users, invitations, webhooks ---------------------------------------------------------------


def list_users(call: Call) -> dict:
    q = call.query
    return {"users": _m(call).list_users(_org(call), q.get("page_number", 0), q.get("page_size", 10))}


def add_user(call: Call) -> dict:
    body = _body(call)
    return _m(call).add_user(_org(call), body["email"], body["role"])


def update_user(call: Call) -> dict:
    return _m(call).update_user(_org(call), call.path_params["user_id"], _body(call))


def delete_user(call: Call) -> dict:
    return _m(call).delete_user(_org(call), call.path_params["user_id"])


def list_invites(call: Call) -> dict:
    q = call.query
    return _m(call).list_invites(_org(call), q.get("page_number", 0), q.get("page_size", 10))


def invite_user(call: Call) -> dict:
    body = _body(call)
    return _m(call).invite(_org(call), body["invitee_email"], body["role"])


def delete_invitation(call: Call) -> dict:
    return _m(call).revoke_invite(_org(call), _body(call)["invitee_email"])


def create_webhook(call: Call) -> dict:
    return _m(call).create_webhook(_org(call), _body(call))


def list_webhooks(call: Call) -> dict:
    return {"webhooks": _m(call).list_webhooks(_org(call))}


def update_webhook(call: Call) -> dict:
    return _m(call).update_webhook(_org(call), call.path_params["webhook_id"], _body(call))


def delete_webhook(call: Call) -> dict:
    return _m(call).delete_webhook(_org(call), call.path_params["webhook_id"])


def _counted(handler: Handler) -> Handler:
    """Count a call the handler answered without error as a success (api_metrics)."""

    @wraps(handler)
    def run(call: Call) -> Any:
        result = handler(call)
        if call.principal is not None:
            _m(call).count_success(call.principal.org_id)
        return result

    return run


HANDLERS: dict[str, Handler] = {
    op: _counted(fn)
    for op, fn in {
        "validate-api-key": validate_api_key,
        "provision-api-key": provision_api_key,
        "list-api-keys": list_api_keys,
        "update-api-key": update_api_key,
        "delete-api-key": delete_api_key,
        "list-key-scopes": list_key_scopes,
        "retrieve-organization-metadata": retrieve_organization,
        "update-organization-metadata": update_organization,
        "register-new-devices": register_devices,
        "list-devices": list_devices,
        "batch-update-devices": batch_update_devices,
        "get-device": get_device,
        "update-device": update_device,
        "delete-device": delete_device,
        "retrieve-organization-packets": list_packets,
        "ingest-packets": ingest_packets,
        "decode-packets": decode_packets,
        "packet-webhook-example": packet_webhook_example,
        "get-api-metrics": api_metrics,
        "get-packet-metrics": packet_metrics,
        "get-webhook-metrics": webhook_metrics,
        "get-device-metrics": device_metrics,
        "list-users-in-organization": list_users,
        "add-user-to-organization": add_user,
        "update-user-in-organization": update_user,
        "delete-user-from-organization": delete_user,
        "list-pending-invites": list_invites,
        "invite-user-to-organization": invite_user,
        "delete-invitation": delete_invitation,
        "create-webhook-endpoint": create_webhook,
        "list-registered-webhooks": list_webhooks,
        "update-webhook-endpoint": update_webhook,
        "delete-webhook-endpoint": delete_webhook,
        "get-recent-invoices": recent_invoices,
        "get-invoice-pdf": invoice_pdf,
        "get-billing-usage": billing_usage,
    }.items()
}
