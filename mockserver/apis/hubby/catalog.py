"""Hubby's destinations and package catalogue, generated deterministically from the seed.

Countries are a static table of real ISO 3166-1 codes. Regions (multi-country packages)
use codes that are not ISO country codes: EU (Europe), ASI (Asia-Pacific), LAM (Latin
America), MEA (Middle East). Every country offers at least: data-limited 1GB/3GB/5GB/10GB
(365 days), a starter 500MB for 2 days, unlimited for 1, 3, 7, 15 and 30 days and
time-limited 1GB/7d, 3GB/15d and 5GB/30d; the seed adds sizes and durations and sets the
prices. So a test can rely on those and still see a realistic, varied catalogue.
"""

from __future__ import annotations

import hashlib
import random
import re
from functools import lru_cache
from typing import Any

GB = 1024**3
MB = 1024**2

# (iso2, iso3, name, region code or None)
COUNTRIES: list[tuple[str, str, str, str | None]] = [
    # Europe, covered by the EU package
    ("AT", "AUT", "Austria", "EU"), ("BE", "BEL", "Belgium", "EU"), ("BG", "BGR", "Bulgaria", "EU"),
    ("HR", "HRV", "Croatia", "EU"), ("CY", "CYP", "Cyprus", "EU"), ("CZ", "CZE", "Czechia", "EU"),
    ("DK", "DNK", "Denmark", "EU"), ("EE", "EST", "Estonia", "EU"), ("FI", "FIN", "Finland", "EU"),
    ("FR", "FRA", "France", "EU"), ("DE", "DEU", "Germany", "EU"), ("GR", "GRC", "Greece", "EU"),
    ("HU", "HUN", "Hungary", "EU"), ("IE", "IRL", "Ireland", "EU"), ("IT", "ITA", "Italy", "EU"),
    ("LV", "LVA", "Latvia", "EU"), ("LT", "LTU", "Lithuania", "EU"), ("LU", "LUX", "Luxembourg", "EU"),
    ("MT", "MLT", "Malta", "EU"), ("NL", "NLD", "Netherlands", "EU"), ("PL", "POL", "Poland", "EU"),
    ("PT", "PRT", "Portugal", "EU"), ("RO", "ROU", "Romania", "EU"), ("SK", "SVK", "Slovakia", "EU"),
    ("SI", "SVN", "Slovenia", "EU"), ("ES", "ESP", "Spain", "EU"), ("SE", "SWE", "Sweden", "EU"),
    ("GB", "GBR", "United Kingdom", "EU"), ("NO", "NOR", "Norway", "EU"), ("IS", "ISL", "Iceland", "EU"),
    ("CH", "CHE", "Switzerland", "EU"), ("LI", "LIE", "Liechtenstein", "EU"),
    # Europe, own packages only
    ("TR", "TUR", "Turkey", None), ("AL", "ALB", "Albania", None), ("RS", "SRB", "Serbia", None),
    ("ME", "MNE", "Montenegro", None), ("MK", "MKD", "North Macedonia", None),
    ("BA", "BIH", "Bosnia and Herzegovina", None), ("MD", "MDA", "Moldova", None),
    ("GE", "GEO", "Georgia", None), ("AM", "ARM", "Armenia", None), ("UA", "UKR", "Ukraine", None),
    # Asia-Pacific
    ("JP", "JPN", "Japan", "ASI"), ("KR", "KOR", "South Korea", "ASI"), ("CN", "CHN", "China", "ASI"),
    ("HK", "HKG", "Hong Kong", "ASI"), ("TW", "TWN", "Taiwan", "ASI"), ("SG", "SGP", "Singapore", "ASI"),
    ("MY", "MYS", "Malaysia", "ASI"), ("TH", "THA", "Thailand", "ASI"), ("VN", "VNM", "Vietnam", "ASI"),
    ("ID", "IDN", "Indonesia", "ASI"), ("PH", "PHL", "Philippines", "ASI"), ("IN", "IND", "India", "ASI"),
    ("KH", "KHM", "Cambodia", "ASI"), ("LA", "LAO", "Laos", "ASI"), ("AU", "AUS", "Australia", "ASI"),
    ("NZ", "NZL", "New Zealand", "ASI"),
    ("LK", "LKA", "Sri Lanka", None), ("MV", "MDV", "Maldives", None), ("NP", "NPL", "Nepal", None),
    ("PK", "PAK", "Pakistan", None), ("BD", "BGD", "Bangladesh", None), ("UZ", "UZB", "Uzbekistan", None),
    ("KZ", "KAZ", "Kazakhstan", None), ("MN", "MNG", "Mongolia", None),
    # Middle East
    ("AE", "ARE", "United Arab Emirates", "MEA"), ("SA", "SAU", "Saudi Arabia", "MEA"),
    ("QA", "QAT", "Qatar", "MEA"), ("OM", "OMN", "Oman", "MEA"), ("BH", "BHR", "Bahrain", "MEA"),
    ("KW", "KWT", "Kuwait", "MEA"), ("JO", "JOR", "Jordan", "MEA"), ("IL", "ISR", "Israel", "MEA"),
    ("EG", "EGY", "Egypt", "MEA"),
    # Americas
    ("US", "USA", "United States", None), ("CA", "CAN", "Canada", None),
    ("MX", "MEX", "Mexico", "LAM"), ("BR", "BRA", "Brazil", "LAM"), ("AR", "ARG", "Argentina", "LAM"),
    ("CL", "CHL", "Chile", "LAM"), ("CO", "COL", "Colombia", "LAM"), ("PE", "PER", "Peru", "LAM"),
    ("EC", "ECU", "Ecuador", "LAM"), ("UY", "URY", "Uruguay", "LAM"), ("CR", "CRI", "Costa Rica", "LAM"),
    ("PA", "PAN", "Panama", "LAM"), ("GT", "GTM", "Guatemala", "LAM"),
    ("DO", "DOM", "Dominican Republic", "LAM"),
    ("CU", "CUB", "Cuba", None), ("JM", "JAM", "Jamaica", None),
    # Africa
    ("MA", "MAR", "Morocco", None), ("TN", "TUN", "Tunisia", None), ("ZA", "ZAF", "South Africa", None),
    ("KE", "KEN", "Kenya", None), ("TZ", "TZA", "Tanzania", None), ("NG", "NGA", "Nigeria", None),
    ("GH", "GHA", "Ghana", None), ("CV", "CPV", "Cape Verde", None), ("MU", "MUS", "Mauritius", None),
]  # fmt: skip

