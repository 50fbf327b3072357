"""Package specifications -> catalogue packages (no HTTP): by package_id, or by
destination(s) + size + package_type + package_duration, multi-destination with the fewest
eSIMs, and the messages for everything that cannot be booked."""

from __future__ import annotations

import itertools
from typing import Any

from ....kernel.spec import Violation
from .. import catalog
from .state import HubbyState


class PackagesMixin(HubbyState):
    """Mixed into HubbyBackend: which packages a specification books."""

    # -- package specifications ---------------------------------------------------------------
    def _resolve_spec(
        self,
        i: int,
        spec: dict[str, Any],
        trip_days: int | None,
        invalid: list[Violation],
        missing: list[Violation],
    ) -> list[dict[str, Any] | None]:
        """The packages one specification books: [package, ...], or [None] (destinationless)."""
        where = f"package_specifications.{i}"
        if spec.get("package_id"):
            package = self.catalog.by_id.get(spec["package_id"])
            if package is None:
                missing.append(Violation(f"{where}.package_id", f"Package not found: {spec['package_id']}"))
                return []
            return [package]
        ptype = spec.get("package_type") or "data-limited"
        duration = spec.get("package_duration")
        ok = _check_duration(ptype, duration, where, invalid)
        dest = spec.get("destination")
        if dest is None:
            return [None] if ok else []
        codes = dest if isinstance(dest, list) else [dest]
        need: dict[str, str] = {}  # iso3 -> the code that asked for it
        for j, code in enumerate(codes):
            resolved = self.catalog.resolve_code(code)
            if resolved is None:
                field = f"{where}.destination" + (f".{j}" if isinstance(dest, list) else "")
                invalid.append(Violation(field, f"destination {code} is not a known country (ISO2/ISO3) or region code"))
                ok = False
                continue
            for iso3 in resolved[1]:
                need.setdefault(iso3, code)
        if not ok:
            return []
        size = spec.get("size") if ptype != "unlimited" else None
        cover, uncovered = self._cover(set(need), ptype, size, duration, trip_days)
        if uncovered:
            reported: set[str] = set()
            for iso3 in sorted(uncovered):
                asked = need[iso3]
                if asked in catalog.REGIONS:  # one message for the region, not one per country
                    if asked in reported:
                        continue
                    reported.add(asked)
                    what = _what(ptype, size, duration)
                    message = f"No {what} covers all of {self.catalog.display_name(asked)} ({asked}), even combined with country packages"
                else:
                    message = self._no_package_message(iso3, asked, ptype, size, duration)
                missing.append(Violation(f"{where}.destination", message))
            return []
        return [*cover]  # typed as the list of optional packages the caller takes

    def _cover(
        self, need: set[str], ptype: str, size: str | None, duration: int | None, trip_days: int | None
    ) -> tuple[list[dict[str, Any]], set[str]]:
        """The fewest packages covering every needed country (ties: fewest extra countries,
        then lowest price). Returns (packages, countries nothing covers)."""
        want_bytes = catalog.size_bytes(size) if size else None
        groups: dict[frozenset[str], list[dict[str, Any]]] = {}
        seen: set[str] = set()
        for p in (p for iso3 in sorted(need) for p in self.catalog.packages_covering(iso3)):
            if p["id"] in seen or p["package_type"] != ptype:
                continue
            seen.add(p["id"])
            if want_bytes is not None and p["data_bytes"] != want_bytes:
                continue
            if duration is not None and p["duration_days"] != duration:
                continue
            groups.setdefault(frozenset(p["destinations"]), []).append(p)
        best = {cov: _default_choice(ptype, options, trip_days) for cov, options in groups.items()}
        covered = set().union(*best) if best else set()
        uncovered = need - covered
        if uncovered:
            return [], uncovered
        options = sorted(best.items(), key=lambda kv: (-len(kv[0] & need), sorted(kv[0])))
        if len(options) > 18:  # large requests: greedy is good enough and stays fast
            chosen, left = [], set(need)
            while left:
                cov, pkg = max(options, key=lambda kv: (len(kv[0] & left), -len(kv[0] - need), -kv[1]["price"]["amount"]))
                chosen.append(pkg)
                left -= cov
            return chosen, set()
        for k in range(1, len(options) + 1):
            found = [
                combo
                for combo in itertools.combinations(options, k)
                if need <= set().union(*(cov for cov, _ in combo))
            ]
            if found:
                combo = min(
                    found,
                    key=lambda c: (sum(len(cov - need) for cov, _ in c), sum(p["price"]["amount"] for _, p in c)),
                )
                return [p for _, p in combo], set()
        return [], need  # unreachable: every needed country is covered by some group

    def _no_package_message(self, iso3: str, asked: str, ptype: str, size: str | None, duration: int | None) -> str:
        country = self.catalog.by_iso3.get(iso3)
        name = country["name"] if country else iso3
        what = _what(ptype, size, duration)
        offered = sorted(
            {
                (p["data_bytes"] or 0, p["size"] or "unlimited", p["duration_days"])
                for p in self.catalog.packages_covering(iso3)
                if p["package_type"] == ptype
            }
        )
        options = ", ".join(f"{s}/{d}d" for _, s, d in offered) or "none"
        via = f" (asked for as {asked})" if asked not in (iso3, country and country["iso2"]) else ""
        return f"No {what} covers {name}{via}; {ptype} packages there: {options}"


def _what(ptype: str, size: str | None, duration: int | None) -> str:
    return f"{ptype} package" + (f" of {size}" if size else "") + (f" for {duration} days" if duration else "")


def _check_duration(ptype: str, duration: int | None, where: str, invalid: list[Violation]) -> bool:
    if duration is None:
        return True
    if ptype == "starter" and not catalog.STARTER_DAYS[0] <= duration <= catalog.STARTER_DAYS[1]:
        invalid.append(Violation(f"{where}.package_duration", "package_duration of a starter package must be 1 to 3 days"))
        return False
    if ptype == "time-limited" and not catalog.TIME_LIMITED_DAYS[0] <= duration <= catalog.TIME_LIMITED_DAYS[1]:
        invalid.append(Violation(f"{where}.package_duration", "package_duration of a time-limited package must be 1 to 30 days"))
        return False
    return True


def _default_choice(ptype: str, options: list[dict[str, Any]], trip_days: int | None) -> dict[str, Any]:
    """The package picked when the specification leaves size or duration open. Starter and
    data-limited: the smallest size, with the type's default duration (2 and 365 days).
    Unlimited and time-limited: the shortest duration that lasts the trip (return minus
    departure; without a return date the shortest), else the longest; then the smallest size."""
    default = catalog.DEFAULT_DURATION.get(ptype)

    def duration_rank(p: dict[str, Any]) -> tuple:
        d = p["duration_days"]
        if default is not None:
            return (d != default, d)
        if trip_days is not None:
            return (d < trip_days, d if d >= trip_days else -d)
        return (0, d)

    if default is None:  # unlimited, time-limited: the duration matters most
        return min(options, key=lambda p: (duration_rank(p), p["data_bytes"] or 0, p["price"]["amount"], p["id"]))
    return min(options, key=lambda p: (p["data_bytes"] or 0, duration_rank(p), p["price"]["amount"], p["id"]))
