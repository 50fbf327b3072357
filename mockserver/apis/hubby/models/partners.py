"""Hubby's partners (`hubby.partners`), the state-change log (`hubby.events`), and the
scenario rows (`packages`, `bookings`) that `HubbyBackend.seed` loads through the rules.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from ....kernel.errors import ApiError
from ....scenarios import ScenarioError
from .. import catalog
from ..timeutil import iso, relative_departure
from .state import HubbyState

SANDBOX_PARTNER_ID = "partner_sandbox"
DEFAULT_CUTOFF_DAYS = 7
DEFAULT_ABOUT_TO_DEPART_HOURS = 2


class PartnersMixin(HubbyState):
    """Partners, the state-change log, the web app's key, and loading a scenario's rows."""

    # -- partners -----------------------------------------------------------------------------
    def add_partner(self, data: dict[str, Any]) -> dict[str, Any]:
        name = data.get("name")
        name = name.strip() if isinstance(name, str) else ""
        if not name:
            raise ScenarioError("a partner needs a name")
        slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "partner"
        pid = str(data.get("id") or f"partner_{slug.replace('-', '_')}")
        if pid in self.partners:
            raise ScenarioError(f"partner id {pid!r} exists already (give another name or id)")
        api_key = str(data.get("api_key") or f"hk_{self.ids.hex('partner_key', 24)}")
        if any(p["api_key"] == api_key for p in self.partners.values()):
            raise ScenarioError(f"API key {api_key!r} belongs to another partner already")
        for key, default in (("cutoff_days", DEFAULT_CUTOFF_DAYS), ("about_to_depart_hours", DEFAULT_ABOUT_TO_DEPART_HOURS)):
            value = data.get(key, default)
            if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
                raise ScenarioError(f"partner {name}: {key} must be a positive number, got {value!r}")
        for key in ("api_key", "secret", "webhook_url", "webhook_api_key"):
            if data.get(key) is not None and not isinstance(data[key], str):
                raise ScenarioError(f"partner {name}: {key} must be a string")
        if not isinstance(data.get("is_active", True), bool):
            raise ScenarioError(f"partner {name}: is_active must be true or false")
        record = {
            "id": pid,
            "name": name,
            "slug": slug,
            "api_key": api_key,
            "secret": str(data.get("secret") or f"hs_{self.ids.hex('partner_secret', 40)}"),
            "is_active": bool(data.get("is_active", True)),
            "webhook_url": data.get("webhook_url"),
            "webhook_api_key": data.get("webhook_api_key"),
            "cutoff_days": float(data.get("cutoff_days", DEFAULT_CUTOFF_DAYS)),
            "about_to_depart_hours": float(data.get("about_to_depart_hours", DEFAULT_ABOUT_TO_DEPART_HOURS)),
            "created_at": self.now(),
        }
        self.partners.put(pid, record)
        self._by_api_key[api_key] = pid
        return record

    def partner_by_key(self, api_key: str) -> dict[str, Any] | None:
        pid = self._by_api_key.get(api_key)
        return self.partners.get(pid) if pid else None

    def partner_ref(self, ref: str | None) -> dict[str, Any] | None:
        """A partner by id, API key or name; the sandbox partner for None."""
        if ref is None:
            return self.partners.get(SANDBOX_PARTNER_ID)
        return (
            self.partners.get(ref)
            or self.partner_by_key(ref)
            or next((p for p in self.partners.values() if p["name"] == ref), None)
        )

    def set_webhook(
        self, partner: dict[str, Any], url: str | None, webhook_api_key: str | None = None, scenario_events: bool = True
    ) -> dict[str, Any]:
        """`scenario_events=False`: events about the scenario's own bookings (reminders that fire
        when a test moves the clock) are logged but not sent to this URL."""
        record = {**partner, "webhook_url": url, "webhook_api_key": webhook_api_key if url else None,
                  "scenario_events": scenario_events}  # fmt: skip
        self.partners.put(partner["id"], record)
        return record

    # -- the state-change log -------------------------------------------------------------------
    def log(self, kind: str, partner: str | None, *, booking: str | None = None, **details: Any) -> dict[str, Any]:
        seq = self.ids.number("event")
        entry = {"seq": seq, "at": self.now(), "time": iso(self.now()), "type": kind, "partner": partner,
                 "booking": booking, "details": details, "webhook_message": None}  # fmt: skip
        self.events.put(f"{seq:09d}", entry)
        return entry

    def set_log_message(self, entry: dict[str, Any], message_id: str | None, note: str | None = None) -> None:
        key = f"{entry['seq']:09d}"
        self.events.put(key, {**self.events[key], "webhook_message": message_id, "webhook_note": note})

    # -- secrets --------------------------------------------------------------------------------
    def webapp_key(self) -> str:
        return hashlib.sha256(self.runtime.secret + b":hubby:webapp-session").hexdigest()

    # -- scenario loading -----------------------------------------------------------------------
    def _seed_package(self, p: Any) -> None:
        if not isinstance(p, dict) or not p.get("id"):
            raise ScenarioError(f"hubby.packages: each package needs an id, got {p!r}")
        code = p.get("destination")
        resolved = self.catalog.resolve_code(code) if code else None
        if resolved is None:
            self._rebuild_catalog()
            resolved = self.catalog.resolve_code(code) if code else None
        if resolved is None:
            raise ScenarioError(f"hubby.packages[{p['id']}]: unknown destination {code!r}")
        canonical, iso3s = resolved
        size = p.get("size")
        package_type = p.get("package_type", "data-limited")
        if package_type not in catalog.PACKAGE_TYPES:
            raise ScenarioError(f"hubby.packages[{p['id']}]: package_type must be one of {catalog.PACKAGE_TYPES}")
        record = {
            "id": p["id"],
            "name": p.get("name") or f"{self.catalog.display_name(canonical)} {size or package_type}",
            "destination": canonical,
            "destinations": iso3s,
            "iso3": iso3s[0] if len(iso3s) == 1 and canonical not in catalog.REGIONS else None,
            "package_type": package_type,
            "size": None if package_type == "unlimited" else size,
            "data_bytes": catalog.size_bytes(size) if size and package_type != "unlimited" else None,
            "duration_days": int(p.get("duration_days") or catalog.DEFAULT_DURATION.get(package_type, 7)),
            "coverage_label": p.get("coverage_label") or self.catalog.display_name(canonical),
            "price": {"amount": float(p.get("price", 9.99)), "currency": p.get("currency", "EUR")},
        }
        self.packages.put(record["id"], record)

    def _seed_booking(self, n: int, raw: Any) -> None:
        where = f"hubby.bookings[{n}]"
        if not isinstance(raw, dict):
            raise ScenarioError(f"{where}: a booking is a mapping")
        b = dict(raw)
        partner = self.partner_ref(b.pop("partner", None))
        if partner is None:
            raise ScenarioError(f"{where}: unknown partner {raw.get('partner')!r}")
        state = b.pop("state", "created")
        usage = b.pop("usage_percent", None)
        rel = b.pop("departure_in", None)
        if rel is not None:
            b["departure_date"] = relative_departure(
                self.now(), rel, offset=str(b.pop("departure_offset", "+00:00")), date_only=bool(b.pop("date_only", False))
            )
        ret = b.pop("return_in", None)
        if ret is not None:
            b["return_date"] = relative_departure(
                self.now(), ret, offset=str(b.pop("return_offset", "+00:00")), date_only=bool(b.pop("date_only_return", False))
            )
        schema = self.booking_schema()
        if schema is not None:
            problems = schema.errors(b, where)
            if problems:
                raise ScenarioError("; ".join(str(v) for v in problems))
        try:
            booking = self.create_booking(partner, b)
        except ApiError as err:
            raise ScenarioError(f"{where}: {err.detailed_message()}") from None
        self._seed_lifecycle(where, booking, state, usage)

    def _seed_lifecycle(self, where: str, booking: dict[str, Any], state: str, usage: Any) -> None:
        steps = ["created", "claimed", "redeemed", "installed", "active", "removed", "cancelled"]
        if state not in steps:
            raise ScenarioError(f"{where}: state must be one of {steps}")
        if state == "cancelled":
            self.cancel_booking(booking)
            return
        if state == "claimed":
            for code in booking["promo_codes"]:
                self.claim_promo_code(self.promo_codes[code]["uuid"], "traveler@example.com")
            return
        if state == "created":
            return
        first = self.promo_codes[booking["promo_codes"][0]]
        result = self.redeem_promo_code(first["promo_code"], first.get("external_user_id"), None)
        iccid = result["esim"]
        if state in ("installed", "active", "removed"):
            self.install_esim(iccid)
        if state == "active":
            self.activate_package(iccid)
            if usage:
                self.consume(iccid, percent=float(usage))
        if state == "removed":
            self.remove_esim(iccid)
