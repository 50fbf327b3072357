"""The state the Hubby mixins share, written down as a Protocol.

Each mixin (`partners`, `bookings`, `packages`, `esims`, `traveler`) subclasses `HubbyState`:
the tables, indexes and helpers `HubbyBackend.__init__` sets up, and the methods one mixin
calls on another. mypy checks each mixin alone, and checks that the backend, which mixes them
all in, provides every method declared here (one missing would make it abstract).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from ....kernel.ids import Ids
    from ....kernel.memo import BoundedDict
    from ....kernel.runtime import Runtime
    from ....kernel.spec import Schema, Spec, Violation
    from ....kernel.store import Table
    from ..catalog import Catalog
    from ..webhooks import HubbyWebhooks


class HubbyState(Protocol):
    """What every Hubby mixin may read."""

    runtime: Runtime
    spec: Spec | None
    ids: Ids
    partners: Table
    packages: Table
    countries: Table
    bookings: Table
    promo_codes: Table
    queues: Table
    esims: Table
    redirect_tokens: Table
    events: Table
    emitter: HubbyWebhooks
    catalog: Catalog
    seeding: bool
    _by_api_key: dict[str, str]
    _promo_by_uuid: dict[str, str]
    _by_external: dict[tuple[str, str], list[str]]
    _partner_order: dict[str, list[tuple[float, int, str]]]
    _booking_views: BoundedDict[str, tuple]
    _booking_pages: BoundedDict[tuple, tuple]

    def now(self) -> float: ...

    def _rebuild_catalog(self) -> None: ...

    def booking_schema(self) -> Schema | None: ...

    # partners (read by bookings, esims, traveler)
    def log(self, kind: str, partner: str | None, *, booking: str | None = None, **details: Any) -> dict[str, Any]: ...

    def webapp_key(self) -> str: ...

    # bookings (read by partners' scenario loading and traveler)
    def create_booking(self, partner: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]: ...

    def cancel_booking(self, booking: dict[str, Any]) -> dict[str, Any]: ...

    def claim_promo_code(self, uuid: str, email: str) -> dict[str, Any]: ...

    def queue_view(self, q: dict[str, Any]) -> dict[str, Any]: ...

    # packages (read by bookings and esims)
    def _resolve_spec(
        self, i: int, spec: dict[str, Any], trip_days: int | None, invalid: list[Violation], missing: list[Violation]
    ) -> list[dict[str, Any] | None]: ...

    def _cover(
        self, need: set[str], ptype: str, size: str | None, duration: int | None, trip_days: int | None
    ) -> tuple[list[dict[str, Any]], set[str]]: ...

    # eSIMs (read by partners' scenario loading and traveler)
    def redeem_promo_code(self, code: str, external_user_id: str | None, destination: str | None) -> dict[str, Any]: ...

    def install_esim(self, iccid: str) -> dict[str, Any]: ...

    def remove_esim(self, iccid: str) -> dict[str, Any]: ...

    def activate_package(self, iccid: str, package_id: str | None = None) -> dict[str, Any]: ...

    def consume(
        self, iccid: str, *, nbytes: int | None = None, percent: float | None = None, package_id: str | None = None
    ) -> dict[str, Any]: ...

    def esim_view(self, esim: dict[str, Any]) -> dict[str, Any]: ...
