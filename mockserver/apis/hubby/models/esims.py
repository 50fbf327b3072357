"""eSIMs, their packages and data use, and top-ups (no HTTP).

An eSIM record (table hubby.esims, keyed by ICCID):
  {iccid, partner, status (not_installed|installed|removed), smdp_address, matching_id,
   imsi, apn, external_user_id, booking, booking_id, esim_type (classic|universal),
   packages: [entry, ...], status_updated_at, created_at}
A package entry on it:
  {entry_id, package_id, name, destination (ISO2 or region code), size, package_type,
   status (queued|active|depleted|expired), total_bytes, used_bytes, duration_days,
   activated_at, expires_at, booking, booking_id, promo_code, external_user_id,
   origin (booking|topup), thresholds (usage events already sent), queued_at}

Universal eSIM (a promo code with an external_user_id): one ICCID per traveler of a
partner, packages queued onto it. Classic (no external_user_id): one eSIM per promo code.
"""

from __future__ import annotations

import math
from typing import Any

from ....kernel.errors import BadRequest, Conflict, NotFound
from ....kernel.spec import Violation
from ..timeutil import DAY, iso
from .state import HubbyState

SMDP_ADDRESS = "smdp.hubbyesim.example"
APN = "hubby"
DATA_TYPES = ("data-limited", "starter")  # usage thresholds follow data; the others follow time
THRESHOLDS = (20, 50, 80)


class StateConflict(Conflict):
    """A simulated step that the current state does not allow (409 on the control plane)."""


