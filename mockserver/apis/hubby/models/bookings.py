"""Bookings, promo codes and package queues (no HTTP); which packages a specification
books is in models_packages.py.

A booking record (table hubby.bookings) keeps what the partner sent, stripped of unknown
fields, plus: id, partner, status, promo_codes (codes), package_queues (uuids), esims
(ICCIDs), created_at/updated_at, messages_sent_at (Hubby delivered the codes itself),
cancelled_at, and the parsed departure (departure_ts, departure_precise) the timers read.
"""

from __future__ import annotations

import bisect
import math
from typing import Any

from ....kernel.errors import BadRequest, NotFound
from ....kernel.spec import Violation, dumps
from .. import catalog
from ..timeutil import DAY, iso, parse_iso
from .state import HubbyState

BOOKING_VIEW_CACHE = 4096  # booking views kept for repeated reads (bounded)
BOOKING_PAGES = 256  # encoded list pages kept for repeated reads (bounded)
BOOKING_FIELDS = (
    "departure_date", "return_date", "departure_location", "email", "phone", "first_name",
    "last_name", "full_name", "title", "gender", "pax", "flight_number", "locale",
    "custom_branding", "external_user_id", "data", "communication_options", "external_id",
)  # fmt: skip
SPEC_FIELDS = (
    "package_id", "destination", "size", "package_type", "package_duration", "external_user_id",
    "iata_code", "esim_type", "email", "expires_at",
)  # fmt: skip
PROMO_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
CLAIM_BASE = "https://platform.hubbyesim.com/free-esim"
DEEP_LINK_BASE = "https://hubby-esim.web.app/starter/"
PROMO_VALIDITY_DAYS = 365
EARLIEST, LATEST = 946_684_800.0, 4_133_980_799.0  # 2000-01-01, 2100-12-31T23:59:59Z: dates a trip can have


