"""Packets: the per-organization stream, its indexes, ingest and decode with real crypto.

Table `hubble.packets`: str(n) -> {n, org, dev, rx, ts, env, name, tags, payload, rssi,
counter, seq_no, loc, net, adv}. `n` is the stream position (a counter that only grows),
`rx` the time the packet entered the stream (the clock at arrival, never decreasing; a
clock moved back pulls later arrivals back to it), `ts` the time the network received it
(what `start`/`end` filter on) (`device.timestamp`; the advertisement's own timestamp for
ingested packets), `env` the device's `_env` tag at arrival, `name`/`tags` the device's at
arrival (shown when the device was deleted since), `adv` the encrypted advertisement for
ingested/decoded packets (deduplication).

In memory (rebuilt by `_rebuild_packets()`): streams of parallel `rx`/`n` lists, one per
organization, per (organization, _env) and per device, so a page is two bisects and a slice
rather than a scan; the newest packet per device and network (`most_recent_packet`,
`active`); and the advertisements already stored (a gateway-heard duplicate is decoded but
stored once).
"""

from __future__ import annotations

import base64
import binascii
import bisect
import math
from typing import TYPE_CHECKING, Any

from ....kernel.errors import ApiError, BadRequest
from ....kernel.memo import BoundedDict
from ....kernel.spec import dumps
from .common import DAY, HOUR, env_filter, resume_token
from .state import HubbleState

if TYPE_CHECKING:
    from ....kernel.store import Store
    from .. import crypto

PAGE_SIZE = 1000
PACKET_VIEW_CACHE = 8192  # packet views kept for repeated reads (bounded)
PAGE_MEMO = 256  # packet pages kept for repeated identical reads (bounded)
DEFAULT_WINDOW = 7 * DAY
RETENTION = 30 * DAY
RETRY_AFTER = 60  # seconds suggested to a reader that has caught up
DECODE_MAX_AGE = 72 * HOUR
DECODE_MAX_AHEAD = 2 * HOUR
TERRESTRIAL = "TERRESTRIAL"


class Stream:
    """Packets in arrival order: `rx` (arrival times, non-decreasing) and `n` (positions).

    `lead` and `lag` bound how far a packet's network time (`ts`) lies after or before its
    arrival, so a read filtered on `ts` still starts and stops with a bisect on `rx`."""

    __slots__ = ("rx", "n", "lead", "lag")

    def __init__(self) -> None:
        self.rx: list[float] = []
        self.n: list[int] = []
        self.lead = 0.0
        self.lag = 0.0

    def append(self, rx: float, n: int, ts: float) -> None:
        self.rx.append(rx)
        self.n.append(n)
        if ts > rx:
            self.lead = max(self.lead, ts - rx)
        else:
            self.lag = max(self.lag, rx - ts)

    def __len__(self) -> int:
        return len(self.n)


class PacketPage(list):
    """A page of packet views (a list), carrying what lets the pipeline skip work on a
    repeated read: `encoded`, the list-packets body `{"packets": [...]}` as `orjson.dumps`
    makes it (kept whole in the memo: a repeated read copies no bytes), and `key`, an
    object that stands for exactly these views (the memo's tuple: the same object means the
    same views, so the same response body)."""

    __slots__ = ("encoded", "key")

    def __init__(self, views: Any, encoded: bytes | None = None, key: Any = None) -> None:
        super().__init__(views)
        self.encoded = encoded
        self.key = key


