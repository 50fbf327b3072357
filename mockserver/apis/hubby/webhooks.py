"""Hubby's outgoing webhook events (API 2.0.0, seed 002), emitted from real state changes.

Nine events, each `{"event", "timestamp", "data"}` with exactly the seed's data fields:
esim.installed / esim.removed, package.activated, package.usage.{20,50,80}_percent,
promo_code.redeemed, booking.within_cutoff and booking.about_to_depart.

Delivery goes through the shared engine (`POLICY`: retried after 1, 5 and 30 minutes,
then dropped) to the URL the partner registered with `PUT /_mock/hubby/webhook`, with an
`x-api-key` header (the partner's webhook key, by default its API key). Every event is also
written to the state-change log (`GET /_mock/hubby/events`), delivered or not.

Clock-driven events run on `runtime.timers`: the cut-off and about-to-depart reminders of a
booking, the time-based usage thresholds of time-limited and unlimited packages, and package
expiry. Timers are not persisted: `reschedule_all()` (called from the backend's `loaded()`)
re-creates them, and every callback re-checks the stored state, because a reset or restore
leaves stale timers behind (an epoch counter makes those return at once).

Choices where the record is thin (also in the README fidelity table):
- `booking_id` in payloads is the partner's booking_id, or Hubby's id when the booking has none;
- fields without a value are left out (no nulls): external_user_id when the traveler has
  none; usage events carry size, used_bytes and remaining_bytes for data-limited and starter
  packages and duration_days, elapsed_days and remaining_days for time-limited and
  unlimited ones (seed 002 scopes each field to one package type);
- usage thresholds follow data for data-limited and starter packages, elapsed time for
  time-limited and unlimited ones; a jump past several thresholds sends each one, in order;
- a departure given as a date is midnight UTC in payloads; a date-time without an offset is
  read as UTC; booking.about_to_depart needs a time and an offset;
- a booking already inside the window when created gets its reminder at once; one whose
  departure has passed gets none; events already due when a scenario is loaded are logged,
  not delivered.
"""

from __future__ import annotations

import functools
import math
from typing import TYPE_CHECKING, Any

from ...webhooks import RetryPolicy
from .timeutil import DAY, HOUR, iso, parse_iso

if TYPE_CHECKING:
    from .models import HubbyBackend

EVENTS = (
    "package.usage.20_percent",
    "package.usage.50_percent",
    "package.usage.80_percent",
    "esim.installed",
    "esim.removed",
    "package.activated",
    "promo_code.redeemed",
    "booking.within_cutoff",
    "booking.about_to_depart",
)
THRESHOLDS = (20, 50, 80)
TIME_TYPES = ("time-limited", "unlimited")
_FLAG = {"within_cutoff": "cutoff_sent_at", "about_to_depart": "about_to_depart_sent_at"}
_EPS = 1e-6

POLICY = RetryPolicy(delays=[60.0, 300.0, 1800.0], timeout=30.0, user_agent="Hubby-Webhooks/2.0")
"""Documented in the partner guide: non-2xx answers are retried up to 3 times, after 1, 5
and 30 minutes, then the event is dropped (state `canceled`). Attempts land at t0, t0+60,
t0+360, t0+2160. Every non-2xx, 4xx included, is retried; a 30 s per-attempt timeout (real
seconds); redirects are not followed."""


