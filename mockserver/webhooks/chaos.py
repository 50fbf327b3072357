"""Opt-in delivery chaos: duplicates, reordering and delay jitter, the way real
at-least-once, unordered webhook senders behave (some vendors' notes say exactly that).

Off by default: a fake that always delivers exactly once and in order hides a receiver's
deduplication and ordering bugs. A rule applies to one API (or all) and optionally one
endpoint; the first matching rule decides, with a random generator seeded from the
configuration, so a failing run can be replayed with the same seed and the same traffic.

What a rule does to each new message:
- `jitter_seconds`: its first attempt waits uniform(0, jitter) seconds on the clock;
- `reorder` (probability): it is held back a further `hold_seconds`, so messages enqueued
  after it overtake it;
- `duplicate` (probability): a second message with the same body and headers (a per-message
  `X-Request-ID` included) is delivered too, with its own jitter.

Delays run on the sandbox clock like every other timer (advance a frozen clock to let them
fall due). Every affected record carries `chaos` (`delay`, `held_back`, `duplicate_of`,
`duplicated_by`), so the deliveries log shows what was done.

Configuration (control plane `PUT /_mock/webhooks/chaos`, `--webhook-chaos`,
`MOCKSERVER_WEBHOOK_CHAOS`): JSON `{"seed": 7, "rules": [{"api": API, "duplicate": 0.3,
"reorder": 0.3, "jitter_seconds": 5}]}`, or the short form
`API:duplicate=0.3,reorder=0.3,jitter=5;OTHER_API:duplicate=0.1` (`api/endpoint:` scopes a
rule to one endpoint; `*` is every API; `seed=N` as a rule of its own sets the seed); API is
an API's name (the README shows examples).
"""

from __future__ import annotations

import json
import math
import random
from dataclasses import asdict, dataclass
from typing import Any

RULE_FIELDS = ("api", "endpoint", "duplicate", "reorder", "hold_seconds", "jitter_seconds")
SHORT_NAMES = {"duplicate": "duplicate", "dup": "duplicate", "reorder": "reorder", "hold": "hold_seconds",
               "jitter": "jitter_seconds", "hold_seconds": "hold_seconds", "jitter_seconds": "jitter_seconds"}
MAX_DELAY = 86400.0


class ChaosConfigError(ValueError):
    """A chaos configuration that cannot be used; the message says why."""


@dataclass(frozen=True)
class ChaosRule:
    api: str | None = None
    endpoint: str | None = None
    duplicate: float = 0.0
    reorder: float = 0.0
    hold_seconds: float = 30.0
    jitter_seconds: float = 0.0

    def matches(self, api: str, endpoint_id: str) -> bool:
        return (self.api in (None, api)) and (self.endpoint in (None, endpoint_id))


@dataclass(frozen=True)
class Plan:
    """What happens to one new message."""

    delay: float
    held_back: bool
    duplicate_delay: float | None  # None: no duplicate

    def note(self) -> dict[str, Any]:
        return {"delay": round(self.delay, 3), "held_back": self.held_back}


class Chaos:
    def __init__(self, seed: int = 1) -> None:
        self.default_seed = seed
        self.seed = seed
        self.rules: list[ChaosRule] = []
        self._rng = random.Random(f"mockserver-chaos:{seed}")

    @property
    def enabled(self) -> bool:
        return bool(self.rules)

    def configure(self, config: Any) -> dict[str, Any]:
        """Replace the rules (and reseed) from a JSON document, a short-form string or None (off)."""
        seed, rules = parse(config, self.default_seed)
        self.seed, self.rules = seed, rules
        self.reseed()
        return self.describe()

    def reseed(self) -> None:
        """Start the configured seed's sequence again (a full reset)."""
        self._rng = random.Random(f"mockserver-chaos:{self.seed}")

    def clear(self) -> None:
        self.configure(None)

    def describe(self) -> dict[str, Any]:
        return {"enabled": self.enabled, "seed": self.seed, "rules": [asdict(r) for r in self.rules]}

    def plan(self, api: str, endpoint_id: str) -> Plan | None:
        rule = next((r for r in self.rules if r.matches(api, endpoint_id)), None)
        if rule is None:
            return None
        rng = self._rng  # always the same number of draws per message: replays stay aligned
        jitter, held, dup, dup_jitter = rng.random(), rng.random(), rng.random(), rng.random()
        delay = jitter * rule.jitter_seconds
        held_back = held < rule.reorder
        if held_back:
            delay += rule.hold_seconds
        duplicate_delay = dup_jitter * rule.jitter_seconds if dup < rule.duplicate else None
        return Plan(delay, held_back, duplicate_delay)


