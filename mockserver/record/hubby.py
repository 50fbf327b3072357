"""Reading a Hubby partner account (signed requests) into the `hubby:` section: bookings
(every page) as booking entries with the lifecycle state their promo codes and eSIMs show,
and the catalogue packages they use.

Hubby generates promo codes, ICCIDs and its own booking ids itself, so the replay keeps the
partner's `booking_id`, the traveller, dates, package choices and how far each booking got
(claimed, redeemed, installed, active with its usage, removed, cancelled); the codes and
ICCIDs are new ones from the seed.
"""

from __future__ import annotations

from typing import Any

from .client import RecordClient
from .progress import Progress
from .scrub import Scrubber
from .state import RunState

PER_PAGE = 100
BOOKING_KEYS = ("booking_id", "departure_date", "return_date", "departure_location", "email", "phone", "first_name",
                "last_name", "full_name", "title", "gender", "pax", "flight_number", "locale", "external_user_id",
                "communication_options", "external_id", "data", "custom_branding")  # fmt: skip
SPEC_KEYS = ("package_id", "destination", "size", "package_type", "package_duration", "external_user_id", "iata_code", "esim_type", "email")


class HubbyRecorder:
    def __init__(self, client: RecordClient, state: RunState, progress: Progress) -> None:
        self.client = client
        self.state = state
        self.progress = progress

    def read(self) -> dict[str, Any]:
        bookings = self._bookings()
        return {"bookings": bookings, "esims": self._esims(bookings), "packages": self._packages(bookings)}

    def _bookings(self) -> list[dict[str, Any]]:
        name = "hubby.bookings"
        step = self.state.step(name)
        items = self.state.items(name)
        while not step["done"]:
            page = step["cursor"] or 1
            body, _ = self.client.get("/bookings", {"page": page, "perPage": PER_PAGE})
            rows = body.get("data") or []
            items += rows
            self.state.add_page(name, rows, page + 1)
            total = (body.get("meta") or {}).get("total")
            self.progress.page("hubby bookings", step["pages"], len(items), len(items) / total if total else None)
            if len(rows) < PER_PAGE:
                self.state.finish(name)
        self.progress.done("hubby bookings", len(items))
        return items

    def _each(self, name: str, paths: list[str]) -> dict[str, Any]:
        step = self.state.step(name)
        items = self.state.items(name)
        for path in paths[len(items) :]:
            body, _ = self.client.get(path)
            self.state.add_page(name, [{"path": path, "data": body.get("data")}], None)
            items.append({"path": path, "data": body.get("data")})
        self.state.finish(name)
        del step
        return {i["path"]: i["data"] for i in items}

    def _esims(self, bookings: list[dict[str, Any]]) -> dict[str, Any]:
        iccids = sorted({i for b in bookings for i in b.get("esims") or []})
        return self._each("hubby.esims", [f"/esims/{i}" for i in iccids])

    def _packages(self, bookings: list[dict[str, Any]]) -> dict[str, Any]:
        ids = sorted({c["package_id"] for b in bookings for c in b.get("promo_codes") or [] if c.get("package_id")})
        return self._each("hubby.packages", [f"/packages/{i}" for i in ids])


def build_section(raw: dict[str, Any], scrub: Scrubber) -> dict[str, Any]:
    packages = []
    for data in raw["packages"].values():
        if not data:
            continue
        price = data.get("price") or {}
        item = {"id": data["id"], "name": data.get("name"), "destination": data.get("destination"),
                "package_type": data.get("package_type"), "size": data.get("size"),
                "duration_days": data.get("duration_days"), "coverage_label": data.get("coverage_label"),
                "price": price.get("amount"), "currency": price.get("currency")}  # fmt: skip
        packages.append({k: v for k, v in item.items() if v is not None})
    esims = {path.rsplit("/", 1)[1]: data for path, data in raw["esims"].items() if data}
    # the list is newest first; the replay creates them oldest first so it lists them the same way
    bookings = [_booking(b, esims, scrub) for b in reversed(raw["bookings"])]
    section: dict[str, Any] = {}
    if packages:
        section["packages"] = packages
    section["bookings"] = bookings
    return section


def _booking(b: dict[str, Any], esims: dict[str, Any], scrub: Scrubber) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k in BOOKING_KEYS:
        v = b.get(k)
        if v is None:
            continue
        if k == "email":
            v = scrub.replace("email", v)
        elif k == "phone":
            v = scrub.replace("phone", v)
        elif k in ("first_name", "last_name"):
            v = scrub.replace(k, v)
        elif k == "full_name":
            v = " ".join(scrub.replace("first_name" if i == 0 else "last_name", part) for i, part in enumerate(v.split()))
        else:
            v = _deep_text(v, scrub)  # free text and the partner's own `data`: tokens and emails out
        out[k] = v
    specs = []
    for s in b.get("package_specifications") or []:
        spec = {k: s[k] for k in SPEC_KEYS if s.get(k) is not None}
        if "email" in spec:
            spec["email"] = scrub.replace("email", spec["email"])
        specs.append(spec)
    out["package_specifications"] = specs
    state, usage = _state(b, esims)
    out["state"] = state
    if usage is not None:
        out["usage_percent"] = usage
    return out


def _deep_text(value: Any, scrub: Scrubber) -> Any:
    if isinstance(value, str):
        return scrub.text(value)
    if isinstance(value, dict):
        return {k: _deep_text(v, scrub) for k, v in value.items()}
    if isinstance(value, list):
        return [_deep_text(v, scrub) for v in value]
    return value


def _state(b: dict[str, Any], esims: dict[str, Any]) -> tuple[str, float | None]:
    """How far the booking got, as the scenario format names it."""
    if b.get("status") == "CANCELLED":
        return "cancelled", None
    for iccid in b.get("esims") or []:
        esim = esims.get(iccid) or {}
        status = esim.get("status")
        if status == "removed":
            return "removed", None
        live = [p for p in esim.get("packages") or [] if p.get("status") == "active"]
        if live:
            total, used = esim.get("total_data"), esim.get("data_used") or 0
            return "active", round(100.0 * used / total, 2) if total else None
        if status == "installed":
            return "installed", None
        return "redeemed", None
    codes = b.get("promo_codes") or []
    if any(c.get("redeemed_at") for c in codes):
        return "redeemed", None
    if any(c.get("claimed_at") for c in codes):
        return "claimed", None
    return "created", None
