"""Leaky-bucket rate limiting in real time.

Each bucket holds `capacity` requests and drains at `rate` per second. A request passes
only if every bucket it touches has room; then it fills each by one. A denied request
fills nothing, so a client that backs off for `Retry-After` seconds gets through.

Buckets drain on the wall clock, whatever the sandbox clock does: `Retry-After` is a
promise about real time (a client that sleeps one real second must get through, also
under a frozen sandbox clock). Moving the sandbox clock forward drains them too (a test
that fast-forwards an hour expects a full allowance), whichever of the two moved further;
moving it back never refills them.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

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
    reset: int  # Unix time (wall clock, whole seconds) at which the reported bucket is empty
    retry_after: int  # seconds to wait before a retry can pass (0 when allowed)
    _headers: dict[str, str] | None = field(default=None, init=False, repr=False, compare=False)

    def headers(self) -> dict[str, str]:
        """The rate-limit headers of this decision (read-only: made once per decision)."""
        if self._headers is not None:
            return self._headers
        out = self._headers = {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset),
        }
        if not self.allowed:
            out["Retry-After"] = str(self.retry_after)
        return out


class RateLimiter:
    def __init__(
        self,
        clock: Clock,
        enabled: bool = True,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.clock = clock
        self.enabled = enabled
        self._monotonic = monotonic
        self._wall = wall
        self._buckets: dict[str, tuple[float, float, float]] = {}  # key -> (level, real at, sandbox at)
        self._unlimited: Decision | None = None  # the last answer given while limits are off

    def reset(self) -> None:
        self._buckets.clear()

    def _level(self, key: str, limit: Limit, real: float, sandbox: float) -> float:
        saved = self._buckets.get(key)
        if saved is None:
            return 0.0
        level, real_at, sandbox_at = saved
        if sandbox < sandbox_at:  # the sandbox clock went back: drain from its new now on
            level = max(0.0, level - max(0.0, real - real_at) * limit.rate)
            self._buckets[key] = (level, real, sandbox)
            return level
        elapsed = max(real - real_at, sandbox - sandbox_at, 0.0)
        return max(0.0, level - elapsed * limit.rate)

    def check(self, buckets: list[tuple[str, Limit]]) -> Decision:
        """The first bucket is reported when the request passes (the tightest, per endpoint);
        a refused request reports the bucket that refused it."""
        real, sandbox = self._monotonic(), self.clock.now()
        if not self.enabled:  # an empty bucket, reported; saved levels still follow the clock
            if self._buckets:
                for key, limit in buckets:
                    self._level(key, limit, real, sandbox)
            head = buckets[0][1]
            capacity, reset = int(head.capacity), self._reset_at(0.0, head)
            last = self._unlimited  # the same answer (and headers) within the same second
            if last is None or last.limit != capacity or last.reset != reset:
                last = self._unlimited = Decision(True, capacity, capacity, reset, 0)
            return last
        levels = [self._level(key, limit, real, sandbox) for key, limit in buckets]
        worst = None  # (wait, limit, level) of the full bucket that waits longest (the first of equals)
        for (_, limit), level in zip(buckets, levels, strict=True):
            if level + 1 > limit.capacity + 1e-9:
                wait = (level + 1 - limit.capacity) / limit.rate
                if worst is None or wait > worst[0]:
                    worst = (wait, limit, level)
        if worst is not None:
            wait, lim, lvl = worst
            return Decision(
                False,
                int(lim.capacity),
                max(0, math.floor(lim.capacity - lvl + 1e-9)),
                self._reset_at(lvl, lim),
                max(1, math.ceil(wait)),
            )
        saved = self._buckets
        for (key, _), level in zip(buckets, levels, strict=True):
            saved[key] = (level + 1, real, sandbox)
        head = buckets[0][1]
        head_level = levels[0] + 1
        return Decision(
            True,
            int(head.capacity),
            max(0, math.floor(head.capacity - head_level + 1e-9)),
            self._reset_at(head_level, head),
            0,
        )

    def _reset_at(self, level: float, limit: Limit) -> int:
        """The Unix time the bucket is empty again (the vendor's `X-RateLimit-Reset: 1640000000`)."""
        return math.ceil(self._wall() + level / limit.rate)