REGIONS: dict[str, str] = {
    "EU": "Europe",
    "ASI": "Asia-Pacific",
    "LAM": "Latin America",
    "MEA": "Middle East",
}

PACKAGE_TYPES = ("starter", "data-limited", "unlimited", "time-limited")
DEFAULT_DURATION = {"starter": 2, "data-limited": 365}
STARTER_DAYS = (1, 3)  # allowed starter durations: 1 to 3 days
TIME_LIMITED_DAYS = (1, 30)

_SIZE = re.compile(r"^(\d+(?:\.\d+)?)(MB|GB)$")


def size_bytes(size: str) -> int:
    """"1GB" -> 1073741824, "500MB" -> 524288000, "1.5GB" -> 1610612736."""
    m = _SIZE.match(size)
    if m is None:
        raise ValueError(f"not a package size: {size!r}")
    return int(round(float(m.group(1)) * (GB if m.group(2) == "GB" else MB)))


def size_label(nbytes: int) -> str:
    if nbytes % GB == 0:
        return f"{nbytes // GB}GB"
    if nbytes % MB == 0:
        return f"{nbytes // MB}MB"
    return f"{nbytes / GB:g}GB"


class Catalog:
    """Lookups over the generated countries and packages (rebuilt from the store)."""

    def __init__(self, countries: list[dict[str, Any]], packages: list[dict[str, Any]]) -> None:
        self.countries = sorted(countries, key=lambda c: c["name"])
        self.packages = packages
        self.by_id = {p["id"]: p for p in packages}
        self.by_iso2 = {c["iso2"]: c for c in countries}
        self.by_iso3 = {c["iso3"]: c for c in countries}
        self.covering: dict[str, list[dict[str, Any]]] = {}
        for p in packages:
            for iso3 in p["destinations"]:
                self.covering.setdefault(iso3, []).append(p)
        self.region_members: dict[str, list[str]] = {code: [] for code in REGIONS}
        for c in countries:
            if c["region"] in self.region_members:
                self.region_members[c["region"]].append(c["iso3"])

    def resolve_code(self, code: str) -> tuple[str, list[str]] | None:
        """A destination code -> (canonical code, ISO3 codes it stands for); None if unknown.

        The canonical code is ISO2 for a country and the region code for a region."""
        if code in REGIONS:
            return code, sorted(self.region_members[code])
        country = self.by_iso2.get(code) or self.by_iso3.get(code)
        if country is None:
            return None
        return country["iso2"], [country["iso3"]]

    def display_name(self, code: str) -> str:
        if code in REGIONS:
            return REGIONS[code]
        country = self.by_iso2.get(code) or self.by_iso3.get(code)
        return country["name"] if country else code

    def packages_covering(self, iso3: str) -> list[dict[str, Any]]:
        return self.covering.get(iso3, [])

    def filter(self, destination: str | None = None, package_type: str | None = None) -> list[dict[str, Any]]:
        out = self.packages
        if destination is not None:
            resolved = self.resolve_code(destination)
            if resolved is None:
                return []
            canonical, iso3s = resolved
            if canonical in REGIONS:
                out = [p for p in out if p["destination"] == canonical]
            else:
                out = [p for p in out if iso3s[0] in p["destinations"]]
        if package_type is not None:
            out = [p for p in out if p["package_type"] == package_type]
        return out