class EsimsMixin(HubbyState):
    """Mixed into HubbyBackend: eSIMs, packages on them, tokens and traveler views."""

    # -- redemption ---------------------------------------------------------------------------
    def redeem_promo_code(
        self, code: str, external_user_id: str | None, destination: str | None
    ) -> dict[str, Any]:
        """A traveler redeems a code: its package lands (queued) on an eSIM."""
        promo = self.promo_codes.get(code)
        if promo is None:
            raise NotFound(f"Promo code not found: {code}")
        if promo["cancelled_at"] is not None:
            raise StateConflict(f"promo code {code} belongs to a cancelled booking")
        if promo["redeemed_at"] is not None:
            raise StateConflict(f"promo code {code} was already redeemed at {iso(promo['redeemed_at'])}")
        package = self.catalog.by_id.get(promo["package_id"]) if promo["package_id"] else None
        if promo["type"] == "booking_without_destination":
            package = self._pick_for_destinationless(promo, destination)
        if package is None:
            raise StateConflict(f"package {promo['package_id']} of promo code {code} is no longer in the catalogue")
        user = promo["external_user_id"] or external_user_id
        booking = self.bookings[promo["booking"]]
        esim = self._esim_for(booking, user, promo)
        entry = self._entry(package, booking, promo["promo_code"], user, "booking")
        esim = {**esim, "packages": [*esim["packages"], entry]}
        self.esims.put(esim["iccid"], esim)
        now = self.now()
        promo = {**promo, "redeemed_at": now, "esim": esim["iccid"], "external_user_id": user}
        if promo["type"] == "booking_without_destination":
            promo.update(package_id=package["id"], package_size=package["size"], iso3=package["iso3"],
                         destination=self.catalog.display_name(package["destination"]),
                         destination_code=package["destination"], package_duration=package["duration_days"])  # fmt: skip
        self.promo_codes.put(code, promo)
        if promo.get("queue"):
            queue = self.queues[promo["queue"]]
            self.queues.put(queue["uuid"], {**queue, "status": "redeemed", "redeemed_at": now, "package_id": package["id"]})
        if esim["iccid"] not in booking["esims"]:
            self.bookings.put(booking["id"], {**booking, "esims": [*booking["esims"], esim["iccid"]], "updated_at": now})
        self.emitter.promo_code_redeemed(promo)
        return {"promo_code": code, "esim": esim["iccid"], "package": entry["entry_id"]}

    def _pick_for_destinationless(self, promo: dict[str, Any], destination: str | None) -> dict[str, Any]:
        if not destination:
            raise StateConflict(
                f"promo code {promo['promo_code']} has no destination: the traveler picks one when redeeming "
                "(send {\"destination\": \"GR\"})"
            )
        resolved = self.catalog.resolve_code(destination)
        if resolved is None:
            raise StateConflict(f"destination {destination} is not a known country or region code")
        size = promo["package_size"]
        packages, uncovered = self._cover(set(resolved[1]), promo["package_type"], size, promo["package_duration"], None)
        if uncovered or len(packages) != 1:
            raise StateConflict(f"no single {promo['package_type']} package {size or ''} covers {destination}")
        return packages[0]

    def _esim_for(self, booking: dict[str, Any], user: str | None, promo: dict[str, Any]) -> dict[str, Any]:
        if user:
            for esim in self.esims.values():
                if esim["partner"] == booking["partner"] and esim["external_user_id"] == user and esim["esim_type"] == "universal":
                    return esim
        esim = self._new_esim(booking, user, "universal" if user else "classic")
        self.log("esim.created", booking["partner"], booking=booking["id"], iccid=esim["iccid"], promo_code=promo["promo_code"])
        return esim

    def _new_esim(self, booking: dict[str, Any], user: str | None, esim_type: str) -> dict[str, Any]:
        rng = self.ids.rng("esim")
        while True:
            body = "893107" + "".join(str(rng.randrange(10)) for _ in range(12))
            iccid = body + str(luhn_check_digit(body))
            if iccid not in self.esims:
                break
        matching = "-".join("".join(rng.choice("0123456789ABCDEF") for _ in range(n)) for n in (2, 6, 6))
        record = {
            "iccid": iccid,
            "partner": booking["partner"],
            "status": "not_installed",
            "smdp_address": SMDP_ADDRESS,
            "matching_id": matching,
            "imsi": "204080" + "".join(str(rng.randrange(10)) for _ in range(9)),
            "apn": APN,
            "external_user_id": user,
            "booking": booking["id"],
            "booking_id": booking.get("booking_id"),
            "esim_type": esim_type,
            "packages": [],
            "status_updated_at": None,
            "created_at": self.now(),
        }
        self.esims.put(iccid, record)
        return record

    def _entry(
        self, package: dict[str, Any], booking: dict[str, Any] | None, code: str | None, user: str | None, origin: str
    ) -> dict[str, Any]:
        return {
            "entry_id": self.ids.uuid("esim_package"),
            "package_id": package["id"],
            "name": package["name"],
            "destination": package["destination"],
            "size": package["size"],
            "package_type": package["package_type"],
            "status": "queued",
            "total_bytes": package["data_bytes"],
            "used_bytes": 0,
            "duration_days": package["duration_days"],
            "activated_at": None,
            "expires_at": None,
            "booking": booking["id"] if booking else None,
            "booking_id": booking.get("booking_id") if booking else None,
            "promo_code": code,
            "external_user_id": user,
            "origin": origin,
            "thresholds": [],
            "queued_at": self.now(),
        }

    # -- the traveler's device ------------------------------------------------------------------
    def esim(self, iccid: str, partner: dict[str, Any] | None = None) -> dict[str, Any]:
        esim = self.esims.get(iccid)
        if esim is None or (partner is not None and esim["partner"] != partner["id"]):
            raise NotFound(f"eSIM not found: {iccid}")
        return esim

    def install_esim(self, iccid: str) -> dict[str, Any]:
        esim = self.esim(iccid)
        if esim["status"] == "installed":
            raise StateConflict(f"eSIM {iccid} is already installed")
        esim = {**esim, "status": "installed", "status_updated_at": self.now()}
        self.esims.put(iccid, esim)
        self.emitter.esim_event("esim.installed", esim)
        return esim

    def remove_esim(self, iccid: str) -> dict[str, Any]:
        esim = self.esim(iccid)
        if esim["status"] != "installed":
            raise StateConflict(f"eSIM {iccid} is not installed (status {esim['status']})")
        esim = {**esim, "status": "removed", "status_updated_at": self.now()}
        self.esims.put(iccid, esim)
        self.emitter.esim_event("esim.removed", esim)
        return esim

    def activate_package(self, iccid: str, package_id: str | None = None) -> dict[str, Any]:
        """The traveler arrives and attaches to a network: a queued package starts."""
        esim = self.esim(iccid)
        if esim["status"] != "installed":
            raise StateConflict(f"eSIM {iccid} is not installed (status {esim['status']}): install it before a package can activate")
        if any(p["status"] == "active" for p in esim["packages"]):
            active = next(p for p in esim["packages"] if p["status"] == "active")
            raise StateConflict(f"eSIM {iccid} already has an active package ({active['package_id']}); use it up or let it expire first")
        queued = [p for p in esim["packages"] if p["status"] == "queued" and (package_id is None or p["package_id"] == package_id)]
        if not queued:
            raise StateConflict(f"eSIM {iccid} has no queued package" + (f" {package_id}" if package_id else ""))
        return self._activate(esim, queued[0]["entry_id"])

    def _activate(self, esim: dict[str, Any], entry_id: str) -> dict[str, Any]:
        now = self.now()
        entry = _find(esim, entry_id)
        entry = {**entry, "status": "active", "activated_at": now, "expires_at": now + entry["duration_days"] * DAY}
        esim = _replace_entry(esim, entry)
        self.esims.put(esim["iccid"], esim)
        self.emitter.package_activated(esim, entry)
        return entry

    def consume(
        self, iccid: str, *, nbytes: int | None = None, percent: float | None = None, package_id: str | None = None
    ) -> dict[str, Any]:
        """The traveler uses data on the active package (or the one named)."""
        esim = self.esim(iccid)
        candidates = [p for p in esim["packages"] if p["status"] == "active" and (package_id is None or p["package_id"] == package_id)]
        if not candidates:
            raise StateConflict(f"eSIM {iccid} has no active package" + (f" {package_id}" if package_id else "") + ": activate one first")
        entry = candidates[0]
        total = entry["total_bytes"]
        if percent is not None:
            if total is None:
                raise StateConflict(f"package {entry['package_id']} is unlimited: consume {{\"bytes\": N}} instead of a percentage")
            nbytes = int(math.ceil(total * percent / 100.0))
        used = entry["used_bytes"] + int(nbytes or 0)
        if total is not None:
            used = min(used, total)
        entry = {**entry, "used_bytes": used}
        esim = _replace_entry(esim, entry)
        self.esims.put(iccid, esim)
        self.log("package.data_used", esim["partner"], booking=entry["booking"], iccid=iccid,
                 package_id=entry["package_id"], used_bytes=used, added_bytes=int(nbytes or 0))  # fmt: skip
        if entry["package_type"] in DATA_TYPES and total:
            self.emitter.data_thresholds(esim, entry)
        if total is not None and used >= total:
            self._end_package(iccid, entry["entry_id"], "depleted")
        return _find(self.esims[iccid], entry["entry_id"])

    def _end_package(self, iccid: str, entry_id: str, status: str) -> None:
        esim = self.esims[iccid]
        entry = _find(esim, entry_id)
        if entry["status"] != "active":
            return
        entry = {**entry, "status": status}
        esim = _replace_entry(esim, entry)
        self.esims.put(iccid, esim)
        self.log(f"package.{status}", esim["partner"], booking=entry["booking"], iccid=iccid, package_id=entry["package_id"])
        topups = [p for p in esim["packages"] if p["status"] == "queued" and p["origin"] == "topup"]
        if topups and esim["status"] == "installed":
            self._activate(esim, topups[0]["entry_id"])

    def expire_due(self, iccid: str, entry_id: str) -> None:
        """Timer: a package reached expires_at (re-checked: resets and restores leave stale timers)."""
        esim = self.esims.get(iccid)
        if esim is None:
            return
        entry = next((p for p in esim["packages"] if p["entry_id"] == entry_id), None)
        if entry is None or entry["status"] != "active" or entry["expires_at"] is None or self.now() < entry["expires_at"] - 1e-6:
            return
        self._end_package(iccid, entry_id, "expired")

    # -- top-ups --------------------------------------------------------------------------------
    def top_up(self, partner: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        esim = self.esim(body["iccid"], partner)
        problems: list[Violation] = []
        package = None
        if body.get("package_id"):
            package = self.catalog.by_id.get(body["package_id"])
            if package is None:
                raise NotFound(f"Package not found: {body['package_id']}")
            if package["package_type"] != "data-limited":
                problems.append(Violation("package_id", f"top-ups are always data-limited; {package['id']} is {package['package_type']}"))
        else:
            spec = body.get("package_specification") or {}
            ptype = spec.get("package_type") or "data-limited"
            if ptype != "data-limited":
                problems.append(Violation("package_specification.package_type", f"top-ups are always data-limited, not {ptype}"))
            dest = spec.get("destination")
            if dest is None:
                dest = next((p["destination"] for p in esim["packages"]), None)
                if dest is None:
                    problems.append(Violation("package_specification.destination", "destination is required: the eSIM has no package to take it from"))
            if not problems:
                missing: list[Violation] = []
                resolved = self._resolve_spec(0, {**spec, "destination": dest, "package_type": "data-limited"}, None, problems, missing)
                if missing:
                    raise NotFound("Package not found", violations=[Violation(v.location.replace("package_specifications.0", "package_specification"), v.message) for v in missing])
                if len(resolved) > 1:
                    problems.append(Violation("package_specification.destination", "a top-up is one package: no single package covers all these destinations"))
                package = resolved[0] if len(resolved) == 1 else None
                if package is not None and package["package_type"] != "data-limited":
                    problems.append(Violation("package_specification.package_id", f"top-ups are always data-limited; {package['id']} is {package['package_type']}"))
            problems = [Violation(v.location.replace("package_specifications.0", "package_specification"), v.message) for v in problems]
        if problems or package is None:
            raise BadRequest("Validation failed", violations=problems)
        entry = self._entry(package, self.bookings.get(esim["booking"]), None, esim["external_user_id"], "topup")
        esim = {**esim, "packages": [*esim["packages"], entry]}
        self.esims.put(esim["iccid"], esim)
        self.log("topup.added", partner["id"], booking=esim["booking"], iccid=esim["iccid"], package_id=package["id"])
        if esim["status"] == "installed" and not any(p["status"] == "active" for p in esim["packages"]):
            self._activate(esim, entry["entry_id"])
        return self.esims[esim["iccid"]]

    # -- views ----------------------------------------------------------------------------------
    def esim_view(self, esim: dict[str, Any]) -> dict[str, Any]:
        live = [p for p in esim["packages"] if p["status"] in ("active", "queued")]
        unlimited = any(p["total_bytes"] is None for p in live)
        used = sum(p["used_bytes"] for p in live)
        total = None if unlimited else sum(p["total_bytes"] for p in live)
        label_from = next((p for p in esim["packages"] if p["status"] == "active"), None) or (esim["packages"] or [None])[0]
        return {
            "iccid": esim["iccid"],
            "status": esim["status"],
            "qr": f"LPA:1${esim['smdp_address']}${esim['matching_id']}",
            "imsi": esim["imsi"],
            "apn": esim["apn"],
            "total_data": total,
            "data_used": used,
            "data_left": None if total is None else max(0, total - used),
            "coverage_label": self.catalog.display_name(label_from["destination"]) if label_from else None,
            "external_user_id": esim["external_user_id"],
            "booking_id": esim["booking_id"],
            "packages": [_entry_view(p) for p in esim["packages"]],
            "status_updated_at": iso(esim["status_updated_at"]),
            "created_at": iso(esim["created_at"]),
        }

# -- helpers ----------------------------------------------------------------------------------
def luhn_check_digit(digits: str) -> int:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 0:  # these get doubled once the check digit is appended
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return (10 - total % 10) % 10


def luhn_valid(number: str) -> bool:
    return number.isdigit() and luhn_check_digit(number[:-1]) == int(number[-1])


def _find(esim: dict[str, Any], entry_id: str) -> dict[str, Any]:
    return next(p for p in esim["packages"] if p["entry_id"] == entry_id)


def _replace_entry(esim: dict[str, Any], entry: dict[str, Any]) -> dict[str, Any]:
    return {**esim, "packages": [entry if p["entry_id"] == entry["entry_id"] else p for p in esim["packages"]]}


def _entry_view(p: dict[str, Any]) -> dict[str, Any]:
    total = p["total_bytes"]
    return {
        "package_id": p["package_id"],
        "name": p["name"],
        "destination": p["destination"],
        "size": p["size"],
        "package_type": p["package_type"],
        "status": p["status"],
        "total_bytes": total,
        "used_bytes": p["used_bytes"],
        "remaining_bytes": None if total is None else max(0, total - p["used_bytes"]),
        "duration_days": p["duration_days"],
        "activated_at": iso(p["activated_at"]),
        "expires_at": iso(p["expires_at"]),
    }


__all__ = ["EsimsMixin", "StateConflict", "luhn_valid"]
