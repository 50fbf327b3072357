"""Leaky-bucket rate limiting on the one clock.

Each bucket holds `capacity` requests and drains at `rate` per second. A request passes
only if every bucket it touches has room; then it fills each by one. A denied request
fills nothing, so a client that backs off for `Retry-After` seconds gets through.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .clock import Clock


@dataclass(frozen=True)
class Limit:
    capacity: float
    rate: float  # requests drained per second


@dataclass
class Decision:
    allowed: bool
    limit: int
    remaining: int
    reset: int  # seconds until the tightest bucket is empty again
    retry_after: int  # seconds to wait before a retry can pass (0 when allowed)

    def headers(self) -> dict[str, str]:
        out = {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset),
        }
        if not self.allowed:
            out["Retry-After"] = str(self.retry_after)
        return out


class RateLimiter:
    def __init__(self, clock: Clock, enabled: bool = True) -> None:
        self.clock = clock
        self.enabled = enabled
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (level, at)

    def reset(self) -> None:
        self._buckets.clear()

    def _level(self, key: str, limit: Limit, now: float) -> float:
        level, at = self._buckets.get(key, (0.0, now))
        if at > now:  # the clock was moved back: drain from now on instead of never
            self._buckets[key] = (level, now)
            return level
        return max(0.0, level - (now - at) * limit.rate)

    def check(self, buckets: list[tuple[str, Limit]]) -> Decision:
        """The first bucket is the one reported in the headers (the tightest, per endpoint)."""
        now = self.clock.now()
        levels = [(key, limit, self._level(key, limit, now)) for key, limit in buckets]
        head_key, head, head_level = levels[0]
        if not self.enabled:
            return Decision(True, int(head.capacity), int(head.capacity), 0, 0)
        blocked = [(k, lim, lvl) for k, lim, lvl in levels if lvl + 1 > lim.capacity + 1e-9]
        if blocked:
            wait = max((lvl + 1 - lim.capacity) / lim.rate for _, lim, lvl in blocked)
            return Decision(
                False,
                int(head.capacity),
                max(0, int(head.capacity - head_level)),
                math.ceil(head_level / head.rate),
                max(1, math.ceil(wait)),
            )
        for key, _limit, level in levels:
            self._buckets[key] = (level + 1, now)
        head_level += 1
        return Decision(
            True,
            int(head.capacity),
            max(0, math.floor(head.capacity - head_level + 1e-9)),
            math.ceil(head_level / head.rate),
            0,
        )
