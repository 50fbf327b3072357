"""Reading a Hubble organization through its documented read-only calls into the `hubble:`
section of a scenario (the `recorded:` block that apis/hubble/models/recorded.py seeds).

Steps, each resumable: organization, API keys (names and scopes only), devices (every page),
device details (encryption and EID rotation: the list view does not show them), packets of
the window (the continuation-token loop), webhooks (no secrets), users, invitations, invoices.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import random
from typing import Any

from .client import RecordClient, RecordError
from .progress import Progress
from .scrub import Scrubber
from .state import RunState

DAY = 86400.0
DEVICE_PAGE = 1000
USER_PAGE = 100
DETAIL_BATCH = 50  # device details saved (resumable) every this many


class HubbleRecorder:
    def __init__(self, client: RecordClient, org_id: str, state: RunState, progress: Progress, days: float) -> None:
        self.client = client
        self.org = org_id
        self.state = state
        self.progress = progress
        self.days = days

    def _path(self, tail: str = "") -> str:
        return f"/api/org/{self.org}{tail}"

    # -- steps -------------------------------------------------------------------------------
    def read(self, at: float) -> dict[str, Any]:
        """Everything, as read (nothing scrubbed yet)."""
        return {
            "org": self._single("hubble.org", self._path()),
            "keys": self._single("hubble.keys", self._path("/key"))["keys"],
            "devices": self._devices(),
            "details": self._details(),
            "packets": self._packets(at),
            "webhooks": self._single("hubble.webhooks", self._path("/webhooks"))["webhooks"],
            "users": self._numbered("hubble.users", self._path("/users"), "users"),
            "invitations": self._numbered("hubble.invitations", self._path("/invitations"), "invites"),
            "invoices": self._single("hubble.invoices", self._path("/billing/invoices"))["invoices"],
        }

    def _single(self, name: str, path: str) -> Any:
        step = self.state.step(name)
        if step["done"]:
            return self.state.items(name)[0]
        body, _ = self.client.get(path)
        self.state.add_page(name, [body], None)
        self.state.finish(name)
        return body

    def _devices(self) -> list[dict[str, Any]]:
        name = "hubble.devices"
        step = self.state.step(name)
        items = self.state.items(name)
        total = None
        while not step["done"]:
            headers = {"Continuation-Token": step["cursor"]} if step["cursor"] else None
            try:
                body, reply = self._get_paged(self._path("/devices"), {"limit": DEVICE_PAGE, "sort_field": "created_ts"}, headers)
            except _Expired:
                self.progress.note("record: the saved devices token expired; reading devices again")
                self.state.restart(name)
                step, items = self.state.step(name), []
                continue
            total = body.get("total_devices", total)
            items += body["devices"]
            token = reply.get("continuation-token") or None
            self.state.add_page(name, body["devices"], token)
            self.progress.page("hubble devices", step["pages"], len(items), len(items) / total if total else None)
            if not token:
                self.state.finish(name)
        self.progress.done("hubble devices", len(items))
        return items

    def _details(self) -> list[dict[str, Any]]:
        name = "hubble.device_details"
        devices = self.state.items("hubble.devices")
        step = self.state.step(name)
        items = self.state.items(name)
        batch: list[dict[str, Any]] = []
        try:
            for device in devices[len(items) :]:
                body, _ = self.client.get(self._path(f"/devices/{device['id']}"))
                batch.append({k: body[k] for k in ("id", "encryption", "eid_rotation") if k in body})
                if len(batch) == DETAIL_BATCH:
                    self.state.add_page(name, batch, None)
                    items += batch
                    batch = []
                    self.progress.page("hubble device details", step["pages"], len(items), len(items) / max(1, len(devices)))
        finally:  # interrupted or not, what was read is kept
            if batch:
                self.state.add_page(name, batch, None)
                items += batch
        self.state.finish(name)
        self.progress.done("hubble device details", len(items))
        return items

    def _packets(self, at: float) -> list[dict[str, Any]]:
        name = "hubble.packets"
        run = self.state.run
        if "packet_window" not in run:
            self.state.save_run(packet_window=[at - self.days * DAY, at])
        start, end = self.state.run["packet_window"]
        step = self.state.step(name)
        items = self.state.items(name)
        while not step["done"]:
            headers = {"Continuation-Token": step["cursor"]} if step["cursor"] else None
            try:
                body, reply = self._get_paged(self._path("/packets"), {"start": int(start), "end": int(end)}, headers)
            except _Expired:
                self.progress.note("record: the saved packets token expired; reading the window again")
                self.state.restart(name)
                step, items = self.state.step(name), []
                continue
            packets = body["packets"]
            items += packets
            token = reply.get("continuation-token")
            self.state.add_page(name, packets, token or None)
            last = packets[-1]["device"]["timestamp"] if packets else end
            self.progress.page("hubble packets", step["pages"], len(items), (last - start) / max(1.0, end - start))
            if not token:
                self.state.finish(name)
            elif not packets:  # caught up before the window's end: the source asks to wait
                wait = float(reply.get("retry-after") or 1)
                self.client._wait("caught up with the packet stream", min(wait, 60.0))
        self.progress.done("hubble packets", len(items))
        return items

    def _numbered(self, name: str, path: str, key: str) -> list[dict[str, Any]]:
        step = self.state.step(name)
        items = self.state.items(name)
        while not step["done"]:
            page = step["cursor"] or 0
            body, _ = self.client.get(path, {"page_number": page, "page_size": USER_PAGE})
            rows = body[key]
            items += rows
            self.state.add_page(name, rows, page + 1)
            if len(rows) < USER_PAGE:
                self.state.finish(name)
        return items

    def _get_paged(self, path: str, params: dict[str, Any], headers: dict[str, str] | None) -> tuple[Any, Any]:
        if headers:
            try:
                self.client.http.headers.update(headers)
                return self.client.get(path)  # a continued page: the token carries the query
            except RecordError as exc:
                if " answered 400" in str(exc):
                    raise _Expired from None
                raise
            finally:
                self.client.http.headers.pop("Continuation-Token", None)
        return self.client.get(path, params)


class _Expired(Exception):
    pass


# -- building the section ------------------------------------------------------------------
def build_section(raw: dict[str, Any], at: float, scrub: Scrubber, anonymize: bool) -> dict[str, Any]:
    """The `hubble:` section from what was read: scrubbed, keys and secrets left out."""
    org = raw["org"]
    section: dict[str, Any] = {}
    org_out: dict[str, Any] = {"name": scrub.text(org["name"])}
    if org.get("timezone"):
        org_out["timezone"] = org["timezone"]
    if org.get("address"):
        address = dict(org["address"])
        for k in ("street_address", "street_address_line_two"):
            if address.get(k):
                address[k] = scrub.replace("address", address[k])
        org_out["address"] = address
    if org.get("contact_info"):
        contact = dict(org["contact_info"])
        if contact.get("email"):
            contact["email"] = scrub.replace("email", contact["email"])
        if contact.get("phoneNumber"):
            contact["phoneNumber"] = scrub.replace("phone", contact["phoneNumber"])
        org_out["contact_info"] = contact
    section["org"] = org_out
    keys = []
    for k in raw["keys"]:
        item: dict[str, Any] = {"name": scrub.text(k.get("key_name") or ""), "scopes": list(k["scopes"])}
        expires = k.get("expires_at_seconds") or 0
        if expires:
            item["expires_in_days"] = round(max(0.0, (expires - at) / DAY), 4)
        keys.append(item)
    if keys:
        section["keys"] = keys
    details = {d["id"]: d for d in raw["details"]}
    devices = []
    for d in raw["devices"]:
        item = {"id": d["id"], "name": scrub.text(d.get("name") or ""), "created_ts": d["created_ts"],
                "tags": {k: scrub.text(v) for k, v in (d.get("tags") or {}).items()}}  # fmt: skip
        extra = details.get(d["id"]) or {}
        if extra.get("encryption"):
            item["encryption"] = extra["encryption"]
        if extra.get("eid_rotation"):
            item["eid_rotation"] = extra["eid_rotation"]
        devices.append(item)
    known = {d["id"] for d in devices}
    packets = [_packet(p, known, scrub, anonymize) for p in raw["packets"]]
    recorded: dict[str, Any] = {"at": at, "devices": devices, "packets": packets}
    recorded["users"] = [_user(u, scrub) for u in raw["users"]]
    recorded["invitations"] = [_invitation(i, scrub) for i in raw["invitations"]]
    recorded["webhooks"] = [{"webhook_id": w["webhook_id"], "name": scrub.text(w.get("name") or ""), "url": scrub.url(w["url"]),
                             "max_batch_size": w.get("max_batch_size", 100)} for w in raw["webhooks"]]  # fmt: skip
    recorded["invoices"] = [dict(i) for i in raw["invoices"]]
    section["recorded"] = recorded
    return section


def _packet(p: dict[str, Any], known: set[str], scrub: Scrubber, anonymize: bool) -> dict[str, Any]:
    dev = p["device"]
    out: dict[str, Any] = {"device_id": dev["id"], "timestamp": dev["timestamp"]}
    if dev["id"] not in known:  # deleted since: the packet keeps the name and tags it had
        out["name"] = scrub.text(dev.get("name") or "")
        out["tags"] = {k: scrub.text(v) for k, v in (dev.get("tags") or {}).items()}
    out.update(payload=dev.get("payload", ""), rssi=dev.get("rssi", -90))
    for src, dst in (("counter", "counter"), ("sequence_number", "sequence_number")):
        if dev.get(src) is not None:
            out[dst] = dev[src]
    out["network_type"] = p.get("network_type", "TERRESTRIAL")
    out["location"] = dict(p["location"])
    if anonymize:
        _anonymize(out)
    return out


def _anonymize(packet: dict[str, Any]) -> None:
    """Generated payload and location, stable per packet; a device stays near one place."""
    seed = hashlib.sha256(f"{packet['device_id']}|{packet['timestamp']}".encode()).digest()
    rng = random.Random(seed)
    home = random.Random(hashlib.sha256(packet["device_id"].encode()).digest())
    size = len(_b64decode(packet.get("payload", ""))) or 4
    packet["payload"] = base64.b64encode(rng.randbytes(size)).decode()
    loc = packet["location"]
    lat, lon = home.uniform(-55, 65), home.uniform(-170, 170)
    loc["latitude"] = round(lat + rng.uniform(-0.02, 0.02), 6)
    loc["longitude"] = round(lon + rng.uniform(-0.02, 0.02), 6)
    if "altitude" in loc:
        loc["altitude"] = round(rng.uniform(0, 150), 1)


def _b64decode(value: str) -> bytes:
    try:
        return base64.b64decode(value)
    except (binascii.Error, ValueError):
        return b""


def _user(u: dict[str, Any], scrub: Scrubber) -> dict[str, Any]:
    out: dict[str, Any] = {"user_id": u["user_id"], "email": scrub.replace("email", u["email"])}
    for k in ("first_name", "last_name"):
        if u.get(k) is not None:
            out[k] = scrub.replace(k, u[k])
    out.update(role=u.get("role", "member"), email_confirmed=u.get("email_confirmed", True), created_at=u["created_at"],
               last_active_at=u.get("last_active_at"))  # fmt: skip
    return out


def _invitation(i: dict[str, Any], scrub: Scrubber) -> dict[str, Any]:
    out: dict[str, Any] = {"invitee_email": scrub.replace("email", i["invitee_email"]), "role": i.get("role", "member"),
                           "created_at": i["created_at"], "expires_at": i["expires_at"]}  # fmt: skip
    if i.get("inviter_email"):
        out["inviter_email"] = scrub.replace("email", i["inviter_email"])
    return out