def parse(config: Any, default_seed: int = 1) -> tuple[int, list[ChaosRule]]:
    if config is None or config == "" or config == {}:
        return default_seed, []
    if isinstance(config, str):
        text = config.strip()
        if text.startswith(("{", "[")):
            try:
                config = json.loads(text)
            except ValueError as exc:
                raise ChaosConfigError(f"webhook chaos: not valid JSON: {exc}") from None
        else:
            return _parse_short(text, default_seed)
    if isinstance(config, list):
        config = {"rules": config}
    if not isinstance(config, dict):
        raise ChaosConfigError("webhook chaos: expected an object {seed, rules: [...]}")
    unknown = sorted(set(config) - {"seed", "rules"})
    if unknown:
        raise ChaosConfigError(f"webhook chaos: unknown fields {unknown}; use seed and rules")
    seed = config.get("seed", default_seed)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ChaosConfigError("webhook chaos: seed must be an integer")
    raw_rules = config.get("rules", [])
    if not isinstance(raw_rules, list):
        raise ChaosConfigError("webhook chaos: rules must be a list")
    return seed, [_rule(r, i) for i, r in enumerate(raw_rules)]


def _rule(raw: Any, i: int) -> ChaosRule:
    where = f"webhook chaos: rules[{i}]"
    if not isinstance(raw, dict):
        raise ChaosConfigError(f"{where} must be an object")
    unknown = sorted(set(raw) - set(RULE_FIELDS))
    if unknown:
        raise ChaosConfigError(f"{where}: unknown fields {unknown}; use {', '.join(RULE_FIELDS)}")
    values: dict[str, Any] = {}
    for name in ("api", "endpoint"):
        value = raw.get(name)
        if value is not None and (not isinstance(value, str) or not value):
            raise ChaosConfigError(f"{where}.{name} must be a non-empty string (or left out for all)")
        values[name] = None if value in (None, "*") else value
    for name in ("duplicate", "reorder"):
        if name in raw:
            values[name] = _number(raw[name], f"{where}.{name}", 0.0, 1.0)
    for name in ("hold_seconds", "jitter_seconds"):
        if name in raw:
            values[name] = _number(raw[name], f"{where}.{name}", 0.0, MAX_DELAY)
    return ChaosRule(**values)


def _number(value: Any, where: str, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or not low <= value <= high:
        raise ChaosConfigError(f"{where} must be a number from {low:g} to {high:g}")
    return float(value)


def _parse_short(text: str, default_seed: int) -> tuple[int, list[ChaosRule]]:
    """`API:duplicate=0.3,reorder=0.2,jitter=5;OTHER_API/ENDPOINT:dup=0.1;seed=7`."""
    seed = default_seed
    rules = []
    for i, part in enumerate(p.strip() for p in text.split(";")):
        if not part:
            continue
        if part.startswith("seed="):
            try:
                seed = int(part[5:])
            except ValueError:
                raise ChaosConfigError(f"webhook chaos: seed must be an integer, got {part[5:]!r}") from None
            continue
        scope, sep, settings = part.partition(":")
        if not sep:
            raise ChaosConfigError(f"webhook chaos: {part!r} should look like api:duplicate=0.3,reorder=0.2,jitter=5")
        api, _, endpoint = scope.strip().partition("/")
        raw: dict[str, Any] = {"api": api or "*"}
        if endpoint:
            raw["endpoint"] = endpoint
        for item in (s.strip() for s in settings.split(",")):
            if not item:
                continue
            name, eq, value = item.partition("=")
            field = SHORT_NAMES.get(name.strip())
            if not eq or field is None:
                raise ChaosConfigError(f"webhook chaos: unknown setting {item!r}; use duplicate=, reorder=, jitter=, hold=")
            try:
                raw[field] = float(value)
            except ValueError:
                raise ChaosConfigError(f"webhook chaos: {name.strip()} must be a number, got {value!r}") from None
        rules.append(_rule(raw, i))
    return seed, rules