class PacketsMixin(HubbleState):
    def __init__(self, store: Store) -> None:
        self.packets = store.table("hubble.packets")
        self._streams: dict[str, Stream] = {}
        self._last: dict[str, dict[str, tuple[float, float, float]]] = {}
        self._packet_views: BoundedDict[int, tuple[dict[str, Any], Any, dict[str, Any]]] = BoundedDict(PACKET_VIEW_CACHE)
        self._page_memo: BoundedDict[tuple, tuple] = BoundedDict(PAGE_MEMO)  # see _remember_page
        self._seen_adv: set[tuple[str, str]] = set()
        self._last_rx = 0.0
        self._next_n = 1

    # -- indexes ------------------------------------------------------------------------------
    def _rebuild_packets(self) -> None:
        self._streams = {}
        self._last = {}
        self._views.clear()
        self._device_walks.clear()  # device pages show what the packets say (last heard)
        self._packet_views.clear()
        self._page_memo.clear()
        self._seen_adv = set()
        self._last_rx = 0.0
        self._next_n = 1
        rows = sorted(self.packets.values(), key=lambda p: p["n"])
        for p in rows:
            self._index(p)

    def _index(self, p: dict[str, Any]) -> None:
        rx, n = p["rx"], p["n"]
        for key in (f"org:{p['org']}", f"env:{p['org']}:{p['env']}", f"dev:{p['dev']}"):
            stream = self._streams.get(key)
            if stream is None:
                stream = self._streams[key] = Stream()
            stream.append(rx, n, p["ts"])
        last = self._last.setdefault(p["dev"], {})
        prev = last.get(p["net"])
        if prev is None or p["ts"] >= prev[0]:
            last[p["net"]] = (p["ts"], p["loc"]["latitude"], p["loc"]["longitude"])
            self._views.pop(p["dev"], None)  # its most_recent_packet changed
        if p.get("adv"):
            self._seen_adv.add((p["org"], p["adv"]))
        self._last_rx = max(self._last_rx, rx)
        self._next_n = max(self._next_n, n + 1)

    def clock_moved_back(self) -> None:
        """After the sandbox clock went back (a clock reset, a restore): packets that arrived
        while it was ahead now arrived at the new now, so arrival order and the clock agree
        and the next packet does not inherit an arrival time in the future."""
        now = self.now()
        if self._last_rx <= now:
            return
        for key, p in list(self.packets.items()):
            if p["rx"] > now:
                self.packets.put(key, {**p, "rx": now})
        self._rebuild_packets()

    def stream(self, key: str) -> Stream:
        return self._streams.get(key) or Stream()

    # -- writing ------------------------------------------------------------------------------
    def add_packet(
        self,
        device: dict[str, Any],
        *,
        ts: float,
        payload: bytes,
        rssi: float,
        location: dict[str, Any],
        counter: int | None = None,
        seq_no: int | None = None,
        network: str = TERRESTRIAL,
        adv: str | None = None,
        rx: float | None = None,
    ) -> dict[str, Any]:
        """Put one decrypted packet into its organization's stream; returns the stored record.

        `rx` (arrival) defaults to the clock; it never goes below an earlier arrival, so
        stream order and arrival time agree."""
        arrival = max(self.now() if rx is None else rx, self._last_rx)
        n = self._next_n
        record = {
            "n": n,
            "org": device["org_id"],
            "dev": device["id"],
            "rx": arrival,
            "ts": ts,
            "env": device["tags"].get("_env", "production"),
            "name": device["name"],
            "tags": device["tags"],
            "payload": base64.b64encode(payload).decode(),
            "rssi": rssi,
            "counter": counter,
            "seq_no": seq_no,
            "loc": location,
            "net": network,
            "adv": adv,
        }
        self.packets.put(str(n), record)
        self._index(record)
        return record

    def packet_view(self, p: dict[str, Any]) -> dict[str, Any]:
        """The API's view of a stored packet (callers must not change it: views are cached
        by the packet record and the device record they were built from, both replaced on
        change, never edited in place)."""
        live = self.devices.get(p["dev"])
        n = p.get("n")
        hit = self._packet_views.get(n) if n is not None else None
        if hit is not None and hit[0] is p and hit[1] is live:
            return hit[2]
        device: dict[str, Any] = {
            "id": p["dev"],
            "name": live["name"] if live else p["name"],
            "tags": live["tags"] if live else p["tags"],
            "payload": p["payload"],
            "rssi": p["rssi"],
            "timestamp": p["ts"],
        }
        if p.get("counter") is not None:
            device["counter"] = p["counter"]
        if p.get("seq_no") is not None:
            device["sequence_number"] = p["seq_no"]
        view = {"location": p["loc"], "device": device, "network_type": p["net"]}
        if n is not None:
            self._packet_views.put(n, (p, live, view))
        return view

    # -- the stream -----------------------------------------------------------------------------
    def list_packets(
        self, org_id: str, query: dict[str, Any], token: str | None
    ) -> tuple[PacketPage, str, int | None]:
        """One page: (packets, next token ("" when paging is over), Retry-After or None)."""
        self.org(org_id)
        now = self.now()
        if token:
            st = resume_token(self.packet_pages, token, org_id)
        else:
            st = self._new_packet_query(org_id, query, now)
        stream = self.stream(st["src"])
        start, end = st["start"], st["end"]
        upto = st.get("upto")  # a device read without `end`: the last position at its first request
        total = len(stream)
        # a page is a pure function of the walk's inputs; `start` usually moves with the clock
        # (the default window), so the key holds where the walk begins and the memo the range
        # of `start` values that would filter the same packets
        first = bisect.bisect_left(stream.rx, start - stream.lead)
        key = (st["src"], first, end, upto, tuple(st["envs"]), st["pos"], total)
        memo = self._page_memo.get(key)
        if (
            memo is not None and memo[0] is stream and memo[5] < start <= memo[6]
            and all(self.devices.get(d) is live for d, live in memo[1])
        ):  # fmt: skip
            pos, i, beyond = memo[2], memo[3], memo[4]
        else:
            found, pos, i, beyond, lo, hi = self._scan_packets(stream, st, first, total)
            memo = self._remember_page(key, (stream, found, pos, i, beyond, lo, hi))
        out = memo[7]  # the page, shared by repeated reads (nothing changes a page once made)
        exhausted = i >= total
        if beyond or (exhausted and upto is not None) or (exhausted and end is not None and end <= now):
            return out, "", None  # the window is read to its end: paging is over
        next_token = self.packet_pages.encode({**st, "pos": pos})  # its shape: models_common.PACKET_TOKEN
        if exhausted:  # caught up with the stream: come back later for more
            wait = RETRY_AFTER if end is None else max(1, min(RETRY_AFTER, math.ceil(end - now)))
            return out, next_token, wait
        return out, next_token, None

    def _scan_packets(
        self, stream: Stream, st: dict[str, Any], first: int, total: int
    ) -> tuple[list[dict[str, Any]], int | None, int, bool, float, float]:
        """One page's walk over the stream from index `first`: (views, last position read,
        index reached, whether the walk stopped at the end of the window, and the range
        (lo, hi] of `start` values that filter the walked packets alike)."""
        start, end = st["start"], st["end"]
        upto = st.get("upto")
        envs = set(st["envs"]) if st["envs"] else None
        # `start`/`end` filter on the time the network received the packet (`ts`); the
        # stream is in arrival order, so the scan starts and stops with the stream's margins
        i = first
        if st["pos"] is not None:
            i = max(i, bisect.bisect_right(stream.n, st["pos"]))
        stop = None if end is None else end + stream.lag
        out: list[dict[str, Any]] = []
        pos = st["pos"]
        beyond = False
        lo, hi = -math.inf, math.inf
        rows = self.packets
        while i < total and len(out) < PAGE_SIZE:
            if (stop is not None and stream.rx[i] >= stop) or (upto is not None and stream.n[i] > upto):
                beyond = True
                break
            p = rows.get(str(stream.n[i]))
            pos = stream.n[i]
            i += 1
            if p is None:
                continue
            ts = p["ts"]
            if ts < start:
                lo = max(lo, ts)
                continue
            hi = min(hi, ts)
            if (envs and p["env"] not in envs) or (end is not None and ts >= end):
                continue
            out.append(self.packet_view(p))
        if i < total and not beyond:
            beyond = (stop is not None and stream.rx[i] >= stop) or (upto is not None and stream.n[i] > upto)
        return out, pos, i, beyond, lo, hi

    def _remember_page(self, key: tuple, walk: tuple) -> tuple:
        """Keep a page's walk (stream, views, pos, i, beyond, lo, hi) for the next identical
        read, as (stream, (device id, record) of each device on the page, pos, i, beyond, lo,
        hi, the PacketPage holding the views). Valid while the stream object is the same (a
        rebuild replaces every stream; within one, packets are only appended and the stream's
        length is part of the key) and every device on the page is the same record (a rename
        or delete replaces it, and a view shows the device as it is now)."""
        stream, out, *rest = walk
        devices = {v["device"]["id"]: None for v in out}
        views = tuple(out)
        page = PacketPage(views, dumps({"packets": views}), views)
        return self._page_memo.put(key, (stream, tuple((d, self.devices.get(d)) for d in devices), *rest, page))

    def resume_token_for(self, org_id: str, query: dict[str, Any], token: str | None) -> str | None:
        """The Continuation-Token a refused (429) packets read carries, so the client resumes
        where it stood: the token it sent, or one that starts its query as it stands now.
        None when the query itself would be refused."""
        if token:
            return token
        try:
            return self.packet_pages.encode(self._new_packet_query(org_id, query, self.now()))
        except ApiError:
            return None

    def _new_packet_query(self, org_id: str, query: dict[str, Any], now: float) -> dict[str, Any]:
        start = query.get("start")
        start = max(0.0, now - DEFAULT_WINDOW) if start is None else float(start)
        start = max(start, now - RETENTION)  # granular packets are kept 30 days
        end = query.get("end")
        upto = None
        device_id = query.get("device_id")
        envs = env_filter(query.get("filter_tags"))
        if device_id is not None:
            self.device(org_id, device_id)
            if end is None:  # a device-filtered read pages up to what has arrived now, then ends
                upto = self._next_n - 1
            src = f"dev:{device_id}"
            stream_envs = sorted(envs) if envs else []
        elif envs is not None and len(envs) == 1:
            src, stream_envs = f"env:{org_id}:{next(iter(envs))}", []
        else:
            src, stream_envs = f"org:{org_id}", []
        if end is not None and end < start:
            raise BadRequest(f"end ({end}) is before start ({int(start)})")
        return {"org": org_id, "src": src, "start": start, "end": end, "upto": upto, "envs": stream_envs, "pos": None}

    # -- ingest and decode -----------------------------------------------------------------------
    def _store_decoded(
        self, org_id: str, decoded: crypto.Decoded, adv: dict[str, Any], location: dict[str, Any]
    ) -> dict[str, Any] | None:
        """Store a decoded advertisement unless the same one was stored already."""
        if (org_id, adv["payload"]) in self._seen_adv:
            return None
        device = self.devices.get(decoded.device_id)
        if device is None:
            return None
        return self.add_packet(
            device,
            ts=float(adv["timestamp"]),
            payload=decoded.payload,
            rssi=adv["rssi"],
            location=location,
            counter=decoded.counter,
            seq_no=decoded.sequence_number,
            adv=adv["payload"],
        )

    def ingest(self, org_id: str, body: dict[str, Any]) -> dict[str, int]:
        self.org(org_id)
        decoder = self._decoder(org_id)
        accepted = decoded = 0
        stored = []
        for g, group in enumerate(body["ble_locations"]):
            for a, adv in enumerate(group["adv"]):
                accepted += 1
                raw = _b64(adv["payload"], f"ble_locations[{g}].adv[{a}].payload")
                result = decoder.decode(raw, float(adv["timestamp"]))
                if result is None:
                    continue
                decoded += 1
                record = self._store_decoded(org_id, result, adv, group["location"])
                if record is not None:
                    stored.append(record)
        self.emitter.emit(org_id, stored)
        return {"accepted": accepted, "decoded": decoded}

    def decode(self, org_id: str, body: dict[str, Any]) -> list[dict[str, Any]]:
        self.org(org_id)
        now = self.now()
        advs = body["advertisements"]
        raws = []
        for i, adv in enumerate(advs):
            ts = float(adv["timestamp"])
            if not now - DECODE_MAX_AGE < ts <= now + DECODE_MAX_AHEAD:
                raise BadRequest(
                    f"advertisements[{i}].timestamp {ts} is outside the decode window "
                    "(at most 72 hours ago and 2 hours ahead); the whole batch is refused",
                )
            raw = _b64(adv["payload"], f"advertisements[{i}].payload")
            if not raw:
                raise BadRequest(f"advertisements[{i}].payload is empty; the whole batch is refused")
            raws.append(raw)
        decoder = self._decoder(org_id)
        out, stored = [], []
        for adv, raw in zip(advs, raws, strict=True):
            result = decoder.decode(raw, float(adv["timestamp"]))
            if result is None:
                continue
            record = self._store_decoded(org_id, result, adv, adv["location"])
            if record is not None:
                stored.append(record)
                view = self.packet_view(record)
            else:  # already stored: answer it all the same
                device = self.devices[result.device_id]
                view = self.packet_view(
                    {
                        "dev": device["id"], "name": device["name"], "tags": device["tags"],
                        "payload": base64.b64encode(result.payload).decode(), "rssi": adv["rssi"],
                        "ts": float(adv["timestamp"]), "counter": result.counter,
                        "seq_no": result.sequence_number, "loc": adv["location"], "net": TERRESTRIAL,
                    }
                )  # fmt: skip
            advertisement = {"payload": adv["payload"], "rssi": adv["rssi"], "timestamp": adv["timestamp"]}
            out.append({"advertisement": advertisement, **view})
        self.emitter.emit(org_id, stored)
        return out


def _b64(value: str, where: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise BadRequest(f"{where}: not valid base64") from None
