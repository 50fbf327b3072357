"""Seeding the `recorded:` block of a scenario's `hubble:` section: an organization read by
`mockserver record`, entry for entry (device ids, names, tags, encryptions, packet history,
users, invitations, webhooks, invoices as they were).

Times in the block are the Unix times read from the source. With `at` (when the recording
was made) they move forward by (clock at seeding - at), so the sandbox looks as fresh as the
organization did when it was recorded; `shift_times: false` keeps them as recorded. Device
keys and webhook secrets are never in a recording: they are generated from the seed.
"""

from __future__ import annotations

import base64
import binascii
import bisect
from typing import TYPE_CHECKING, Any

from ....scenarios import ScenarioError
from .. import crypto
from .accounts import INVITATION_TTL
from .devices import _check_rotation

if TYPE_CHECKING:
    from . import HubbleBackend

KNOWN = {"at", "shift_times", "devices", "packets", "users", "invitations", "webhooks", "invoices"}


def _fail(message: str) -> ScenarioError:
    return ScenarioError(f"scenario hubble.recorded: {message}")


def seed_recorded(backend: HubbleBackend, block: dict[str, Any]) -> None:
    """Put every recorded entry in place; each mistake names its entry."""
    if not isinstance(block, dict):
        raise _fail("must be a mapping")
    unknown = set(block) - KNOWN
    if unknown:
        raise _fail(f"unknown keys {sorted(unknown)}; known: {sorted(KNOWN)}")
    org_id = backend.settings.hubble_org_id
    at = block.get("at")
    shift = float(backend.now() - float(at)) if at is not None and block.get("shift_times", True) else 0.0
    devices = _seed_devices(backend, org_id, block.get("devices") or [], shift)
    _seed_packets(backend, org_id, devices, block.get("packets") or [], shift)
    for n, item in enumerate(block.get("users") or []):
        _seed_user(backend, org_id, n, item, shift)
    for item in block.get("invitations") or []:
        created = int(float(item["created_at"]) + shift)
        expires = int(float(item.get("expires_at", created - shift + INVITATION_TTL)) + shift)
        record = {"org_id": org_id, "invitee_email": item["invitee_email"], "role": item.get("role", "member"),
                  "created_at": created, "expires_at": expires}  # fmt: skip
        if item.get("inviter_email"):
            record["inviter_email"] = item["inviter_email"]
        backend.invitations.put(f"{org_id}|{item['invitee_email'].lower()}", record)
    for n, item in enumerate(block.get("webhooks") or []):
        webhook_id = item.get("webhook_id") or backend.ids.uuid("webhook")
        if webhook_id in backend.webhooks:
            raise _fail(f"webhooks[{n}]: webhook_id {webhook_id} appears twice")
        backend.webhooks.put(webhook_id, {
            "webhook_id": webhook_id, "org_id": org_id, "name": item.get("name", ""), "url": item["url"],
            "max_batch_size": int(item.get("max_batch_size", 100)),
            "secret": backend.ids.token("webhook_secret", 24), "created_at": backend.now() + n * 1e-3,
        })  # fmt: skip
    for item in block.get("invoices") or []:
        backend.invoices.put(item["invoice_id"], {
            "invoice_id": item["invoice_id"], "org_id": org_id,
            "issue_timestamp": float(item["issue_timestamp"]) + shift,
            "due_timestamp": float(item.get("due_timestamp", item["issue_timestamp"])) + shift,
            "status": item.get("status", "PENDING"), "total": float(item.get("total", 0.0)),
            "remaining_balance": float(item.get("remaining_balance", 0.0)), "currency": item.get("currency", "USD"),
            "lines": item.get("lines") or [],
        })  # fmt: skip


def _seed_devices(backend: HubbleBackend, org_id: str, items: list[dict[str, Any]], shift: float) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    rng_key, rng_net = backend.ids.rng("device_key"), backend.ids.rng("network_id")
    for n, item in enumerate(items):
        device_id = str(item["id"])
        if device_id in out or device_id in backend.devices:
            raise _fail(f"devices[{n}]: id {device_id} appears twice")
        encryption = item.get("encryption", crypto.AES_256_CTR)
        try:
            rotation = _check_rotation(encryption, item.get("eid_rotation"))
        except Exception as exc:  # ApiError: a scenario problem here
            raise _fail(f"devices[{n}]: {exc}") from None
        tags = dict(item.get("tags") or {})
        tags.setdefault("_env", "production")
        key = crypto.generate_key(encryption, rng_key)
        created = int(float(item.get("created_ts", backend.now() - shift)) + shift)
        record = {
            "id": device_id, "org_id": org_id, "name": item.get("name", ""), "created_ts": created,
            "tags": tags, "encryption": encryption, "eid_rotation": rotation,
            "key": base64.b64encode(key).decode() if key else None,
            "network_id": rng_net.getrandbits(34) if encryption == crypto.NONE else None,
        }  # fmt: skip
        backend.devices.put(device_id, record)
        bisect.insort(backend._dev_order.setdefault(org_id, []), device_id, key=backend._order_key)
        backend._decoder(org_id).add(backend._device_key(record))
        out[device_id] = record
    return out


def _seed_packets(backend: HubbleBackend, org_id: str, devices: dict[str, dict[str, Any]], items: list[dict[str, Any]], shift: float) -> None:
    """Packets in stream order; a packet of a device the recording no longer lists (deleted
    since) keeps the name and tags it carries."""
    rx = 0.0
    for n, item in enumerate(items):
        device_id = str(item["device_id"])
        device = devices.get(device_id) or backend.devices.get(device_id)
        if device is None:
            device = {"id": device_id, "org_id": org_id, "name": item.get("name", ""),
                      "tags": dict(item.get("tags") or {"_env": "production"})}  # fmt: skip
        try:
            payload = base64.b64decode(item.get("payload", ""), validate=True)
        except (binascii.Error, ValueError):
            raise _fail(f"packets[{n}].payload: not valid base64") from None
        ts = float(item["timestamp"]) + shift
        location = dict(item["location"])
        if "timestamp" in location and location["timestamp"] is not None:
            location["timestamp"] = float(location["timestamp"]) + shift
        rx = max(rx, ts)
        backend.add_packet(
            device, ts=ts, payload=payload, rssi=item.get("rssi", -90), location=location,
            counter=item.get("counter"), seq_no=item.get("sequence_number"),
            network=item.get("network_type", "TERRESTRIAL"), rx=rx,
        )  # fmt: skip


def _seed_user(backend: HubbleBackend, org_id: str, n: int, item: dict[str, Any], shift: float) -> None:
    user_id = item.get("user_id") or backend.ids.uuid("user")
    if user_id in backend.users:
        raise _fail(f"users[{n}]: user_id {user_id} appears twice")
    active = item.get("last_active_at")
    backend.users.put(user_id, {
        "user_id": user_id, "org_id": org_id, "email": item["email"],
        "email_confirmed": bool(item.get("email_confirmed", True)),
        "first_name": item.get("first_name"), "last_name": item.get("last_name"),
        "created_at": int(float(item.get("created_at", backend.now() - shift)) + shift),
        "last_active_at": None if active is None else int(float(active) + shift), "role": item.get("role", "member"),
    })  # fmt: skip