@lru_cache(maxsize=8)
def generate(seed: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(countries, packages) for a seed: same seed, same catalogue. The records are shared
    between calls: like every stored record they are replaced, never changed in place."""
    countries: list[dict[str, Any]] = [
        {"iso2": iso2, "iso3": iso3, "name": name, "region": region}
        for iso2, iso3, name, region in COUNTRIES
    ]
    packages: list[dict[str, Any]] = []
    for c in countries:
        rng = _rng(seed, c["iso3"])
        tier = rng.choice((1, 1, 2, 2, 2, 3))  # price tier: 1 cheap (EU roaming) .. 3 expensive
        packages.extend(_offers(rng, tier, c["iso2"], [c["iso3"]], c["name"], c["iso3"], None))
    for code, name in REGIONS.items():
        members = sorted(c["iso3"] for c in countries if c["region"] == code)
        rng = _rng(seed, code)
        label = f"{name} ({len(members)} countries)"
        packages.extend(_offers(rng, 2, code, members, name, None, label, regional=True))
    return countries, packages


def _rng(seed: int, what: str) -> random.Random:
    return random.Random(hashlib.sha256(f"{seed}:hubby:catalog:{what}".encode()).digest())


_TIER_PRICE = {1: 1.0, 2: 1.45, 3: 2.1}


def _price(rng: random.Random, base: float, tier: int, regional: bool) -> dict[str, Any]:
    amount = base * _TIER_PRICE[tier] * (1.35 if regional else 1.0) * rng.uniform(0.9, 1.15)
    amount = max(0.99, round(amount) - 0.01)
    return {"amount": round(amount, 2), "currency": "EUR"}


def _offers(
    rng: random.Random,
    tier: int,
    code: str,
    destinations: list[str],
    name: str,
    iso3: str | None,
    coverage_label: str | None,
    *,
    regional: bool = False,
) -> list[dict[str, Any]]:
    slug = code.lower()
    out: list[dict[str, Any]] = []

    def add(pid: str, package_type: str, size: str | None, days: int, base: float, title: str) -> None:
        out.append(
            {
                "id": pid,
                "name": f"{name} {title}",
                "destination": code,
                "destinations": destinations,
                "iso3": iso3,
                "package_type": package_type,
                "size": size,
                "data_bytes": size_bytes(size) if size else None,
                "duration_days": days,
                "coverage_label": coverage_label or name,
                "price": _price(rng, base, tier, regional),
            }
        )

    # starter: a little data for a short time
    add(f"pkg_{slug}_starter_500mb_2", "starter", "500MB", 2, 1.5, "Starter 500MB")
    if rng.random() < 0.5:
        add(f"pkg_{slug}_starter_1gb_3", "starter", "1GB", 3, 2.5, "Starter 1GB")
    # data-limited: fixed data, valid 365 days
    sizes = [1, 3, 5, 10] + [s for s in (20, 50) if rng.random() < (0.8 if s == 20 else 0.35)]
    for gb in sizes:
        add(f"pkg_{slug}_{gb}gb_365", "data-limited", f"{gb}GB", 365, 3.0 + 2.4 * gb ** 0.85, f"{gb}GB")
    # unlimited: fair use, for a number of days
    days_options = [1, 3, 7, 15, 30] + [d for d in (5, 10) if rng.random() < 0.4]
    for days in sorted(days_options):
        add(f"pkg_{slug}_unlimited_{days}", "unlimited", None, days, 3.5 + 2.1 * days ** 0.8, f"Unlimited {days} days")
    # time-limited: fixed data at full speed, 1 to 30 days
    for gb, days in ((1, 7), (3, 15), (5, 30)):
        add(f"pkg_{slug}_tl_{gb}gb_{days}", "time-limited", f"{gb}GB", days, 2.5 + 2.2 * gb ** 0.85, f"{gb}GB {days} days")
    return out
