"""Platform metrics and billing, computed from the state: API calls, packets, webhook
deliveries, devices; usage; invoices.

Buckets (UTC) follow the vendor's rules: without `time_interval`, 1 day gives hours, 2-31
days give days, 32-365 give months. Every bucket but the newest is complete; the newest is
the partial one that holds "now". `days` whole intervals are returned before the partial
one (days=7, day -> 7 complete days + today); a month window is widened to whole months
(days=90 on June 13 -> March, April, May complete + June partial). At most 365 complete
buckets: hours allow days <= 15.
"""

from __future__ import annotations

import bisect
import calendar
from datetime import UTC, datetime
from typing import Any

from ....kernel.errors import BadRequest
from .common import DAY, HOUR, env_filter, iso, not_found
from .state import HubbleState

MAX_BUCKETS = 365
USAGE_DAYS = 30
USAGE_MONTHS = 3


def _month_start(ts: float) -> float:
    d = datetime.fromtimestamp(ts, tz=UTC)
    return calendar.timegm((d.year, d.month, 1, 0, 0, 0))


def _next_month(start: float) -> float:
    d = datetime.fromtimestamp(start, tz=UTC)
    year, month = (d.year + 1, 1) if d.month == 12 else (d.year, d.month + 1)
    return calendar.timegm((year, month, 1, 0, 0, 0))


def bucket_bounds(now: float, days: int, interval: str | None) -> list[tuple[float, float]]:
    """[(start, end)] oldest first; the last bucket is the partial one containing `now`."""
    if interval is None:
        interval = "hour" if days <= 1 else ("day" if days <= 31 else "month")
    if interval in ("hour", "day"):
        width = HOUR if interval == "hour" else DAY
        per_day = DAY // width
        complete = days * per_day
        if complete > MAX_BUCKETS:
            raise BadRequest(
                f"days={days} with time_interval={interval} makes {complete} buckets; at most {MAX_BUCKETS} "
                f"(use days <= {MAX_BUCKETS // per_day} or a wider interval)",
            )
        current = now // width * width
        return [(current - k * width, current - (k - 1) * width) for k in range(complete, -1, -1)]
    if interval != "month":
        raise BadRequest(f"time_interval must be hour, day or month, got {interval!r}")
    start = _month_start(now - days * DAY)
    current = _month_start(now)
    out = []
    while start <= current:
        nxt = _next_month(start)
        out.append((start, nxt))
        start = nxt
    return out


