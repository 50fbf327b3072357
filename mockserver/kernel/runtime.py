"""The shared machinery of one server: clock, timers, store, journal, limiter, faults.

Each API model (`mockserver.apis.<api>.models`) registers itself here as a `Backend`, so
reset, snapshot/restore and start-up walk one list instead of knowing every API.

Reset is cheap: after an API is seeded its tables are captured (`Store.capture`), and a
later reset puts back only the rows written since (`Store.rewind`) instead of running the
generators again. Seeded times are relative to the clock, so a capture is only reused where
re-seeding would give the same rows: with a frozen clock, at the very instant it was taken;
with the real clock, within `REANCHOR_SECONDS` of it (the state is then exactly that of a
server started at the capture and left alone since, as any server's data ages with wall
time). Anywhere else (a clock moved by a test, a long-running sandbox) the reset seeds
again at the current clock and captures that. A server's first seeding may take an entry
of the disk cache instead (kernel/seedcache.py), under the same clock rule.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from ..settings import Settings
from .clock import LATEST_CLOCK, Clock, Timers
from .faults import FaultRegistry
from .journal import Journal
from .ratelimit import RateLimiter
from .seedcache import SeedCache
from .store import Pristine, Store
from .tokensecret import TokenSecret

if TYPE_CHECKING:
    from ..webhooks import WebhookEngine


REANCHOR_SECONDS = 60.0


class Backend(Protocol):
    """What an API's model offers the runtime.

    A backend may also offer `reload(tables: set[str])`: rebuild only what depends on those
    tables (a reset that put back a few rows; "*timers" among them when every timer was
    cleared and must be set again); without it the runtime calls `loaded()`."""

    name: str

    def seed(self, scenario: dict[str, Any]) -> None:
        """Fill empty tables from a scenario (this API's section of it)."""

    def loaded(self) -> None:
        """Rebuild indexes and timers after state was loaded, restored or reset."""


@dataclass
class _Seeded:
    """One API's tables right after seeding, and the clock they were seeded at."""

    pristine: Pristine
    at: float
    mode: str
    scenario: Any

    def fits(self, now: float, scenario: Any) -> bool:
        if scenario is not self.scenario:
            return False
        if self.mode == "frozen":
            return now == self.at
        return 0.0 <= now - self.at <= REANCHOR_SECONDS


class Runtime:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.clock = Clock(settings.clock, settings.clock_start)
        self.timers = Timers(self.clock)
        self.store = Store(settings.state_path)
        self.journal = Journal(settings.journal_limit)
        self.limiter = RateLimiter(self.clock, enabled=settings.rate_limit)
        self.faults = FaultRegistry(settings.seed, settings.admin_token)
        self.backends: dict[str, Backend] = {}
        self.webhooks: WebhookEngine | None = None
        self.loop: asyncio.AbstractEventLoop | None = None  # set when the server starts
        self.scenario: dict[str, Any] = {}
        self._request_ids = itertools.count(1)
        self._seeded: dict[str, _Seeded] = {}  # per API: what a reset can put back (see above)
        self._seed_cache: SeedCache | None = None  # set while the first seeding runs (start_state)
        self.seeded_from_cache: set[str] = set()  # the APIs whose start took the disk cache
        # what the APIs derive their own keys from (JWTs, web sessions); `secret_input` is
        # the API options marked so (the Hubble bootstrap token): the same key as ever
        self.secret = hashlib.sha256(f"mockserver:{settings.seed}:{settings.secret_input}".encode()).digest()
        self.token_secret = TokenSecret(self.store)  # signs continuation tokens

    def register(self, backend: Backend) -> None:
        self.backends[backend.name] = backend

    def next_request_id(self) -> str:
        return request_id(self.settings.seed, next(self._request_ids))

    # -- whole-server operations ----------------------------------------------------------
    def start_state(self) -> None:
        """Load saved state, or seed from the scenario."""
        if self.store.persistent and self.store.load():
            self._load_clock()
            self._loaded()
        else:
            self._seed_cache = SeedCache.for_server(self.settings, self.scenario)
            try:
                self.reset()
            finally:
                self._seed_cache = None
        if self.store.persistent:  # a frozen clock stays where it is across a restart
            self.save_clock()
        self.token_secret.key()
        self.store.flush()

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
        """Back to the scenario: one API, or all (timers, webhook messages and rate-limit
        buckets too). The result is the state a fresh server with the same seed and scenario
        has at this clock reading (see the module docstring for the real clock)."""
        names = [api] if api else list(self.backends)
        for name in names:
            if name not in self.backends:
                raise KeyError(name)
        now = self.clock.now()
        reuse = {n for n in names if n in self._seeded and self._seeded[n].fits(now, self.scenario)}
        if api is None:
            self.timers.clear()  # one API's reset leaves others' timers; stale ones find nothing to do
        if self.webhooks is not None:
            for name in names:
                self.webhooks.clear(api=name)
        if api is None:
            self.store.clear("webhooks.")
            self.limiter.reset()
        changed: dict[str, set[str]] = {}
        cached: set[str] = set()
        for name in names:
            if name in reuse:
                rewound = self.store.rewind(self._seeded[name].pristine)
                if rewound is not None:
                    changed[name] = rewound
                    continue
                reuse.discard(name)  # too much written to put back row by row: seed again
            self.store.clear(f"{name}.")
            self._seeded.pop(name, None)
            if self._from_seed_cache(name, now):
                cached.add(name)
                continue
            self.backends[name].seed(self.scenario.get(name) or {})
        for name in names:
            backend = self.backends[name]
            reload = getattr(backend, "reload", None)
            if name not in reuse or reload is None:
                if name not in reuse or changed[name] or api is None:
                    backend.loaded()
            elif changed[name] or api is None:  # a full reset cleared the timers: reschedule them
                reload(changed[name] | ({"*timers"} if api is None else set()))
        for name in names:
            if name not in reuse and name not in cached:
                self._capture(name, now)
        self.store.flush()

    def _capture(self, name: str, now: float) -> None:
        """Keep what seeding produced, unless seeding also enqueued webhook messages (their
        delivery lives in the engine: such an API is seeded again at each reset). At start-up
        it also goes to the disk cache for the next server (kernel/seedcache.py)."""
        if self.webhooks is not None and self.webhooks.messages(api=name, limit=1):
            return
        seeded = self._seeded[name] = _Seeded(self.store.capture(f"{name}."), now, self.clock.mode, self.scenario)
        if self._seed_cache is not None:
            self._seed_cache.save(name, now, seeded.mode, seeded.pristine)

    def _from_seed_cache(self, name: str, now: float) -> bool:
        """At start-up: this API's tables from the disk cache, when an entry was seeded from
        the same code, scenario and settings at a clock reading this one may reuse (the rule
        a reset's capture follows, `_Seeded.fits`)."""
        if self._seed_cache is None:
            return False
        entry = self._seed_cache.load(name, f"{name}.", self.clock.mode, now)
        if entry is None:
            return False
        at, mode, pristine = entry
        seeded = _Seeded(pristine, at, mode, self.scenario)
        if mode != self.clock.mode or not seeded.fits(now, self.scenario):
            return False
        self.store.adopt(pristine)
        self._seeded[name] = seeded
        self.seeded_from_cache.add(name)
        return True

    def snapshot(self) -> dict[str, Any]:
        return {"version": 1, "clock": self.clock.snapshot(), "tables": self.token_secret.without(self.store.snapshot())}

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
        self.token_secret.key()  # held in memory before the restore empties its table
        changed = self.store.restore(self.token_secret.without(data["tables"]))
        self.token_secret.rewrite()
        if "now" in clock and self.clock.mode == "frozen":
            self.clock._jump(float(clock["now"]))
        # every timer was cleared: each backend sets its own again ("*timers"); indexes are
        # rebuilt only for the tables that changed
        for name, backend in self.backends.items():
            reload = getattr(backend, "reload", None)
            if reload is None:
                backend.loaded()
            else:
                reload({t for t in changed if t.startswith(f"{name}.")} | {"*timers"})
        if self.webhooks is not None:
            self.webhooks.reschedule_from_state()
        self._clock_moved_back()
        self.save_clock()

    def _loaded(self, names: list[str] | None = None) -> None:
        if names is None:
            self.timers.clear()
        for name in names or list(self.backends):
            self.backends[name].loaded()
        if self.webhooks is not None and names is None:
            self.webhooks.reschedule_from_state()


_VARIANT = {c: "89ab"[int(c, 16) & 3] for c in "0123456789abcdef"}  # RFC 4122 variant bits


def request_id(seed: int, n: int) -> str:
    """Request id number `n`: the sha256 of "<seed>:request:<n>", its first 16 bytes as a
    version-4 UUID (what uuid.UUID(bytes=..., version=4) makes of them, without its cost):
    the version nibble is 4, the variant's two bits 10."""
    h = hashlib.sha256(f"{seed}:request:{n}".encode()).hexdigest()
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:32]}"


def _finite_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
