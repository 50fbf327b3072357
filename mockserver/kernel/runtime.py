"""The shared machinery of one server: clock, timers, store, journal, limiter, faults.

Each API model (`mockserver.apis.<api>.models`) registers itself here as a `Backend`, so
reset, snapshot/restore and start-up walk one list instead of knowing every API.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import math
import time
from typing import TYPE_CHECKING, Any, Protocol

from ..settings import Settings
from .clock import LATEST_CLOCK, Clock, Timers
from .faults import FaultRegistry
from .journal import Journal
from .ratelimit import RateLimiter
from .store import Store

if TYPE_CHECKING:
    from ..webhooks import WebhookEngine


class Backend(Protocol):
    """What an API's model offers the runtime."""

    name: str

    def seed(self, scenario: dict[str, Any]) -> None:
        """Fill empty tables from a scenario (this API's section of it)."""

    def loaded(self) -> None:
        """Rebuild indexes and timers after state was loaded, restored or reset."""


class Runtime:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.clock = Clock(settings.clock, settings.clock_start)
        self.timers = Timers(self.clock)
        self.store = Store(settings.state_path)
        self.journal = Journal(settings.journal_limit)
        self.limiter = RateLimiter(self.clock, enabled=settings.rate_limit)
        self.faults = FaultRegistry(settings.seed)
        self.backends: dict[str, Backend] = {}
        self.webhooks: WebhookEngine | None = None
        self.loop: asyncio.AbstractEventLoop | None = None  # set when the server starts
        self.scenario: dict[str, Any] = {}
        self._request_ids = itertools.count(1)
        self.secret = hashlib.sha256(f"mockserver:{settings.seed}:{settings.hubble_token}".encode()).digest()

    def register(self, backend: Backend) -> None:
        self.backends[backend.name] = backend

    def next_request_id(self) -> str:
        n = next(self._request_ids)
        raw = bytearray(hashlib.sha256(f"{self.settings.seed}:request:{n}".encode()).digest()[:16])
        raw[6] = (raw[6] & 0x0F) | 0x40  # what uuid.UUID(bytes=..., version=4) sets, without its cost
        raw[8] = (raw[8] & 0x3F) | 0x80
        h = raw.hex()
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"

    # -- whole-server operations ----------------------------------------------------------
    def start_state(self) -> None:
        """Load saved state, or seed from the scenario."""
        if self.store.persistent and self.store.load():
            self._load_clock()
            self._loaded()
        else:
            self.reset()
        if self.store.persistent:  # a frozen clock stays where it is across a restart
            self.save_clock()

    # The clock's position is state too: a restarted sandbox whose clock had been frozen or
    # fast-forwarded continues from there, so its pending timers keep their meaning.
    CLOCK_TABLE = "kernel.clock"

    def save_clock(self) -> None:
        """Record where the clock is (after a control-plane move) and flush."""
        now = self.clock.now()
        self.store.table(self.CLOCK_TABLE).put(
            "clock", {"mode": self.clock.mode, "now": now, "offset": now - time.time()}
        )
        self.store.flush()

    async def move_clock(self, *, to: float | None = None, by: float | None = None) -> int:
        """The one way the clock moves forward (control plane and simulations): due timers
        run in order on the way, and the new position is saved even if the move is cut
        short (a shutdown mid-advance). ValueError for a move it refuses."""
        now = self.clock.now()
        value = to if to is not None else by
        if value is None or isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise ValueError("the clock moves by or to a finite number of seconds")
        target = float(to) if to is not None else now + float(value)
        if by is not None and by < 0:
            raise ValueError("the clock only moves forward: a negative advance")
        if to is not None and target < now:
            raise ValueError("the clock only moves forward: that time is in its past")
        if target > LATEST_CLOCK:
            raise ValueError(f"that is past the latest time the clock can show ({LATEST_CLOCK:.0f}, 9998-12-31)")
        try:
            if by is not None:
                return await self.timers.advance(float(by))
            return await self.timers.run_until(target)
        finally:
            self.save_clock()

    def rewind_clock(self) -> None:
        """Back to the clock the server started with (wall time in real mode): the one move
        allowed backwards, so a test that fast-forwarded can hand the clock back."""
        self.clock.set_mode(self.settings.clock)
        self.clock._jump(self.settings.clock_start if self.settings.clock_start is not None else time.time())
        self.limiter.reset()
        self._clock_moved_back()
        self.save_clock()

    def _clock_moved_back(self) -> None:
        """Let models whose records carry arrival times pull them back to the new now."""
        for backend in self.backends.values():
            hook = getattr(backend, "clock_moved_back", None)
            if hook is not None:
                hook()

    def _load_clock(self) -> None:
        saved = self.store.table(self.CLOCK_TABLE).get("clock")
        if not saved or self.settings.clock_start is not None:  # an explicit --clock-start wins
            return
        if saved.get("mode") == "frozen":
            self.clock.set_mode("frozen")
            self.clock._jump(float(saved["now"]))
        else:
            self.clock.set_mode("real")
            self.clock._jump(time.time() + float(saved.get("offset", 0.0)))

    def reset(self, api: str | None = None) -> None:
        names = [api] if api else list(self.backends)
        for name in names:
            if name not in self.backends:
                raise KeyError(name)
        if api is None:
            self.timers.clear()  # one API's reset leaves others' timers; stale ones find nothing to do
        for name in names:
            self.store.clear(f"{name}.")
            if self.webhooks is not None:
                self.webhooks.clear(api=name)
        if api is None:
            self.store.clear("webhooks.")
            self.limiter.reset()
        for name in names:
            self.backends[name].seed(self.scenario.get(name) or {})
        self._loaded(names)
        self.store.flush()

    def snapshot(self) -> dict[str, Any]:
        return {"version": 1, "clock": self.clock.snapshot(), "tables": self.store.snapshot()}

    def restore(self, data: dict[str, Any]) -> None:
        """Replace the whole state. The document is checked first, so a bad one changes nothing."""
        if not isinstance(data, dict) or not isinstance(data.get("tables"), dict):
            raise ValueError("a state document needs a 'tables' object (as GET /_mock/state returns)")
        for name, rows in data["tables"].items():
            if not isinstance(rows, dict):
                raise ValueError(f"table {name!r} must be an object of rows keyed by id")
        clock = data.get("clock") or {}
        if not isinstance(clock, dict) or ("now" in clock and not _finite_number(clock["now"])):
            raise ValueError("'clock' must be an object whose 'now' is a Unix time")
        self.timers.clear()
        self.limiter.reset()
        self.store.restore(data["tables"])
        if "now" in clock and self.clock.mode == "frozen":
            self.clock._jump(float(clock["now"]))
        self._loaded()
        self._clock_moved_back()
        self.save_clock()

    def _loaded(self, names: list[str] | None = None) -> None:
        if names is None:
            self.timers.clear()
        for name in names or list(self.backends):
            self.backends[name].loaded()
        if self.webhooks is not None and names is None:
            self.webhooks.reschedule_from_state()


def _finite_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
