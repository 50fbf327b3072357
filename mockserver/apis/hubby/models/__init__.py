"""Hubby's state and rules, no HTTP, assembled from one mixin per area.

`HubbyBackend` owns the tables and indexes and mixes in the rules: partners, the event log
and scenario rows (`partners`), bookings and promo codes (`bookings`), package selection
(`packages`), eSIMs and top-ups (`esims`), the traveler's web app and native views
(`traveler`). Each mixin subclasses the `state.HubbyState` Protocol, so mypy checks it alone.

Every record is a JSON-able dict in a `hubby.<name>` table and every write goes through
`table.put`, so reset, snapshot/restore and SQLite persistence see it. Records keep clock
seconds (floats); the API views render them as ISO 8601 UTC strings.

Tables:
  hubby.partners        id -> {id, name, slug, api_key, secret, is_active, webhook_url,
                               webhook_api_key, cutoff_days, about_to_depart_hours, created_at}
  hubby.packages        id -> catalogue package (generated from the seed, extendable by scenarios)
  hubby.countries       iso2 -> {iso2, iso3, name, region}
  hubby.bookings        id -> booking (see bookings)
  hubby.promo_codes     code -> promo code
  hubby.package_queues  uuid -> package queue entry
  hubby.esims           iccid -> eSIM with its packages (see esims)
  hubby.redirect_tokens token -> {token, partner, external_user_id, email, created_at, expires_at, used_at}
  hubby.events          seq -> a state change, and the webhook message it produced if any
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ....kernel.ids import Ids
from ....kernel.memo import BoundedDict
from ....scenarios import ScenarioError
from .. import catalog
from ..catalog import Catalog
from ..webhooks import HubbyWebhooks
from .bookings import BOOKING_PAGES, BOOKING_VIEW_CACHE, BookingsMixin
from .esims import EsimsMixin
from .packages import PackagesMixin
from .partners import SANDBOX_PARTNER_ID, PartnersMixin
from .traveler import TravelerMixin

if TYPE_CHECKING:
    from ....kernel.runtime import Runtime
    from ....kernel.spec import Schema, Spec


class HubbyBackend(PartnersMixin, BookingsMixin, PackagesMixin, EsimsMixin, TravelerMixin):
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
        self.emitter = HubbyWebhooks(self)
        self.catalog = Catalog([], [])
        self._by_api_key: dict[str, str] = {}
        self._promo_by_uuid: dict[str, str] = {}
        self._by_external: dict[tuple[str, str], list[str]] = {}  # (partner, booking_id) -> ids
        # partner -> its bookings newest first, as (-created_at, -position, id): models/bookings.py
        self._partner_order: dict[str, list[tuple[float, int, str]]] = {}
        self._booking_views: BoundedDict[str, tuple] = BoundedDict(BOOKING_VIEW_CACHE)  # id -> (record, codes, queues, view, versions): models/bookings.py
        self._booking_pages: BoundedDict[tuple, tuple] = BoundedDict(BOOKING_PAGES)  # list-bookings answers by query: models/bookings.py
        self._booking_schema: Schema | None = None
        self.seeding = False  # while True, state changes are logged but no webhook is sent

    # -- clock ------------------------------------------------------------------------------
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
        self.emitter.reschedule_all()

    def reload(self, tables: set[str]) -> None:
        """After a reset put a few rows back: the catalog only when it changed (it is the
        bulk of the state); the small indexes and the timers always."""
        if tables & {"hubby.countries", "hubby.packages"}:
            self._rebuild_catalog()
        self._rebuild_indexes()
        self.emitter.reschedule_all()

    def booking_schema(self) -> Schema | None:
        """The spec's BookingCreateRequest, which scenario bookings are checked against
        (compiled on first use; None when the backend was built without the spec)."""
        if self._booking_schema is None and self.spec is not None:
            self._booking_schema = self.spec.component_schema("BookingCreateRequest")
        return self._booking_schema

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


__all__ = ["SANDBOX_PARTNER_ID", "HubbyBackend", "ScenarioError"]
