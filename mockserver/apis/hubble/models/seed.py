"""Seeding the Hubble state from a scenario's `hubble:` section (format: see the comment at
the top of that section in fixtures/demo.yaml).

Everything generated comes from the seeded id streams and a seeded Faker, so one seed gives
the same org, keys, device ids and keys, users and packets; times are relative to the clock.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any

from ....scenarios import ScenarioError
from .. import crypto
from .accounts import ALL_SCOPES
from .common import DAY
from .devices import DEFAULT_ENV, _check_rotation, _with_env
from .metrics import _month_start
from .recorded import seed_recorded

if TYPE_CHECKING:
    from faker import Faker

    from . import HubbleBackend

KNOWN_KEYS = {"org", "keys", "devices", "packets", "users", "invitations", "invoices", "webhooks", "recorded"}
BOOTSTRAP_KEY_NAME = "sandbox bootstrap key"


def _fail(message: str) -> ScenarioError:
    return ScenarioError(f"scenario hubble: {message}")


def _list(section: dict[str, Any], name: str) -> list[Any]:
    value = section.get(name) or []
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list):
        raise _fail(f"{name} must be a list")
    return value


def seed_scenario(backend: HubbleBackend, section: dict[str, Any]) -> None:
    if not isinstance(section, dict):
        raise _fail("the section must be a mapping")
    unknown = set(section) - KNOWN_KEYS
    if unknown:
        raise _fail(f"unknown keys {sorted(unknown)}; known: {sorted(KNOWN_KEYS)}")
    settings = backend.settings
    org_id = settings.hubble_org_id
    now = backend.now()
    org_cfg = section.get("org") or {}
    backend.create_org(
        org_id,
        name=org_cfg.get("name", "Sandbox Organization"),
        address=org_cfg.get("address"),
        contact_info=org_cfg.get("contact_info"),
        timezone=org_cfg.get("timezone"),
    )
    backend._new_key(org_id, BOOTSTRAP_KEY_NAME, None, 0, token=settings.hubble_token, bootstrap=True)
    from faker import Faker  # noqa: PLC0415 - ~0.1 s to import: only when seeding runs (a start from the seed cache does not)

    fake = Faker()
    fake.seed_instance(settings.seed)
    _seed_keys(backend, org_id, _list(section, "keys"), now)
    _seed_users(backend, org_id, section.get("users"), fake, now)
    for item in _list(section, "invitations"):
        backend.invite(org_id, item["invitee_email"], item.get("role", "member"), now - float(item.get("days_ago", 0)) * DAY)
    devices = _seed_devices(backend, org_id, _list(section, "devices"), now)
    if section.get("packets"):
        _seed_packets(backend, devices, section["packets"], now)
    for item in _list(section, "webhooks"):
        backend.create_webhook(org_id, {k: v for k, v in item.items() if k in ("url", "name", "max_batch_size")})
    _seed_invoices(backend, org_id, _list(section, "invoices"), now)
    if section.get("recorded"):  # an organization read by `mockserver record`
        seed_recorded(backend, section["recorded"])


def _seed_keys(backend: HubbleBackend, org_id: str, items: list[dict[str, Any]], now: float) -> None:
    for item in items:
        scopes = item.get("scopes")
        bad = [s for s in scopes or [] if s not in ALL_SCOPES]
        if bad:
            raise _fail(f"keys: unknown scopes {bad}")
        days = float(item.get("expires_in_days") or 0)
        expires = int(now + days * DAY) if days else 0
        backend._new_key(org_id, item.get("name", ""), scopes, expires, token=item.get("token"))


def _seed_users(backend: HubbleBackend, org_id: str, spec: Any, fake: Faker, now: float) -> None:
    if not spec:
        return
    if isinstance(spec, dict) and "count" in spec:
        items: list[dict[str, Any]] = []
        for i in range(int(spec["count"])):
            first, last = fake.first_name(), fake.last_name()
            domain = spec.get("domain", "example.com")
            items.append(
                {
                    "email": f"{first}.{last}{i}@{domain}".lower(),
                    "first_name": first,
                    "last_name": last,
                    "role": "admin" if i == 0 else "member",
                    "email_confirmed": i % 4 != 3,
                    "days_ago": 90 - i * 3,
                    "last_active_days_ago": None if i % 4 == 3 else i % 5,
                }
            )
    elif isinstance(spec, list):
        items = spec
    else:
        raise _fail("users must be a list or {count: N}")
    for item in items:
        created = now - float(item.get("days_ago", 30)) * DAY
        active = item.get("last_active_days_ago")
        backend.add_user(
            org_id,
            item["email"],
            item.get("role", "member"),
            first_name=item.get("first_name"),
            last_name=item.get("last_name"),
            email_confirmed=item.get("email_confirmed", True),
            created_at=int(created),
            last_active_at=None if active is None else int(now - float(active) * DAY),
        )


def _seed_devices(backend: HubbleBackend, org_id: str, groups: list[dict[str, Any]], now: float) -> list[dict[str, Any]]:
    out = []
    numbering: dict[str, int] = {}
    for g, group in enumerate(groups):
        count = int(group.get("count", 1))
        encryption = group.get("encryption", crypto.AES_256_CTR)
        if encryption not in crypto.ENCRYPTION_TYPES:
            raise _fail(f"devices[{g}].encryption must be one of {list(crypto.ENCRYPTION_TYPES)}")
        try:
            rotation = _check_rotation(encryption, group.get("eid_rotation"))
            tags = _with_env(_check_tags(group.get("tags") or {"_env": DEFAULT_ENV}, g), None, f"devices[{g}].tags")
        except Exception as exc:  # ApiError: report it as a scenario problem
            raise _fail(f"devices[{g}]: {exc}") from None
        names = group.get("names")
        prefix = group.get("name_prefix")
        days_ago = float(group.get("created_days_ago", 30))
        for i in range(count):
            if names:
                name = names[i % len(names)]
            elif prefix:
                numbering[prefix] = numbering.get(prefix, 0) + 1
                name = f"{prefix}-{numbering[prefix]:03d}"
            else:
                name = group.get("name", "")
            created = int(now - days_ago * DAY * (1 - i / max(count, 1)))
            out.append(
                backend._create_device(
                    org_id, encryption, name=name, tags=dict(tags), rotation=rotation, created_ts=created
                )
            )
    return out


def _check_tags(tags: Any, g: int) -> dict[str, str]:
    if not isinstance(tags, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in tags.items()):
        raise _fail(f"devices[{g}].tags must map strings to strings")
    if tags.get("_env", DEFAULT_ENV) not in ("production", "sandbox"):
        raise _fail(f"devices[{g}].tags._env must be production or sandbox")
    if any(not 0 < len(k) <= 32 or len(v) > 128 for k, v in tags.items()):
        raise _fail(f"devices[{g}].tags: keys are 1-32 characters, values at most 128")
    return tags


def _seed_packets(backend: HubbleBackend, devices: list[dict[str, Any]], cfg: dict[str, Any], now: float) -> None:
    """History: active devices transmit `per_device_per_day` packets a day (jittered) over the
    last `days` days (never before they were registered), inserted in time order."""
    days = float(cfg.get("days", 7))
    per_day = float(cfg.get("per_device_per_day", 12))
    active_share = float(cfg.get("active_share", 0.8))
    satellite_share = float(cfg.get("satellite_share", 0.0))
    if per_day <= 0 or days <= 0:
        return
    rng = backend.ids.rng("seed_packets")
    plan: list[tuple[float, int, str]] = []
    step = DAY / per_day
    for index, device in enumerate(devices):
        if rng.random() >= active_share:
            continue
        t = max(now - days * DAY, device["created_ts"] + 60.0) + rng.uniform(0, step)
        while t < now:
            network = "SATELLITE" if rng.random() < satellite_share else "TERRESTRIAL"
            plan.append((t, index, network))
            t += step * rng.uniform(0.5, 1.5)
    plan.sort()
    transmitter = backend.transmitter
    transmitter.reseed(random.Random(rng.getrandbits(64)))
    for heard_at, index, network in plan:
        transmitter.transmit(devices[index], heard_at, rx=heard_at, network=network)


def _seed_invoices(backend: HubbleBackend, org_id: str, items: list[dict[str, Any]], now: float) -> None:
    for item in items:
        months_ago = int(item.get("months_ago", 1))
        issue = _month_start(now)
        for _ in range(months_ago):
            issue = _month_start(issue - 1)
        total = round(float(item.get("total", 0.0)), 2)
        status = item.get("status", "PENDING")
        if status not in ("DRAFT", "PENDING", "COMPLETED"):
            raise _fail(f"invoices: status must be DRAFT, PENDING or COMPLETED, got {status!r}")
        remaining = item.get("remaining_balance", 0.0 if status == "COMPLETED" else total)
        invoice_id = item.get("invoice_id") or f"INV-{backend.ids.number('invoice'):05d}"
        lines = item.get("lines") or [
            {"description": "Monthly active devices", "quantity": int(item.get("devices", 0) or 0), "amount": total}
        ]
        backend.invoices.put(
            invoice_id,
            {
                "invoice_id": invoice_id,
                "org_id": org_id,
                "issue_timestamp": float(issue),
                "due_timestamp": float(issue + 30 * DAY),
                "status": status,
                "total": total,
                "remaining_balance": round(float(remaining), 2),
                "currency": item.get("currency", "USD"),
                "lines": lines,
            },
        )
