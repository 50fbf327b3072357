"""OpenAPI links the stateful runs follow.

The project's own specs carry these links (`resources/*.yaml`); a spec that lacks them (the
vendor's own document, an older copy, a user's spec given with `--spec`) gets them added
when it is loaded, for every link whose operations exist in it. A link already present
under the same name is left alone.

Hubble: register devices -> get -> patch -> list -> delete (and get/patch after delete,
which must be 404: `use_after_free`); API keys and packet webhooks: create -> patch -> delete.
Hubby: create booking -> get -> update -> cancel (by id or by the partner's booking_id).
A cancelled booking still exists (status CANCELLED), so Hubby has no delete -> get link.
Bumblebee: create webhook -> get -> patch -> list its messages -> delete (and get, patch
and list messages after delete, which must be 404: `use_after_free`).
"""

from __future__ import annotations

import copy
from typing import Any

ORG = {"org_id": "$request.path.org_id"}

# (source operationId, status) -> {link name: link object}
HUBBLE_LINKS: dict[tuple[str, str], dict[str, dict[str, Any]]] = {
    ("register-new-devices", "200"): {
        "GetRegisteredDevice": {
            "operationId": "get-device",
            "parameters": {**ORG, "device_id": "$response.body#/devices/0/device_id"},
        },
        "UpdateRegisteredDevice": {
            "operationId": "update-device",
            "parameters": {**ORG, "device_id": "$response.body#/devices/0/device_id"},
        },
        "DeleteRegisteredDevice": {
            "operationId": "delete-device",
            "parameters": {**ORG, "device_id": "$response.body#/devices/0/device_id"},
        },
        "ListDevicesAfterRegistering": {"operationId": "list-devices", "parameters": dict(ORG)},
    },
    ("get-device", "200"): {
        "UpdateDevice": {"operationId": "update-device", "parameters": {**ORG, "device_id": "$response.body#/id"}},
        "DeleteDevice": {"operationId": "delete-device", "parameters": {**ORG, "device_id": "$response.body#/id"}},
    },
    ("update-device", "200"): {
        "GetUpdatedDevice": {"operationId": "get-device", "parameters": {**ORG, "device_id": "$response.body#/id"}},
        "ListDevicesAfterUpdate": {"operationId": "list-devices", "parameters": dict(ORG)},
        "DeleteUpdatedDevice": {"operationId": "delete-device", "parameters": {**ORG, "device_id": "$response.body#/id"}},
    },
    ("list-devices", "200"): {
        "GetListedDevice": {
            "operationId": "get-device",
            "parameters": {**ORG, "device_id": "$response.body#/devices/0/id"},
        },
    },
    ("delete-device", "200"): {
        "GetDeletedDevice": {
            "operationId": "get-device",
            "parameters": {**ORG, "device_id": "$request.path.device_id"},
        },
        "UpdateDeletedDevice": {
            "operationId": "update-device",
            "parameters": {**ORG, "device_id": "$request.path.device_id"},
        },
    },
    ("provision-api-key", "200"): {
        "UpdateProvisionedKey": {
            "operationId": "update-api-key",
            "parameters": {**ORG, "key_id": "$response.body#/key_id"},
        },
        "DeleteProvisionedKey": {
            "operationId": "delete-api-key",
            "parameters": {**ORG, "key_id": "$response.body#/key_id"},
        },
    },
    ("create-webhook-endpoint", "200"): {
        "UpdateCreatedWebhook": {
            "operationId": "update-webhook-endpoint",
            "parameters": {**ORG, "webhook_id": "$response.body#/webhook_id"},
        },
        "DeleteCreatedWebhook": {
            "operationId": "delete-webhook-endpoint",
            "parameters": {**ORG, "webhook_id": "$response.body#/webhook_id"},
        },
    },
    ("update-webhook-endpoint", "200"): {
        "DeleteUpdatedWebhook": {
            "operationId": "delete-webhook-endpoint",
            "parameters": {**ORG, "webhook_id": "$response.body#/webhook_id"},
        },
    },
}

