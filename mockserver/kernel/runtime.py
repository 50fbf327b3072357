"""The shared machinery of one server: clock, timers, store, journal, limiter, faults.

Each API model (`mockserver.apis.<api>.models`) registers itself here as a `Backend`, so
reset, snapshot/restore and start-up walk one list instead of knowing every API.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import time
import uuid
from typing import TYPE_CHECKING, Any, Protocol

from ..settings import Settings
from .clock import Clock, Timers
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
        digest = hashlib.sha256(f"{self.settings.seed}:request:{n}".encode()).digest()
        return str(uuid.UUID(bytes=digest[:16], version=4))

    # -- whole-server operations ----------------------------------------------------------
    def start_state(self) -> None:
        """Load saved state, or seed from the scenario."""
        if self.store.persistent and self.store.load():
            self._load_clock()
            self._loaded()
            return
        self.reset()

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
        if not isinstance(data, dict) or not isinstance(data.get("tables"), dict):
            raise ValueError("a state document needs a 'tables' object (as GET /_mock/state returns)")
        self.timers.clear()
        self.store.restore(data["tables"])
        clock = data.get("clock") or {}
        if "now" in clock and self.clock.mode == "frozen":
            self.clock._jump(float(clock["now"]))
        self._loaded()
        self.store.flush()

    def _loaded(self, names: list[str] | None = None) -> None:
        if names is None:
            self.timers.clear()
        for name in names or list(self.backends):
            self.backends[name].loaded()
        if self.webhooks is not None and names is None:
            self.webhooks.reschedule_from_state()