class MetricsMixin(HubbleState):
    # -- query -----------------------------------------------------------------------------
    def _buckets(self, query: dict[str, Any]) -> list[tuple[float, float]]:
        days = query.get("days", query.get("daysBack", 1))
        interval = query.get("time_interval", query.get("timeInterval"))
        return bucket_bounds(self.now(), int(days), interval)

    # -- API requests ------------------------------------------------------------------------
    def api_metrics(self, org_id: str, query: dict[str, Any]) -> dict[str, Any]:
        self.org(org_id)
        bounds = self._buckets(query)
        counts = [[0, 0] for _ in bounds]
        starts = [b[0] for b in bounds]
        lo, hi = bounds[0][0], bounds[-1][1]
        for row in self.api_counts.values():
            if row["org_id"] != org_id or not lo <= row["hour"] < hi:
                continue
            i = bisect.bisect_right(starts, row["hour"]) - 1
            counts[i][0] += row["total"]
            counts[i][1] += row["ok"]
        return _request_metrics(bounds, counts)

    # -- webhook deliveries ------------------------------------------------------------------
    def webhook_metrics(self, org_id: str, query: dict[str, Any]) -> dict[str, Any]:
        self.org(org_id)
        bounds = self._buckets(query)
        counts = [[0, 0] for _ in bounds]
        starts = [b[0] for b in bounds]
        lo, hi = bounds[0][0], bounds[-1][1]
        engine = self.runtime.webhooks
        messages = engine.messages(api="hubble") if engine is not None else []
        for message in messages:
            if (message.get("meta") or {}).get("org_id") != org_id:
                continue
            for attempt in message.get("attempts", ()):
                at = attempt.get("at")
                if at is None or not lo <= at < hi:
                    continue
                i = bisect.bisect_right(starts, at) - 1
                counts[i][0] += 1
                status = attempt.get("status")
                if status is not None and 200 <= status < 300:
                    counts[i][1] += 1
        return _request_metrics(bounds, counts)

    # -- packets -----------------------------------------------------------------------------
    def _org_stream_key(self, org_id: str, tags: list[str] | None) -> str:
        envs = env_filter(tags)
        if envs is not None and len(envs) == 1:
            return f"env:{org_id}:{next(iter(envs))}"
        return f"org:{org_id}"

    def packet_metrics(self, org_id: str, query: dict[str, Any]) -> dict[str, Any]:
        self.org(org_id)
        bounds = self._buckets(query)
        stream = self.stream(self._org_stream_key(org_id, query.get("filter_tags")))
        buckets = []
        total = 0
        for start, end in bounds:
            n = bisect.bisect_left(stream.rx, end) - bisect.bisect_left(stream.rx, start)
            total += n
            buckets.append({"timestamp": iso(start), "total_packets": n})
        return {"total_packets": total, "buckets": buckets}

    # -- devices -----------------------------------------------------------------------------
    def _active_devices(self, stream_key: str, start: float, end: float) -> set[str]:
        stream = self.stream(stream_key)
        out: set[str] = set()
        for i in range(bisect.bisect_left(stream.rx, start), bisect.bisect_left(stream.rx, end)):
            p = self.packets.get(str(stream.n[i]))
            if p is not None:
                out.add(p["dev"])
        return out

    def device_metrics(self, org_id: str, query: dict[str, Any]) -> dict[str, Any]:
        self.org(org_id)
        bounds = self._buckets(query)
        envs = env_filter(query.get("filter_tags"))
        devices = [
            d
            for device_id in self.device_ids(org_id)
            if (d := self.devices.get(device_id)) is not None and (envs is None or d["tags"].get("_env") in envs)
        ]
        ids = {d["id"] for d in devices}
        created = sorted(d["created_ts"] for d in devices)
        first_heard = sorted(s.rx[0] for d in devices if (s := self._streams.get(f"dev:{d['id']}")) and len(s))
        stream_key = f"org:{org_id}"
        buckets = []
        for start, end in bounds:
            registered = bisect.bisect_left(created, end)
            heard_by_end = bisect.bisect_left(first_heard, end)  # a device is heard after it exists
            active = len(self._active_devices(stream_key, start, end) & ids)
            buckets.append(
                {
                    "timestamp": iso(start),
                    "registered_devices": registered,
                    "active_devices": active,
                    "never_active_devices": max(0, registered - heard_by_end),
                }
            )
        window_active = self._active_devices(stream_key, bounds[0][0], bounds[-1][1]) & ids
        never = sum(1 for d in devices if self._first_rx(d["id"]) is None)
        return {
            "buckets": buckets,
            "total_active_devices": len(window_active),
            "total_registered_devices": len(devices),
            "total_never_active_devices": never,
        }

    def _first_rx(self, device_id: str) -> float | None:
        stream = self._streams.get(f"dev:{device_id}")
        return stream.rx[0] if stream and len(stream) else None

    # -- billing -----------------------------------------------------------------------------
    def billing_usage(self, org_id: str) -> list[dict[str, Any]]:
        self.org(org_id)
        now = self.now()
        key = f"org:{org_id}"
        out = []
        today = now // DAY * DAY
        for k in range(USAGE_DAYS, -1, -1):
            start = today - k * DAY
            out.append(
                {
                    "usage_timestamp": iso(start),
                    "usage_type": "Daily Active Devices",
                    "usage_value": len(self._active_devices(key, start, start + DAY)),
                }
            )
        month = _month_start(now)
        months = [month]
        for _ in range(USAGE_MONTHS - 1):
            months.insert(0, _month_start(months[0] - 1))
        for start in months:
            out.append(
                {
                    "usage_timestamp": iso(start),
                    "usage_type": "Monthly Active Devices",
                    "usage_value": len(self._active_devices(key, start, _next_month(start))),
                }
            )
        return out

    @staticmethod
    def invoice_view(record: dict[str, Any]) -> dict[str, Any]:
        keys = ("invoice_id", "issue_timestamp", "due_timestamp", "status", "total", "remaining_balance")
        return {k: record[k] for k in keys}

    def list_invoices(self, org_id: str) -> list[dict[str, Any]]:
        self.org(org_id)
        rows = [i for i in self.invoices.values() if i["org_id"] == org_id]
        rows.sort(key=lambda i: (-i["issue_timestamp"], i["invoice_id"]))
        return [self.invoice_view(i) for i in rows]

    def invoice_pdf(self, org_id: str, invoice_id: str) -> bytes:
        record = self.invoices.get(invoice_id)
        if record is None or record["org_id"] != org_id:
            raise not_found("invoice", invoice_id)
        from ..pdf import render_invoice  # on first use: fpdf2 is slow to import

        return render_invoice(record, self.org(org_id))


def _request_metrics(bounds: list[tuple[float, float]], counts: list[list[int]]) -> dict[str, Any]:
    total = sum(c[0] for c in counts)
    ok = sum(c[1] for c in counts)
    return {
        "total_requests": total,
        "success_rate": _rate(ok, total),
        "buckets": [
            {"timestamp": iso(start), "total_requests": c[0], "success_rate": _rate(c[1], c[0])}
            for (start, _), c in zip(bounds, counts, strict=True)
        ],
    }


def _rate(ok: int, total: int) -> float:
    return round(min(1.0, ok / total), 4) if total else 0.0
