"""The one clock every time-dependent thing reads, and the timers that run on it.

`Clock` answers "what time is it" in either mode:
- real: wall time plus an offset (so `set` works in real mode too);
- frozen: a fixed instant that moves only when told.

`Timers` is a small scheduler on that clock. Advancing the clock runs every timer that
falls inside the window, in time order, with the clock set to each timer's due time while
its callback runs; callbacks may schedule further timers (a webhook retry) that are run
in the same advance if they also fall inside the window. In real mode a background task
fires timers as wall time reaches them.
"""

from __future__ import annotations

import asyncio
import heapq
import inspect
import itertools
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

TimerCallback = Callable[[], Awaitable[Any] | Any]
LATEST_CLOCK = 253370764800.0  # 9998-12-31T00:00:00Z: the last instant dates can still show


class Clock:
    """Seconds since the Unix epoch as floats; frozen or real."""

    def __init__(self, mode: str = "real", start: float | None = None) -> None:
        if mode not in ("real", "frozen"):
            raise ValueError("clock mode must be 'real' or 'frozen'")
        self._mode = mode
        self._offset = 0.0
        self._frozen_at = time.time() if start is None else float(start)
        if mode == "real" and start is not None:
            self._offset = float(start) - time.time()

    @property
    def mode(self) -> str:
        return self._mode

    def now(self) -> float:
        if self._mode == "frozen":
            return self._frozen_at
        return time.time() + self._offset

    def now_ms(self) -> int:
        return int(self.now() * 1000)

    def set_mode(self, mode: str) -> None:
        """Switch mode without a jump: the time stays where it is at the switch."""
        if mode not in ("real", "frozen"):
            raise ValueError("clock mode must be 'real' or 'frozen'")
        current = self.now()
        self._mode = mode
        self._jump(current)

    def _jump(self, when: float) -> None:
        if self._mode == "frozen":
            self._frozen_at = float(when)
        else:
            self._offset = float(when) - time.time()

    def snapshot(self) -> dict[str, Any]:
        return {"mode": self._mode, "now": self.now()}


@dataclass(order=True)
class _Timer:
    when: float
    seq: int
    callback: TimerCallback = field(compare=False)
    cancelled: bool = field(default=False, compare=False)

    def cancel(self) -> None:
        self.cancelled = True


class Timers:
    """A heap of callbacks keyed by clock time."""

    def __init__(self, clock: Clock, poll_seconds: float = 0.2) -> None:
        self.clock = clock
        self._heap: list[_Timer] = []
        self._seq = itertools.count()
        self._lock = asyncio.Lock()
        self._poll = poll_seconds
        self._task: asyncio.Task[None] | None = None
        self._wake: asyncio.Event | None = None
        self._inflight: set[asyncio.Task[None]] = set()

    def call_at(self, when: float, callback: TimerCallback) -> _Timer:
        timer = _Timer(float(when), next(self._seq), callback)
        heapq.heappush(self._heap, timer)
        if self._wake is not None:
            self._wake.set()
        return timer

    def call_later(self, delay: float, callback: TimerCallback) -> _Timer:
        return self.call_at(self.clock.now() + delay, callback)

    def clear(self) -> None:
        for timer in self._heap:
            timer.cancel()
        self._heap.clear()

    def pending(self) -> int:
        return sum(1 for t in self._heap if not t.cancelled)

    def upcoming(self, limit: int) -> list[tuple[float, TimerCallback]]:
        """The next `limit` live timers as (when, callback), soonest first (read-only)."""
        live = (t for t in self._heap if not t.cancelled)
        soonest = heapq.nsmallest(max(0, limit), live, key=lambda t: (t.when, t.seq))  # tuples compare in C
        return [(t.when, t.callback) for t in soonest]

    def next_due(self) -> float | None:
        while self._heap and self._heap[0].cancelled:
            heapq.heappop(self._heap)
        return self._heap[0].when if self._heap else None

    async def advance(self, seconds: float) -> int:
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        return await self.run_until(seconds, relative=True)

    async def run_until(self, target: float, *, relative: bool = False) -> int:
        """Move the clock to `target`, firing due timers in order on the way. Returns how many fired.

        Work the background loop already started (a first delivery attempt) is awaited first,
        so a retry it schedules is seen by this advance."""
        await self.drain()
        async with self._lock:
            if relative:  # read now under the lock: two concurrent advances add up
                target = self.clock.now() + target
            fired = 0
            while True:
                due = self.next_due()
                if due is None or due > target:
                    break
                batch = self._pop_batch(due)
                if due > self.clock.now():
                    self.clock._jump(due)
                fired += len(batch)
                await asyncio.gather(*(self._run(t) for t in batch))
            if target > self.clock.now():
                self.clock._jump(target)
            return fired

    async def run_due(self, wait: bool = True) -> int:
        """Fire what is due now without moving the clock.

        With wait=False (the background loop) callbacks run as tasks, so a slow webhook
        receiver never holds up the timers behind it."""
        async with self._lock:
            fired = 0
            while True:
                due = self.next_due()
                if due is None or due > self.clock.now():
                    return fired
                batch = self._pop_batch(due)
                fired += len(batch)
                if wait:
                    await asyncio.gather(*(self._run(t) for t in batch))
                else:
                    for timer in batch:
                        task = asyncio.get_running_loop().create_task(self._run(timer))
                        self._inflight.add(task)
                        task.add_done_callback(self._inflight.discard)

    async def drain(self) -> None:
        """Wait for callbacks the background loop started (and any they start)."""
        while self._inflight:
            await asyncio.gather(*list(self._inflight), return_exceptions=True)

    def _pop_batch(self, due: float) -> list[_Timer]:
        batch = []
        while self._heap and self._heap[0].when == due:
            timer = heapq.heappop(self._heap)
            if not timer.cancelled:
                batch.append(timer)
        return batch

    @staticmethod
    async def _run(timer: _Timer) -> None:
        try:
            result = timer.callback()
            if inspect.isawaitable(result):
                await result
        except Exception:  # one failing timer must not stop the others or the clock
            logging.getLogger("mockserver.timers").exception("timer callback failed")

    # -- background firing in real mode -------------------------------------------------
    def start(self) -> None:
        if self._task is None:
            self._wake = asyncio.Event()
            self._task = asyncio.get_running_loop().create_task(self._loop())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):
                pass
            self._task = None
            self._wake = None

    async def _loop(self) -> None:
        """Fire timers as they fall due: in real mode as wall time passes, in frozen mode
        only those already due (a message enqueued "now" is sent now)."""
        assert self._wake is not None
        while True:
            self._wake.clear()
            due = self.next_due()
            wait = self._poll
            if due is not None and self.clock.mode == "real":
                wait = max(0.0, min(self._poll, due - self.clock.now()))
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=wait)
            except TimeoutError:
                pass
            await self.run_due(wait=False)