HUBBY_LINKS: dict[tuple[str, str], dict[str, dict[str, Any]]] = {
    ("createBooking", "200"): {
        "GetCreatedBooking": {"operationId": "getBooking", "parameters": {"id": "$response.body#/data/0/id"}},
        "UpdateCreatedBooking": {"operationId": "updateBooking", "parameters": {"id": "$response.body#/data/0/id"}},
        "CancelCreatedBooking": {"operationId": "deleteBooking", "parameters": {"id": "$response.body#/data/0/id"}},
        "CancelCreatedBookingByExternalId": {
            "operationId": "deleteBookingByExternalId",
            "parameters": {"id": "$response.body#/data/0/booking_id"},
        },
        "ListBookingsByExternalId": {
            "operationId": "listBookings",
            "parameters": {"bookingId": "$response.body#/data/0/booking_id"},
        },
    },
    ("getBooking", "200"): {
        "UpdateBooking": {"operationId": "updateBooking", "parameters": {"id": "$response.body#/data/id"}},
        "CancelBooking": {"operationId": "deleteBooking", "parameters": {"id": "$response.body#/data/id"}},
    },
    ("updateBooking", "200"): {
        "GetUpdatedBooking": {"operationId": "getBooking", "parameters": {"id": "$response.body#/data/id"}},
        "CancelUpdatedBooking": {"operationId": "deleteBooking", "parameters": {"id": "$response.body#/data/id"}},
    },
}

WEBHOOK = {"webhook_id": "$response.body#/id"}
DELETED_WEBHOOK = {"webhook_id": "$request.path.webhook_id"}

BUMBLEBEE_LINKS: dict[tuple[str, str], dict[str, dict[str, Any]]] = {
    ("createWebhook", "201"): {
        "GetCreatedWebhook": {"operationId": "getWebhook", "parameters": dict(WEBHOOK)},
        "UpdateCreatedWebhook": {"operationId": "updateWebhook", "parameters": dict(WEBHOOK)},
        "ListCreatedWebhookMessages": {"operationId": "listWebhookMessages", "parameters": dict(WEBHOOK)},
        "DeleteCreatedWebhook": {"operationId": "deleteWebhook", "parameters": dict(WEBHOOK)},
    },
    ("getWebhook", "200"): {
        "UpdateWebhook": {"operationId": "updateWebhook", "parameters": dict(WEBHOOK)},
        "ListWebhookMessages": {"operationId": "listWebhookMessages", "parameters": dict(WEBHOOK)},
        "DeleteWebhook": {"operationId": "deleteWebhook", "parameters": dict(WEBHOOK)},
    },
    ("updateWebhook", "200"): {
        "GetUpdatedWebhook": {"operationId": "getWebhook", "parameters": dict(WEBHOOK)},
        "ListUpdatedWebhookMessages": {"operationId": "listWebhookMessages", "parameters": dict(WEBHOOK)},
        "DeleteUpdatedWebhook": {"operationId": "deleteWebhook", "parameters": dict(WEBHOOK)},
    },
    ("listWebhooks", "200"): {
        "GetListedWebhook": {"operationId": "getWebhook", "parameters": {"webhook_id": "$response.body#/webhooks/0/id"}},
    },
    ("deleteWebhook", "204"): {
        "GetDeletedWebhook": {"operationId": "getWebhook", "parameters": dict(DELETED_WEBHOOK)},
        "UpdateDeletedWebhook": {"operationId": "updateWebhook", "parameters": dict(DELETED_WEBHOOK)},
        "ListDeletedWebhookMessages": {"operationId": "listWebhookMessages", "parameters": dict(DELETED_WEBHOOK)},
    },
}

LINKS = {"hubble": HUBBLE_LINKS, "hubby": HUBBY_LINKS, "bumblebee": BUMBLEBEE_LINKS}


def _operations(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    out = {}
    for item in (document.get("paths") or {}).values():
        if not isinstance(item, dict):
            continue
        for method, op in item.items():
            if isinstance(op, dict) and "operationId" in op and method != "parameters":
                out[op["operationId"]] = op
    return out


def _pointer(document: dict[str, Any], ref: str) -> Any:
    node: Any = document
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def ensure_links(document: dict[str, Any], api: str) -> list[str]:
    """Add the missing links for `api` to `document` in place; returns the names added."""
    table = LINKS.get(api, {})
    ops = _operations(document)
    added: list[str] = []
    for (source, status), links in table.items():
        op = ops.get(source)
        if op is None:
            continue
        responses = op.setdefault("responses", {})
        response = responses.get(status)
        if response is None:
            continue
        if "$ref" in response:  # a shared response object: give this operation its own copy
            response = copy.deepcopy(_pointer(document, response["$ref"]))
            responses[status] = response
        present = response.setdefault("links", {})
        for name, link in links.items():
            if name in present or link["operationId"] not in ops:
                continue
            present[name] = copy.deepcopy(link)
            added.append(f"{source} {status} -> {name}")
    return added


def missing_links(document: dict[str, Any], api: str) -> list[str]:
    """Links of `api` the document does not carry (for the spec-parity test)."""
    probe = copy.deepcopy(document)
    return ensure_links(probe, api)
