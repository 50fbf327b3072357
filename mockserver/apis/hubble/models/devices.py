"""Devices: registration with real keys, listing (filters, sort, cursor paging), updates.

Table `hubble.devices`: device_id -> {id, org_id, name, created_ts, tags, encryption,
eid_rotation (dict | None), key (base64 | None), network_id (int | None)}.

Indexes rebuilt by `_rebuild_devices()`: per organization the devices ordered by
(created_ts, id) for cursor paging, and a crypto `Decoder` holding the organization's keys.
"""

from __future__ import annotations

import base64
import bisect
from typing import TYPE_CHECKING, Any

from ....kernel.errors import ApiError, BadRequest, NotFound
from ....kernel.memo import BoundedDict
from ....kernel.spec import dumps
from .. import crypto
from .common import env_filter, not_found, parse_between, resume_token
from .state import HubbleState

if TYPE_CHECKING:
    from ....kernel.store import Store

MAX_TAGS = 10
DEFAULT_ENV = "production"
DEFAULT_LIMIT = 250
VIEW_CACHE = 4096  # list views kept (bounded: state memory stays per device, not per view)
PAGE_BYTES = 256  # encoded device pages kept for repeated reads (bounded)
DEVICE_WALKS = 256  # list-devices walks kept for repeated reads (bounded)
PROTOCOL_VERSION = {
    crypto.AES_256_CTR: 0,
    crypto.AES_128_CTR: 0,
    crypto.NONE: 1,
    crypto.AES_128_EAX: 2,
}


class DevicePage(list):
    """A page of device views (a list) with `encoded`, the views as the JSON array
    `orjson.dumps` makes of them, and `memo`, the entry that stands for these views."""

    __slots__ = ("encoded", "memo")

    def __init__(self, views: list[dict[str, Any]], encoded: bytes, memo: tuple) -> None:
        super().__init__(views)
        self.encoded = encoded
        self.memo = memo

    def body(self, total: int | None) -> tuple[dict[str, Any], bytes, object]:
        """The list-devices body, its bytes (what `dumps` gives) and an object standing for
        its content (both made once per total and kept with the page's memo entry)."""
        body: dict[str, Any] = {"devices": self}
        if total is not None:
            body["total_devices"] = total
        made = self.memo[2].get(total)
        if made is None:
            tail = b"}" if total is None else b',"total_devices":' + str(total).encode() + b"}"
            made = self.memo[2][total] = (object(), b'{"devices":' + self.encoded + tail)
        return body, made[1], made[0]