class BookingsMixin(HubbyState):
    """Mixed into HubbyBackend: everything about bookings and promo codes."""

    # -- create -------------------------------------------------------------------------------
    def create_booking(self, partner: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        """Validate every domain rule (all problems at once), resolve packages, store."""
        invalid: list[Violation] = []
        missing: list[Violation] = []
        fields = _pick(body, (*BOOKING_FIELDS, "booking_id"))
        specs = [_pick(s, SPEC_FIELDS) if isinstance(s, dict) else {} for s in body.get("package_specifications") or []]
        departure = self._check_dates(fields, invalid)
        # the spec's schema checks these first; repeated for callers that skip it (scenarios)
        if not fields.get("departure_date"):
            invalid.append(Violation("departure_date", "departure_date is required"))
        if not specs:
            invalid.append(Violation("package_specifications", "package_specifications must contain at least one item"))
        if not fields.get("email") and not fields.get("booking_id"):
            invalid.append(Violation("", "at least one of email or booking_id is required"))
        booking_id = fields.get("booking_id")
        if booking_id:
            clash = self.find_booking_by_external_id(partner, booking_id, active_only=True)
            if clash is not None:
                invalid.append(Violation("booking_id", f"booking_id {booking_id} is already used by booking {clash['id']} (cancel it first)"))
        trip_days = None
        if departure is not None and fields.get("return_date"):
            try:
                trip_days = max(1, math.ceil((parse_iso(fields["return_date"]).ts - departure.ts) / DAY))
            except ValueError:
                pass
        resolved = [self._resolve_spec(i, s, trip_days, invalid, missing) for i, s in enumerate(specs)]
        if invalid:
            raise BadRequest("Validation failed", violations=invalid + missing)
        if missing:
            raise NotFound("Package not found", violations=missing)
        assert departure is not None
        now = self.now()
        bid = f"bk_{self.ids.hex('booking', 16)}"
        comm = fields.get("communication_options") or {}
        comm = {"should_send_message": bool(comm.get("should_send_message", True)),
                "channels": list(comm.get("channels") or ["EMAIL"])}  # fmt: skip
        booking_level_user = fields.get("external_user_id") or next(
            (s["external_user_id"] for s in specs if s.get("external_user_id")), None
        )
        record: dict[str, Any] = {f: fields.get(f) for f in BOOKING_FIELDS}
        record.update(
            id=bid,
            partner=partner["id"],
            booking_id=booking_id,
            status="CONFIRMED",
            pax=fields.get("pax") or 1,
            full_name=fields.get("full_name") or _join(fields.get("first_name"), fields.get("last_name")),
            external_user_id=booking_level_user,
            communication_options=comm,
            package_specifications=specs,
            promo_codes=[],
            package_queues=[],
            esims=[],
            created_at=now,
            updated_at=now,
            messages_sent_at=None,
            cancelled_at=None,
            departure_ts=departure.ts,
            departure_precise=departure.precise,
            departure_past_after=departure.past_after,
            cutoff_sent_at=None,
            about_to_depart_sent_at=None,
            from_scenario=self.seeding,  # a webhook may opt out of the scenario's own events
        )
        for spec, packages in zip(specs, resolved, strict=True):
            user = spec.get("external_user_id") or booking_level_user
            for package in packages:
                code = self._new_promo_code(partner, record, spec, package, user, departure.ts)
                record["promo_codes"].append(code["promo_code"])
                if user and spec.get("esim_type") != "classic":
                    queue = self._new_queue_entry(record, code, user)
                    record["package_queues"].append(queue["uuid"])
        channels_reachable = record["email"] or record["phone"] or booking_level_user
        if comm["should_send_message"] and channels_reachable:
            record["messages_sent_at"] = now
        self.bookings.put(bid, record)
        bisect.insort(self._partner_order.setdefault(partner["id"], []), (-now, -len(self.bookings), bid))
        if booking_id:
            self._by_external.setdefault((partner["id"], booking_id), []).append(bid)
        self.log("booking.created", partner["id"], booking=bid, promo_codes=list(record["promo_codes"]),
                 messages_sent=record["messages_sent_at"] is not None)  # fmt: skip
        self.emitter.booking_changed(record)
        return self.bookings[bid]

    def _check_dates(self, fields: dict[str, Any], invalid: list[Violation]):  # noqa: ANN202
        departure = _date_field(fields, "departure_date", invalid)
        back = _date_field(fields, "return_date", invalid)
        if departure is not None and back is not None and back.ts < departure.ts:
            invalid.append(Violation("return_date", "return_date must be on or after departure_date"))
        return departure

    # -- promo codes and queues ---------------------------------------------------------------
    def _new_promo_code(
        self,
        partner: dict[str, Any],
        booking: dict[str, Any],
        spec: dict[str, Any],
        package: dict[str, Any] | None,
        user: str | None,
        departure_ts: float,
    ) -> dict[str, Any]:
        code = self._fresh_code()
        uid = self.ids.uuid("promo_code_uuid")
        ptype = package["package_type"] if package else (spec.get("package_type") or "data-limited")
        duration = package["duration_days"] if package else (spec.get("package_duration") or catalog.DEFAULT_DURATION.get(ptype))
        size = (package["size"] if package else spec.get("size")) if ptype != "unlimited" else None
        start = max(self.now(), departure_ts)
        record = {
            "promo_code": code,
            "uuid": uid,
            "type": "booking" if package else "booking_without_destination",
            "booking": booking["id"],
            "booking_id": booking.get("booking_id"),
            "partner": partner["id"],
            "claim_url": None if booking.get("email") else f"{CLAIM_BASE}/{partner['slug']}?uuid={uid}",
            "deep_link_url": f"{DEEP_LINK_BASE}?promoCode={code}",
            "package_id": package["id"] if package else None,
            "package_size": size,
            "destination": self.catalog.display_name(package["destination"]) if package else None,
            "destination_code": package["destination"] if package else None,
            "iso3": package["iso3"] if package else None,
            "package_type": ptype,
            "package_duration": duration,
            "external_user_id": user,
            "valid_from": self.now(),
            "valid_to": start + PROMO_VALIDITY_DAYS * DAY,
            "claimed_at": None,
            "claim_email": None,
            "redeemed_at": None,
            "cancelled_at": None,
            "queue": None,
            "esim": None,
        }
        self.promo_codes.put(code, record)
        self._promo_by_uuid[uid] = code
        return record

    def _fresh_code(self) -> str:
        while True:
            digest = self.ids.digest("promo_code")
            code = "".join(PROMO_ALPHABET[b % len(PROMO_ALPHABET)] for b in digest[:9])
            if code not in self.promo_codes:
                return code

    def _new_queue_entry(self, booking: dict[str, Any], code: dict[str, Any], user: str) -> dict[str, Any]:
        uid = self.ids.uuid("package_queue")
        record = {
            "uuid": uid,
            "partner": booking["partner"],
            "booking": booking["id"],
            "booking_id": booking.get("booking_id"),
            "external_user_id": user,
            "esim_type": "universal",
            "package_id": code["package_id"],
            "package_specification": {
                "size": code["package_size"],
                "iso3": code["iso3"],
                "destination": code["destination"],
                "package_type": code["package_type"],
                "package_duration": code["package_duration"],
            },
            "origin": "booking",
            "status": "queued",
            "redeemed_at": None,
            "declined_at": None,
            "created_at": self.now(),
            "promo_code": code["promo_code"],
        }
        self.queues.put(uid, record)
        self.promo_codes.put(code["promo_code"], {**code, "queue": uid})
        return record

    def claim_promo_code(self, uuid: str, email: str) -> dict[str, Any]:
        code = self.promo_codes.get(self._promo_by_uuid.get(uuid, ""))
        if code is None:
            raise NotFound(f"Promo code not found: no promo code has uuid {uuid}")
        if code["cancelled_at"] is not None:
            raise BadRequest("Promo code is no longer valid: its booking was cancelled")
        if code["redeemed_at"] is not None:
            raise BadRequest("Promo code has already been redeemed")
        if code["claimed_at"] is not None:
            raise BadRequest("Promo code has already been claimed")
        updated = {**code, "claimed_at": self.now(), "claim_email": email}
        self.promo_codes.put(code["promo_code"], updated)
        self.log("promo_code.claimed", code["partner"], booking=code["booking"], promo_code=code["promo_code"], email=email)
        return updated

    def promo_code_for(self, partner: dict[str, Any] | None, code: str) -> dict[str, Any]:
        record = self.promo_codes.get(code)
        if record is None or (partner is not None and record["partner"] != partner["id"]):
            raise NotFound(f"Promo code not found: {code}")
        return record

    # -- read ---------------------------------------------------------------------------------
    def booking_for(self, partner: dict[str, Any], booking_id: str) -> dict[str, Any]:
        booking = self.bookings.get(booking_id)
        if booking is None or booking["partner"] != partner["id"]:
            raise NotFound(f"Booking not found: {booking_id}")
        return booking

    def find_booking_by_external_id(
        self, partner: dict[str, Any], external_id: str, *, active_only: bool = False
    ) -> dict[str, Any] | None:
        found = None
        for bid in self._by_external.get((partner["id"], external_id), ()):  # creation order
            b = self.bookings.get(bid)
            if b is not None and b["partner"] == partner["id"] and b.get("booking_id") == external_id:
                if active_only and b["status"] == "CANCELLED":
                    continue
                if found is None or b["status"] != "CANCELLED" or found["status"] == "CANCELLED":
                    found = b
        return found

    def list_bookings(
        self, partner: dict[str, Any], page: int, per_page: int, booking_id: str | None
    ) -> tuple[list[dict[str, Any]], int]:
        """Newest first (by created_at, then the later booking first), from the partner's
        index: a page is a slice, not a scan and sort of every booking."""
        start = (page - 1) * per_page
        if booking_id is None:
            order = self._partner_order.get(partner["id"], [])
            return [self.bookings[bid] for _, _, bid in order[start : start + per_page]], len(order)
        if booking_id:
            rows = [self.bookings[bid] for bid in self._by_external.get((partner["id"], booking_id), ())]
        else:  # an empty bookingId matches bookings stored with an empty one (the index skips those)
            rows = [b for b in self.bookings.values() if b["partner"] == partner["id"] and b.get("booking_id") == booking_id]
        rows.reverse()  # creation order, newest first
        rows.sort(key=lambda b: b["created_at"], reverse=True)
        return rows[start : start + per_page], len(rows)

    # -- update and cancel --------------------------------------------------------------------
    def update_booking(self, booking: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        if booking["status"] == "CANCELLED":
            raise BadRequest("Booking cannot be updated: it is cancelled")
        changes = _pick(body, BOOKING_FIELDS)
        merged = {**booking, **changes}
        invalid: list[Violation] = []
        if "departure_date" in changes and changes["departure_date"] is None:
            invalid.append(Violation("departure_date", "departure_date cannot be removed"))
            merged["departure_date"] = booking["departure_date"]
        departure = self._check_dates(merged, invalid)
        if invalid:
            raise BadRequest("Validation failed", violations=invalid)
        assert departure is not None
        if "communication_options" in changes:
            comm = changes["communication_options"] or {}
            merged["communication_options"] = {
                "should_send_message": bool(comm.get("should_send_message", True)),
                "channels": list(comm.get("channels") or ["EMAIL"]),
            }
        if "first_name" in changes or "last_name" in changes:
            if "full_name" not in changes:
                merged["full_name"] = _join(merged.get("first_name"), merged.get("last_name"))
        if merged["departure_date"] != booking["departure_date"]:
            merged.update(departure_ts=departure.ts, departure_precise=departure.precise,
                          departure_past_after=departure.past_after, cutoff_sent_at=None,
                          about_to_depart_sent_at=None)  # fmt: skip
        merged["updated_at"] = self.now()
        self.bookings.put(booking["id"], merged)
        self.log("booking.updated", booking["partner"], booking=booking["id"], fields=sorted(changes))
        self.emitter.booking_changed(merged)
        return merged

    def cancel_reasons(self, booking: dict[str, Any]) -> list[str]:
        reasons = []
        if booking["status"] == "CANCELLED":
            return ["it is already cancelled"]
        codes = [self.promo_codes[c] for c in booking["promo_codes"]]
        if any(c["redeemed_at"] or c["claimed_at"] for c in codes):
            reasons.append("a promo code has already been claimed or redeemed")
        if booking.get("messages_sent_at") is not None:
            reasons.append("its promo codes have already been sent to the traveler")
        if self.now() >= booking["departure_past_after"]:
            reasons.append("the departure date is in the past")
        return reasons

    def cancel_booking(self, booking: dict[str, Any]) -> dict[str, Any]:
        reasons = self.cancel_reasons(booking)
        if reasons:
            raise BadRequest(
                f"Booking cannot be cancelled: {reasons[0]}",
                violations=[Violation("booking", r) for r in reasons],
            )
        now = self.now()
        for c in booking["promo_codes"]:
            self.promo_codes.put(c, {**self.promo_codes[c], "cancelled_at": now})
        for q in booking["package_queues"]:
            self.queues.put(q, {**self.queues[q], "status": "declined", "declined_at": now})
        record = {**booking, "status": "CANCELLED", "cancelled_at": now, "updated_at": now}
        self.bookings.put(booking["id"], record)
        self.log("booking.cancelled", booking["partner"], booking=booking["id"])
        return record

    # -- views --------------------------------------------------------------------------------
    def bookings_answer(
        self, partner: dict[str, Any], page: int, per_page: int, booking_id: str | None
    ) -> tuple[dict[str, Any], bytes, object]:
        """The list-bookings body, its bytes (what `dumps` gives) and an object standing for
        them. A page is a pure function of the query and the bookings, promo codes and
        queues (nothing else goes into a view): a repeated read while none of the three
        tables changed answers the body it built before."""
        versions = (self.bookings.version, self.promo_codes.version, self.queues.version)
        key = (partner["id"], type(page), page, type(per_page), per_page, booking_id)
        memo = self._booking_pages
        hit = memo.get(key)
        if hit is not None and hit[0] == versions:
            return hit[1], hit[2], hit[3]
        rows, total = self.list_bookings(partner, page, per_page, booking_id)
        body = {"success": True, "data": [self.booking_view(b) for b in rows], "meta": {"page": page, "perPage": per_page, "total": total}}
        encoded, stands_for = dumps(body), object()
        memo.put(key, (versions, body, encoded, stands_for))
        return body, encoded, stands_for

    def booking_view(self, b: dict[str, Any]) -> dict[str, Any]:
        """The API's view of a booking (callers must not change it: views are reused while
        the booking, its promo codes and its queues are the same records; rows are replaced
        on change, never edited in place)."""
        # promo codes and queues change rarely next to reads: while neither table has been
        # written since a view was built, its records are the same and the check is two
        # integers; after a write, record by record
        versions = (self.promo_codes.version, self.queues.version)
        hit = self._booking_views.get(b["id"])
        if hit is not None and hit[0] is b:
            if hit[4] == versions:
                return hit[3]
            if _same(self.promo_codes.get, b["promo_codes"], hit[1]) and _same(self.queues.get, b["package_queues"], hit[2]):
                self._booking_views[b["id"]] = (*hit[:4], versions)
                return hit[3]
        codes = [self.promo_codes[c] for c in b["promo_codes"]]
        queues = [self.queues[q] for q in b["package_queues"]]
        view = self._build_booking_view(b, codes, queues)
        self._booking_views.put(b["id"], (b, codes, queues, view, versions))
        return view

    def _build_booking_view(
        self, b: dict[str, Any], codes: list[dict[str, Any]], queues: list[dict[str, Any]]
    ) -> dict[str, Any]:
        view = {f: b.get(f) for f in BOOKING_FIELDS}
        view.update(
            id=b["id"],
            booking_id=b.get("booking_id"),
            status=b["status"],
            package_specifications=b["package_specifications"],
            promo_codes=[self.promo_view(c) for c in codes],
            package_queues=[self.queue_view(q) for q in queues],
            partner=b["partner"],
            esims=list(b["esims"]),
            created_at=iso(b["created_at"]),
            updated_at=iso(b["updated_at"]),
        )
        return view

    def promo_view(self, c: dict[str, Any]) -> dict[str, Any]:
        keys = ("promo_code", "uuid", "type", "booking", "booking_id", "claim_url", "deep_link_url", "package_id",
                "package_size", "destination", "iso3", "package_type", "package_duration", "external_user_id")  # fmt: skip
        view = {k: c[k] for k in keys}
        for k in ("valid_from", "valid_to", "claimed_at", "redeemed_at"):
            view[k] = iso(c[k])
        return view

    def queue_view(self, q: dict[str, Any]) -> dict[str, Any]:
        keys = ("uuid", "booking", "booking_id", "external_user_id", "esim_type", "package_id",
                "package_specification", "origin", "status")  # fmt: skip
        view = {k: q[k] for k in keys}
        for k in ("redeemed_at", "declined_at", "created_at"):
            view[k] = iso(q[k])
        return view


def _same(get: Any, keys: list[str], records: list[dict[str, Any]]) -> bool:
    """Whether the keys still hold the very records they held."""
    if len(keys) != len(records):
        return False
    for key, record in zip(keys, records, strict=True):
        if get(key) is not record:
            return False
    return True


def _date_field(fields: dict[str, Any], name: str, invalid: list[Violation]) -> Any:
    """The field's date-time when it is given and valid; None otherwise, a violation noted
    when it is given but not a date in range."""
    raw = fields.get(name)
    if raw is None:
        return None
    try:
        return _in_range(parse_iso(raw))
    except ValueError as exc:
        invalid.append(Violation(name, f"{name} {exc}"))
        return None


def _in_range(moment: Any) -> Any:
    if not EARLIEST <= moment.ts <= LATEST:
        raise ValueError("must be between 2000-01-01 and 2100-12-31")
    return moment


def _pick(data: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    """Joi's stripUnknown: keep only known fields."""
    return {k: data[k] for k in keys if k in data}


def _join(first: str | None, last: str | None) -> str | None:
    name = " ".join(p for p in (first, last) if p)
    return name or None