class HubbyWebhooks:
    """Hubby's sender (`backend.emitter`): events from state changes and from the clock."""

    def __init__(self, backend: HubbyBackend) -> None:
        self.b = backend
        self.epoch = 0
        self._timers: list[Any] = []  # this epoch's timers, cancelled when it ends

    def _call_at(self, when: float, callback: Any) -> None:
        self._timers.append(self.b.runtime.timers.call_at(when, callback))

    # -- sending --------------------------------------------------------------------------------
    def emit(self, event: str, partner_id: str, data: dict[str, Any], *, booking: str | None = None) -> dict[str, Any]:
        b = self.b
        body = {"event": event, "timestamp": iso(b.now()), "data": data}
        entry = b.log(event, partner_id, booking=booking, payload=body)
        partner = b.partners.get(partner_id) or {}
        rt = b.runtime
        if b.seeding:
            b.set_log_message(entry, None, "not delivered: it happened while the scenario was being loaded")
        elif not partner.get("webhook_url"):
            b.set_log_message(entry, None, "not delivered: no webhook URL configured (PUT /_mock/hubby/webhook)")
        elif not partner.get("scenario_events", True) and (b.bookings.get(booking or "") or {}).get("from_scenario"):
            b.set_log_message(entry, None, "not delivered: the booking comes from the scenario and the webhook "
                                           "was registered with scenario_events=false")  # fmt: skip
        elif rt.webhooks is None:
            b.set_log_message(entry, None, "not delivered: no webhook engine")
        else:
            headers = {"x-api-key": partner.get("webhook_api_key") or partner["api_key"]}
            msg = rt.webhooks.enqueue(
                "hubby", partner_id, partner["webhook_url"], body, headers, event_type=event,
                meta={"booking": booking, "event_log_seq": entry["seq"]},
            )  # fmt: skip
            b.set_log_message(entry, msg["id"])
        return body

    def _booking_ref(self, booking: dict[str, Any] | None, fallback: str | None = None) -> str:
        if booking is None:
            return fallback or ""
        ref: str = booking.get("booking_id") or booking["id"]
        return ref

    # -- events from state changes ----------------------------------------------------------------
    def promo_code_redeemed(self, promo: dict[str, Any]) -> None:
        booking = self.b.bookings.get(promo["booking"])
        data = {"promocode": promo["promo_code"], "booking_id": self._booking_ref(booking), "redeemed_at": iso(promo["redeemed_at"])}
        self.emit("promo_code.redeemed", promo["partner"], data, booking=promo["booking"])

    def esim_event(self, event: str, esim: dict[str, Any]) -> None:
        booking = self.b.bookings.get(esim["booking"])
        data = _compact(external_user_id=esim["external_user_id"], booking_id=self._booking_ref(booking, esim["booking_id"]), iccid=esim["iccid"])
        self.emit(event, esim["partner"], data, booking=esim["booking"])

    def package_activated(self, esim: dict[str, Any], entry: dict[str, Any]) -> None:
        booking = self.b.bookings.get(entry["booking"] or esim["booking"])
        data = _compact(
            external_user_id=entry["external_user_id"] or esim["external_user_id"],
            booking_id=self._booking_ref(booking, entry["booking_id"]),
            package_id=entry["package_id"],
            destination=entry["destination"],
            size=entry["size"],
            activated_at=iso(entry["activated_at"]),
            expires_at=iso(entry["expires_at"]),
        )
        self.emit("package.activated", esim["partner"], data, booking=entry["booking"])
        self.schedule_package(esim["iccid"], entry)

    def data_thresholds(self, esim: dict[str, Any], entry: dict[str, Any]) -> None:
        """After data use: every threshold the used share has reached, once each, in order."""
        total = entry["total_bytes"]
        if not total:
            return
        share = entry["used_bytes"] * 100.0 / total
        for t in THRESHOLDS:
            if share + _EPS >= t and t not in entry["thresholds"]:
                entry = self._usage(esim["iccid"], entry["entry_id"], t)

    def _usage(self, iccid: str, entry_id: str, threshold: int) -> dict[str, Any]:
        b = self.b
        esim = b.esims[iccid]
        entry = next(p for p in esim["packages"] if p["entry_id"] == entry_id)
        entry = {**entry, "thresholds": sorted({*entry["thresholds"], threshold})}
        esim = {**esim, "packages": [entry if p["entry_id"] == entry_id else p for p in esim["packages"]]}
        b.esims.put(iccid, esim)
        booking = b.bookings.get(entry["booking"] or esim["booking"])
        now = b.now()
        activated = entry["activated_at"] if entry["activated_at"] is not None else now
        expires = entry["expires_at"] if entry["expires_at"] is not None else activated + entry["duration_days"] * DAY
        total = entry["total_bytes"]
        # seed 002: size and the byte counts are for data-limited packages, the day counts for
        # time-limited ones; each package sends the set its thresholds follow
        by_time = entry["package_type"] in TIME_TYPES
        data = _compact(
            external_user_id=entry["external_user_id"] or esim["external_user_id"],
            booking_id=self._booking_ref(booking, entry["booking_id"]),
            package_id=entry["package_id"],
            destination=entry["destination"],
            size=None if by_time else entry["size"],
            package_type=entry["package_type"],
            used_bytes=None if by_time else entry["used_bytes"],
            remaining_bytes=None if by_time or total is None else max(0, total - entry["used_bytes"]),
            duration_days=entry["duration_days"] if by_time else None,
            elapsed_days=max(0, int((now - activated + _EPS) // DAY)) if by_time else None,
            remaining_days=max(0, math.ceil((expires - now) / DAY - _EPS)) if by_time else None,
            usage_percent=threshold,
        )
        self.emit(f"package.usage.{threshold}_percent", esim["partner"], data, booking=entry["booking"])
        return entry

    # -- clock-driven events --------------------------------------------------------------------
    def booking_changed(self, booking: dict[str, Any]) -> None:
        """After a booking is created or its departure changes: fire what is due now, schedule the rest."""
        self._schedule_booking(booking, immediate=True)

    def _schedule_booking(self, booking: dict[str, Any], *, immediate: bool) -> None:
        if booking["status"] == "CANCELLED":
            return
        now = self.b.now()
        for kind in ("within_cutoff", "about_to_depart"):
            due = self._due(booking, kind)
            if due is None:
                continue
            if now + _EPS >= due and immediate:
                self._booking_due(self.epoch, booking["id"], kind)
            else:
                self._call_at(max(due, now), functools.partial(self._booking_due, self.epoch, booking["id"], kind))

    def _due(self, booking: dict[str, Any], kind: str) -> float | None:
        """When the reminder is due; None when it never will be (sent, date-only, departed)."""
        if booking.get(_FLAG[kind]) is not None:
            return None
        partner = self.b.partners.get(booking["partner"]) or {}
        if self.b.now() >= booking["departure_ts"]:
            return None
        if kind == "within_cutoff":
            return booking["departure_ts"] - float(partner.get("cutoff_days", 7)) * DAY
        if not booking["departure_precise"]:
            return None
        return booking["departure_ts"] - float(partner.get("about_to_depart_hours", 2)) * HOUR

    def _booking_due(self, epoch: int, booking_id: str, kind: str) -> None:
        b = self.b
        if epoch != self.epoch:
            return
        booking = b.bookings.get(booking_id)
        if booking is None or booking["status"] == "CANCELLED":
            return
        due = self._due(booking, kind)
        if due is None or b.now() + _EPS < due:
            return  # sent already, or a stale timer for an older departure
        b.bookings.put(booking_id, {**booking, _FLAG[kind]: b.now()})
        departure = parse_iso(booking["departure_date"])
        user = booking.get("external_user_id")
        installed = any((b.esims.get(i) or {}).get("status") == "installed" for i in booking["esims"])
        left = booking["departure_ts"] - b.now()
        if kind == "within_cutoff":
            data = _compact(external_user_id=user, booking_id=self._booking_ref(booking),
                            departure_date=departure.as_datetime_string(),
                            days_until_departure=int((left + _EPS) // DAY), esim_installed=installed)  # fmt: skip
        else:
            data = _compact(external_user_id=user, booking_id=self._booking_ref(booking),
                            departure_date=departure.as_datetime_string(),
                            hours_until_departure=int((left + _EPS) // HOUR), esim_installed=installed)  # fmt: skip
        self.emit(f"booking.{kind}", booking["partner"], data, booking=booking_id)
        b.runtime.store.flush()

    def schedule_package(self, iccid: str, entry: dict[str, Any]) -> None:
        """Time thresholds (time-limited, unlimited) and expiry of an active package."""
        if entry["status"] != "active" or entry["activated_at"] is None:
            return
        now = self.b.now()
        span = entry["expires_at"] - entry["activated_at"]
        if entry["package_type"] in TIME_TYPES:
            for t in THRESHOLDS:
                if t not in entry["thresholds"]:
                    due = entry["activated_at"] + span * t / 100.0
                    self._call_at(max(due, now), functools.partial(self._time_due, self.epoch, iccid, entry["entry_id"], t))
        self._call_at(max(entry["expires_at"], now), functools.partial(self._expiry_due, self.epoch, iccid, entry["entry_id"]))

    def _time_due(self, epoch: int, iccid: str, entry_id: str, threshold: int) -> None:
        b = self.b
        if epoch != self.epoch:
            return
        esim = b.esims.get(iccid)
        entry = next((p for p in (esim or {}).get("packages", []) if p["entry_id"] == entry_id), None)
        if entry is None or entry["status"] != "active" or threshold in entry["thresholds"]:
            return
        due = entry["activated_at"] + (entry["expires_at"] - entry["activated_at"]) * threshold / 100.0
        if b.now() + _EPS < due:
            return
        self._usage(iccid, entry_id, threshold)
        b.runtime.store.flush()

    def _expiry_due(self, epoch: int, iccid: str, entry_id: str) -> None:
        if epoch != self.epoch:
            return
        self.b.expire_due(iccid, entry_id)
        self.b.runtime.store.flush()

    def reschedule_all(self) -> None:
        """After a reset, restore or restart: forget old timers, re-create them from state."""
        self.epoch += 1
        for timer in self._timers:  # cancelled, so they no longer count as pending
            timer.cancel()
        self._timers = []
        for booking in list(self.b.bookings.values()):
            self._schedule_booking(booking, immediate=False)
        for iccid, esim in list(self.b.esims.items()):
            for entry in esim["packages"]:
                self.schedule_package(iccid, entry)


def _compact(**fields: Any) -> dict[str, Any]:
    """The payload without the fields that have no value (the 2.0.0 schemas have no nulls)."""
    return {k: v for k, v in fields.items() if v is not None}