class DevicesMixin(HubbleState):
    def __init__(self, store: Store) -> None:
        self.devices = store.table("hubble.devices")
        # per organization its device ids in (created_ts, id) order: ids only, the sort key
        # is read from the record (a tuple per device would cost 56 bytes each)
        self._dev_order: dict[str, list[str]] = {}
        self.decoders: dict[str, crypto.Decoder] = {}
        # device id -> (the record it was built from, its list view): records are replaced,
        # never changed in place, and a packet that changes most_recent_packet drops the entry
        self._views: BoundedDict[str, tuple[dict[str, Any], dict[str, Any]]] = BoundedDict(VIEW_CACHE)
        self._page_bytes: BoundedDict[tuple[int, ...], tuple[tuple, bytes, dict[int | None, tuple[object, bytes]]]] = BoundedDict(PAGE_BYTES)  # see _encoded_page
        self._device_walks: BoundedDict[tuple, tuple] = BoundedDict(DEVICE_WALKS)  # see list_devices
        self._details: BoundedDict[str, tuple[dict[str, Any], dict[str, Any], bytes]] = BoundedDict(VIEW_CACHE)  # see device_detail

    # -- indexes ------------------------------------------------------------------------------
    def _rebuild_devices(self) -> None:
        self._views.clear()
        self._page_bytes.clear()
        self._device_walks.clear()
        self._details.clear()
        self._dev_order = {}
        self.decoders = {}
        for record in self.devices.values():
            self._dev_order.setdefault(record["org_id"], []).append(record["id"])
            self._decoder(record["org_id"]).add(self._device_key(record))
        for order in self._dev_order.values():
            order.sort(key=self._order_key)

    def _order_key(self, device_id: str) -> tuple[int, str]:
        record = self.devices.get(device_id)
        return (record["created_ts"] if record is not None else 0, device_id)

    def device_ids(self, org_id: str) -> list[str]:
        """The organization's device ids, oldest first (created_ts, then id)."""
        return self._dev_order.get(org_id, [])

    def _decoder(self, org_id: str) -> crypto.Decoder:
        decoder = self.decoders.get(org_id)
        if decoder is None:
            decoder = self.decoders[org_id] = crypto.Decoder()
        return decoder

    @staticmethod
    def _device_key(record: dict[str, Any]) -> crypto.DeviceKey:
        key = record.get("key") or b""  # the record's base64 text itself: shared, not copied
        return crypto.DeviceKey(
            record["id"], key, record["encryption"], record.get("eid_rotation"), record.get("network_id")
        )

    # -- registration -------------------------------------------------------------------------
    def register_devices(self, org_id: str, body: dict[str, Any], created_ts: int | None = None) -> list[dict[str, Any]]:
        self.org(org_id)
        n = int(body.get("n_devices", 1))
        encryption = body["encryption"]
        names, tags = body.get("names"), body.get("tags")
        if names is not None and len(names) != n:
            raise BadRequest(f"names has {len(names)} entries but n_devices is {n}: give one name per device")
        if tags is not None and len(tags) != n:
            raise BadRequest(f"tags has {len(tags)} entries but n_devices is {n}: give one tag map per device")
        rotation = _check_rotation(encryption, body.get("eid_rotation"))
        # equal tag maps of one registration share one dict (records are never changed in
        # place): a batch of 1,000 devices with the same tags holds one map, not 1,000
        shared: dict[tuple, dict[str, str]] = {}
        tag_maps = [_shared(shared, _with_env(t, None, f"tags[{i}]")) for i, t in enumerate(tags)] if tags else None
        default_tags = {"_env": DEFAULT_ENV}
        created = int(self.now()) if created_ts is None else int(created_ts)
        out = []
        for i in range(n):
            record = self._create_device(
                org_id,
                encryption,
                name=names[i] if names else "",
                tags=tag_maps[i] if tag_maps else default_tags,
                rotation=rotation,
                created_ts=created,
            )
            out.append(self.registered_view(record))
        return out

    def _create_device(
        self,
        org_id: str,
        encryption: str,
        *,
        name: str,
        tags: dict[str, str],
        rotation: dict[str, Any] | None,
        created_ts: int,
    ) -> dict[str, Any]:
        device_id = self.ids.uuid("device")
        key = crypto.generate_key(encryption, self.ids.rng("device_key"))
        record = {
            "id": device_id,
            "org_id": org_id,
            "name": name,
            "created_ts": created_ts,
            "tags": tags,
            "encryption": encryption,
            "eid_rotation": rotation,
            "key": base64.b64encode(key).decode() if key else None,
            "network_id": self.ids.rng("network_id").getrandbits(34) if encryption == crypto.NONE else None,
        }
        self.devices.put(device_id, record)
        bisect.insort(self._dev_order.setdefault(org_id, []), device_id, key=self._order_key)
        self._decoder(org_id).add(self._device_key(record))
        return record

    @staticmethod
    def registered_view(record: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {
            "device_id": record["id"],
            "name": record["name"],
            "created_ts": record["created_ts"],
            "tags": record["tags"],
            "protocol": {"terrestrial": {"version": PROTOCOL_VERSION[record["encryption"]]}},
        }
        if record.get("key"):
            out["key"] = record["key"]
        if record.get("network_id") is not None:
            out["network_id"] = record["network_id"]
        return out

    # -- reading ------------------------------------------------------------------------------
    def device(self, org_id: str, device_id: str) -> dict[str, Any]:
        record = self.devices.get(device_id)
        if record is None or record["org_id"] != org_id:
            raise not_found("device", device_id)
        return record

    def device_detail(self, record: dict[str, Any]) -> tuple[dict[str, Any], bytes]:
        """The get-device view and its JSON (what `dumps` gives), reused while the device's
        list view is the same object: it is replaced whenever the record or the device's
        last packets change, and the detail adds only what the record says."""
        summary = self.device_view(record)
        hit = self._details.get(record["id"])
        if hit is not None and hit[0] is summary:
            return hit[1], hit[2]
        view = self.device_view(record, detail=True)
        encoded = dumps(view)
        self._details.put(record["id"], (summary, view, encoded))
        return view, encoded

    def device_view(self, record: dict[str, Any], detail: bool = False) -> dict[str, Any]:
        """The API's view of a device (callers must not change it: list views are cached,
        and a detail view is the list view plus the device's encryption)."""
        if detail:
            out = {**self.device_view(record), "encryption": record["encryption"]}
            rotation = _effective_rotation(record)
            if rotation is not None:
                out["eid_rotation"] = rotation
            return out
        hit = self._views.get(record["id"])
        if hit is not None and hit[0] is record:
            return hit[1]
        last = self._last.get(record["id"])
        recent: dict[str, Any] = {}
        if last:
            for network, (ts, lat, lon) in last.items():
                recent[network.lower()] = {"timestamp": ts, "location": {"latitude": lat, "longitude": lon}}
        out = {
            "id": record["id"],
            "name": record["name"],
            "created_ts": record["created_ts"],
            "tags": record["tags"],
            "active": bool(last),
            "most_recent_packet": recent,
        }
        self._views.put(record["id"], (record, out))
        return out

    def last_heard(self, device_id: str) -> float | None:
        last = self._last.get(device_id)
        return max(ts for ts, _, _ in last.values()) if last else None

    def list_devices(
        self, org_id: str, query: dict[str, Any], token: str | None
    ) -> tuple[DevicePage, str | None, int | None]:
        """One page: (devices, next token or None, total_devices on the first page else None)."""
        self.org(org_id)
        if token:
            state = resume_token(self.device_pages, token, org_id)
            q, cursor = state["q"], tuple(state["c"])
        else:
            q = {
                "limit": int(query.get("limit", DEFAULT_LIMIT)),
                "envs": sorted(env_filter(query.get("filter_tags")) or []),
                "created": parse_between(query.get("filter_created_ts"), "filter_created_ts"),
                "recent": parse_between(query.get("filter_most_recent_packet_ts"), "filter_most_recent_packet_ts"),
                "sort": query.get("sort_field", "created_ts"),
                "asc": bool(query.get("sort_ascending", True)),
            }
            cursor = None
        # the walk is a pure function of the query, the cursor, the devices and (through
        # their views and the last-heard filter and sort) the packets: a repeated read while
        # neither table changed takes the page it found before
        walk_key = (org_id, q["limit"], tuple(q["envs"]), _pair(q["created"]), _pair(q["recent"]), q["sort"], q["asc"], cursor)
        versions = (self.devices.version, self.packets.version)
        walks = self._device_walks
        hit = walks.get(walk_key)
        if hit is None or hit[0] != versions:
            hit = walks.put(walk_key, (versions, *self._walk_devices(org_id, q, cursor)))
        _, page, after, total = hit
        next_token = None
        if after is not None:
            next_token = self.device_pages.encode({"org": org_id, "q": q, "c": after})  # models_common.DEVICE_TOKEN
        return page, next_token, total

    def _walk_devices(
        self, org_id: str, q: dict[str, Any], cursor: tuple | None
    ) -> tuple[DevicePage, list | None, int | None]:
        """(the page, the cursor a next page starts after or None, total_devices on a first
        page (no cursor) else None)."""
        match = self._device_matcher(q)
        order, key = self._sorted_devices(org_id, q["sort"])
        asc = q["asc"]
        if cursor is None:
            indexes = range(len(order)) if asc else range(len(order) - 1, -1, -1)
        elif asc:
            indexes = range(bisect.bisect_right(order, cursor, key=key), len(order))
        else:
            indexes = range(bisect.bisect_left(order, cursor, key=key) - 1, -1, -1)
        page: list[dict[str, Any]] = []
        last_key = None
        more = False
        for i in indexes:
            record = self.devices.get(order[i])
            if record is None or (match is not None and not match(record)):
                continue
            if len(page) == q["limit"]:
                more = True
                break
            page.append(self.device_view(record))
            last_key = order[i]
        after = list(key(last_key)) if more and last_key is not None else None
        total = None
        if cursor is None:
            has_filter = q["envs"] or q["created"] or q["recent"] or q["sort"] != "created_ts"
            total = sum(1 for d in order if match is None or match(self.devices[d])) if has_filter else len(order)
        return self._encoded_page(page), after, total

    def _encoded_page(self, views: list[dict[str, Any]]) -> DevicePage:
        """The page's views with their JSON array, reused while the page holds the very same
        view objects (views are immutable and replaced when their device or its packets
        change; the memo holds them, so their ids stand for them)."""
        key = tuple(map(id, views))
        memo = self._page_bytes
        hit = memo.get(key)
        if hit is None:
            frozen = tuple(views)
            hit = memo.put(key, (frozen, dumps(frozen), {}))
        return DevicePage(views, hit[1], hit)

    def _sorted_devices(self, org_id: str, sort: str) -> tuple[list[str], Any]:
        """(device ids in the sort's order, the function giving an id's sort key)."""
        if sort == "created_ts":
            return self._dev_order.get(org_id, []), self._order_key
        rows = []
        for device_id in self._dev_order.get(org_id, []):
            heard = self.last_heard(device_id)
            if heard is not None:  # sorting by last packet leaves out devices never heard
                rows.append((heard, device_id))
        rows.sort()
        keys = {row[1]: row for row in rows}
        return [d for _, d in rows], keys.__getitem__

    def _device_matcher(self, q: dict[str, Any]):  # noqa: ANN202
        envs = set(q["envs"])
        created = q["created"]
        recent = q["recent"]
        if not (envs or created or recent):
            return None  # no filter: every device matches

        def match(record: dict[str, Any]) -> bool:
            if envs and record["tags"].get("_env") not in envs:
                return False
            if created and not created[0] <= record["created_ts"] < created[1]:
                return False
            if recent:
                heard = self.last_heard(record["id"]) or 0
                if not recent[0] <= heard < recent[1]:
                    return False
            return True

        return match

    # -- changes ------------------------------------------------------------------------------
    def update_device(self, org_id: str, device_id: str, body: dict[str, Any]) -> dict[str, Any]:
        record = self.device(org_id, device_id)
        if "set_name" not in body and "set_tags" not in body:
            raise BadRequest("nothing to update: set at least one of set_name, set_tags")
        updated = self._apply_update(record, body, "body")
        self.devices.put(device_id, updated)
        return self.device_view(updated)

    def batch_update_devices(self, org_id: str, updates: list[dict[str, Any]]) -> dict[str, Any]:
        """Apply every update that can be applied; report the others item by item.

        The vendor says some updates may apply and others not; the response keeps its
        documented `devices` (the updated ones) and adds the helper guide's `results`
        (seed 001: one `{device_id, status: success|error, error}` per item, in order)."""
        self.org(org_id)
        seen: set[str] = set()
        devices, results = [], []
        for i, item in enumerate(updates):
            device_id = item["device_id"]
            record = self.devices.get(device_id)
            try:
                if device_id in seen:
                    raise BadRequest(f"updates[{i}]: device {device_id} appears more than once; its first update was applied")
                seen.add(device_id)
                if record is None or record["org_id"] != org_id:
                    raise NotFound(f"updates[{i}]: no device {device_id} in this organization")
                updated = self._apply_update(record, item, f"updates[{i}]")
            except ApiError as err:
                results.append({"device_id": device_id, "status": "error", "error": err.message})
                continue
            self.devices.put(device_id, updated)
            devices.append(self.device_view(updated))
            results.append({"device_id": device_id, "status": "success"})
        return {"devices": devices, "results": results}

    @staticmethod
    def _apply_update(record: dict[str, Any], body: dict[str, Any], where: str) -> dict[str, Any]:
        updated = dict(record)
        if "set_name" in body:
            updated["name"] = body["set_name"]
        if "set_tags" in body:
            updated["tags"] = _with_env(body["set_tags"], record["tags"].get("_env"), f"{where}.set_tags")
        return updated

    def delete_device(self, org_id: str, device_id: str) -> dict[str, Any]:
        record = self.device(org_id, device_id)
        order = self._dev_order.get(org_id, [])
        i = bisect.bisect_left(order, (record["created_ts"], device_id), key=self._order_key)  # before the record goes
        if i < len(order) and order[i] == device_id:
            order.pop(i)
        self.devices.delete(device_id)
        self._decoder(org_id).remove(device_id)
        return {}


def _pair(between: Any) -> tuple | None:
    """A `between` filter as a key: a token carries it as a list, a query as a tuple."""
    return None if between is None else tuple(between)


def _shared(pool: dict[tuple, dict[str, str]], tags: dict[str, str]) -> dict[str, str]:
    return pool.setdefault(tuple(tags.items()), tags)


def _with_env(tags: dict[str, str], current_env: str | None, where: str) -> dict[str, str]:
    """A device always has the platform tag `_env`: keep the current one (or the default)."""
    out = dict(tags)
    out.setdefault("_env", current_env or DEFAULT_ENV)
    if len(out) > MAX_TAGS:
        raise BadRequest(f"{where}: a device has at most {MAX_TAGS} tags, the platform tag _env included")
    return out


def _check_rotation(encryption: str, rotation: dict[str, Any] | None) -> dict[str, Any] | None:
    if rotation is None:
        return None
    if encryption == crypto.NONE:
        raise BadRequest("eid_rotation: unencrypted (NONE) devices have no ephemeral id to rotate")
    has_period = "period_in_seconds" in rotation or "period_exponent" in rotation
    if has_period and not (encryption == crypto.AES_128_EAX and rotation.get("counter_source") == crypto.DEVICE_UPTIME):
        raise BadRequest(
            "eid_rotation: period_in_seconds/period_exponent only apply to AES-128-EAX devices with counter_source DEVICE_UPTIME",
        )
    if has_period:
        try:
            crypto.period_exponent_of(rotation)
        except ValueError as exc:
            raise BadRequest(f"eid_rotation: {exc}") from None
    return dict(rotation)


def _effective_rotation(record: dict[str, Any]) -> dict[str, Any] | None:
    encryption = record["encryption"]
    if encryption == crypto.NONE:
        return None
    rotation = dict(record.get("eid_rotation") or {})
    if encryption == crypto.AES_128_EAX:
        rotation.setdefault("counter_source", crypto.DEVICE_UPTIME)
        if "period_in_seconds" not in rotation:
            rotation.setdefault("period_exponent", crypto.DEFAULT_EAX_PERIOD_EXPONENT)
    else:
        rotation.setdefault("counter_source", crypto.UNIX_TIME)
    return rotation
