"""Hubby's state and rules, no HTTP: partners, the catalogue, scenario loading, and the
backend that ties the rules to the store: bookings and promo codes (models_bookings.py),
package selection (models_packages.py), eSIMs and top-ups (models_esims.py), the
traveler's web app and native views (models_traveler.py).

Every record is a JSON-able dict in a `hubby.<name>` table and every write goes through
`table.put`, so reset, snapshot/restore and SQLite persistence see it. Records keep clock
seconds (floats); the API views render them as ISO 8601 UTC strings.

Tables:
  hubby.partners        id -> {id, name, slug, api_key, secret, is_active, webhook_url,
                               webhook_api_key, cutoff_days, about_to_depart_hours, created_at}
  hubby.packages        id -> catalogue package (generated from the seed, extendable by scenarios)
  hubby.countries       iso2 -> {iso2, iso3, name, region}
  hubby.bookings        id -> booking (see models_bookings)
  hubby.promo_codes     code -> promo code
  hubby.package_queues  uuid -> package queue entry
  hubby.esims           iccid -> eSIM with its packages (see models_esims)
  hubby.redirect_tokens token -> {token, partner, external_user_id, email, created_at, expires_at, used_at}
  hubby.events          seq -> a state change, and the webhook message it produced if any
"""

from __future__ import annotations

import hashlib
import re
from typing import TYPE_CHECKING, Any

from ...kernel.errors import ApiError
from ...kernel.ids import Ids
from ...scenarios import ScenarioError
from . import catalog
from .catalog import Catalog
from .models_bookings import BookingRules
from .models_esims import EsimRules
from .models_packages import PackageRules
from .models_traveler import TravelerRules
from .timeutil import iso, relative_departure
from .webhooks import HubbyWebhooks

if TYPE_CHECKING:
    from ...kernel.runtime import Runtime
    from ...kernel.spec import Spec

SANDBOX_PARTNER_ID = "partner_sandbox"
DEFAULT_CUTOFF_DAYS = 7
DEFAULT_ABOUT_TO_DEPART_HOURS = 2


class HubbyBackend(BookingRules, PackageRules, EsimRules, TravelerRules):
    name = "hubby"

    def __init__(self, runtime: Runtime, spec: Spec | None = None) -> None:
        self.runtime = runtime
        self.spec = spec
        store = runtime.store
        self.partners = store.table("hubby.partners")
        self.packages = store.table("hubby.packages")
        self.countries = store.table("hubby.countries")
        self.bookings = store.table("hubby.bookings")
        self.promo_codes = store.table("hubby.promo_codes")
        self.queues = store.table("hubby.package_queues")
        self.esims = store.table("hubby.esims")
        self.redirect_tokens = store.table("hubby.redirect_tokens")
        self.events = store.table("hubby.events")
        self.ids = Ids(runtime.settings.seed, store, "hubby")
        self.webhooks = HubbyWebhooks(self)
        self.catalog = Catalog([], [])
        self._by_api_key: dict[str, str] = {}
        self._promo_by_uuid: dict[str, str] = {}
        self._by_external: dict[tuple[str, str], list[str]] = {}  # (partner, booking_id) -> ids
        # partner -> its bookings newest first, as (-created_at, -position, id): models_bookings
        self._partner_order: dict[str, list[tuple[float, int, str]]] = {}
        self._booking_schema: Any = None
        self._booking_views: dict[str, tuple] = {}  # id -> (record, its codes and queues, view): models_bookings
        self.seeding = False  # while True, state changes are logged but no webhook is sent

    # -- clock ------------------------------------------------------------------------------
    @property
    def now(self) -> float:
        return self.runtime.clock.now()

    # -- Backend protocol ---------------------------------------------------------------------
    def seed(self, scenario: dict[str, Any]) -> None:
        scenario = scenario or {}
        if not isinstance(scenario, dict):
            raise ScenarioError("the hubby section of a scenario must be a mapping")
        unknown = set(scenario) - {"partners", "packages", "bookings", "description"}
        if unknown:
            raise ScenarioError(f"hubby: unknown keys {sorted(unknown)}; use partners, packages, bookings")
        if not self.packages:
            countries, packages = catalog.generate(self.runtime.settings.seed)
            for c in countries:
                self.countries.put(c["iso2"], c)
            for p in packages:
                self.packages.put(p["id"], p)
            for p in scenario.get("packages") or []:
                self._seed_package(p)
        self._rebuild_catalog()
        if not self.partners:
            s = self.runtime.settings
            self.add_partner({"id": SANDBOX_PARTNER_ID, "name": "Sandbox Partner", "api_key": s.hubby_api_key, "secret": s.hubby_secret})
            for p in scenario.get("partners") or []:
                if not isinstance(p, dict):
                    raise ScenarioError(f"hubby.partners: each partner is a mapping, got {p!r}")
                self.add_partner(p)
        self._rebuild_indexes()
        if not self.bookings:
            self.seeding = True
            try:
                for n, b in enumerate(scenario.get("bookings") or []):
                    self._seed_booking(n, b)
            finally:
                self.seeding = False

    def loaded(self) -> None:
        self._rebuild_catalog()
        self._rebuild_indexes()
        self.webhooks.reschedule_all()

    def reload(self, tables: set[str]) -> None:
        """After a reset put a few rows back: the catalog only when it changed (it is the
        bulk of the state); the small indexes and the timers always."""
        if tables & {"hubby.countries", "hubby.packages"}:
            self._rebuild_catalog()
        self._rebuild_indexes()
        self.webhooks.reschedule_all()

    def _rebuild_catalog(self) -> None:
        self.catalog = Catalog(list(self.countries.values()), list(self.packages.values()))

    def _rebuild_indexes(self) -> None:
        self._by_api_key = {p["api_key"]: pid for pid, p in self.partners.items()}
        self._promo_by_uuid = {p["uuid"]: code for code, p in self.promo_codes.items()}
        self._by_external = {}
        self._partner_order = {}
        for position, (bid, b) in enumerate(self.bookings.items()):
            if b.get("booking_id"):
                self._by_external.setdefault((b["partner"], b["booking_id"]), []).append(bid)
            self._partner_order.setdefault(b["partner"], []).append((-b["created_at"], -position, bid))
        for order in self._partner_order.values():
            order.sort()

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
            "created_at": self.now,
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
        entry = {"seq": seq, "at": self.now, "time": iso(self.now), "type": kind, "partner": partner,
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
                self.now, rel, offset=str(b.pop("departure_offset", "+00:00")), date_only=bool(b.pop("date_only", False))
            )
        ret = b.pop("return_in", None)
        if ret is not None:
            b["return_date"] = relative_departure(
                self.now, ret, offset=str(b.pop("return_offset", "+00:00")), date_only=bool(b.pop("date_only_return", False))
            )
        if self.spec is not None:
            if self._booking_schema is None:
                self._booking_schema = self.spec.component_schema("BookingCreateRequest")
            problems = self._booking_schema.errors(b, where)
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


__all__ = ["HubbyBackend", "SANDBOX_PARTNER_ID", "ScenarioError"]
