"""The one webhook delivery engine: the outbox on the mock clock, a Svix in small.

`enqueue` stores a message record in the outbox (`outbox.py`) and schedules its first
attempt on `Timers` at the current clock time; each attempt is one real HTTP POST
(`client.py`) whose outcome is appended to the record, and a failed attempt schedules the
next one at `attempt.at + policy.delays[k]` (the API's `RetryPolicy`), so under a frozen
clock `await timers.advance(10800)` plays three hours of retries at once, in order, with
exact times. Timers are not persisted: `reschedule_from_state()` re-creates them from the
stored `next_attempt_at` after a restart or a state restore.

Wiring (app lifespan): build Store (and `store.load()` with --state), Clock, Timers, Ids,
then the engine with each API's policy; on startup `engine.reschedule_from_state()`,
`timers.start()`, `await engine.start()`; on shutdown `await timers.stop()`,
`await engine.stop()` (it flushes), `store.close()`. After `PUT /_mock/state`
(store.restore) call `reschedule_from_state()` again; on reset call `engine.clear(api)`.

Concurrency: at most `max_in_flight` requests at once (64) and `per_origin_in_flight` (8)
per receiver origin, taken in that order, so a hung receiver with a backlog holds only its
own origin's slots.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import itertools
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from mockserver.kernel.clock import Clock, Timers
from mockserver.kernel.ids import Ids
from mockserver.kernel.store import Store

from . import outbox
from .chaos import Chaos
from .client import DeliveryClient
from .outbox import ACTIVE_STATES, Outbox, Record
from .policy import RetryPolicy

if TYPE_CHECKING:
    import httpx

log = logging.getLogger("mockserver.webhooks")

Listener = Callable[[Record], Awaitable[Any] | Any]


class _OriginSlots:
    """The per-origin semaphore and how many attempts use it (dropped when none do)."""

    __slots__ = ("sem", "users")

    def __init__(self, size: int) -> None:
        self.sem = asyncio.Semaphore(size)
        self.users = 0


class WebhookEngine:
    def __init__(
        self,
        clock: Clock,
        timers: Timers,
        store: Store,
        ids: Ids,
        policies: Mapping[str, RetryPolicy],
        transport: httpx.AsyncBaseTransport | None = None,
        *,
        max_in_flight: int = 64,
        per_origin_in_flight: int = 8,
        flush_interval: float | None = 0.25,
    ) -> None:
        """`policies`: `{api name: RetryPolicy}`, one for every API that enqueues;
        `transport` replaces the sockets (tests)."""
        self.clock = clock
        self.timers = timers
        self.store = store
        self.ids = ids
        self.policies = dict(policies)
        self.outbox = Outbox(store)
        self._transport = transport
        self._client: DeliveryClient | None = None
        self._stopped = False
        self._per_origin = max(1, min(per_origin_in_flight, max_in_flight))
        self._sem = asyncio.Semaphore(max_in_flight)
        self._origin_slots: dict[str, _OriginSlots] = {}
        self._timer_of: dict[str, Any] = {}  # message id -> its scheduled Timers entry
        self._gen_of: dict[str, int] = {}  # message id -> generation of its current schedule
        self._gens = itertools.count(1)
        # An attempt still in flight when its message was cleared (or all state restored)
        # belongs to a message that no longer exists as such (a reset may even reuse its id):
        # its outcome is dropped. Generations below the floor (global after a full clear or a
        # restore, per message after a partial clear) are such attempts.
        self._gen_floor = 0
        self._gen_floor_of: dict[str, int] = {}
        self._listeners: list[Listener] = []
        self._flush_interval = flush_interval
        self._flush_handle: asyncio.TimerHandle | None = None
        self.chaos: Chaos | None = None  # set to deliver some messages late or twice

    # -- lifecycle ----------------------------------------------------------------------
    async def start(self) -> None:
        """Get ready to deliver (the HTTP clients open on first use)."""
        self._stopped = False
        if self._client is None:
            self._client = DeliveryClient(self._per_origin, self._transport)

    async def stop(self) -> None:
        """Close the HTTP clients. Attempts still in flight are not recorded: their messages
        keep their state and are attempted again after `reschedule_from_state()`."""
        self._stopped = True
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush()

    # -- writing ------------------------------------------------------------------------
    def enqueue(
        self,
        api: str,
        endpoint_id: str,
        url: str,
        body: dict[str, Any] | list[Any],
        headers: dict[str, str],
        *,
        event_type: str,
        message_id: str | None = None,
        meta: dict[str, Any] | None = None,
    ) -> Record:
        """Store a message and schedule its first attempt now. Returns the record.

        An existing `message_id` is idempotent: the stored record is returned unchanged.
        A body that is not JSON-serialisable raises TypeError here, not at delivery."""
        if api not in self.policies:
            raise ValueError(f"no webhook retry policy for api {api!r}")
        if message_id is not None:
            existing = self.outbox.get(message_id)
            if existing is not None:
                return existing
        payload = outbox.serialise(body)  # TypeError now, before an id is used
        meta_copy = outbox.json_copy(meta) if meta else {}
        mid = message_id or self.ids.uuid("webhook_message")
        now = self.clock.now()
        record = outbox.new_record(mid, api, endpoint_id, url, payload, headers,
                                   event_type=event_type, meta=meta_copy, now=now)  # fmt: skip
        plan = self.chaos.plan(api, endpoint_id) if self.chaos is not None else None
        if plan is not None:  # opt-in delivery chaos (chaos.py): later, or twice
            record["chaos"] = plan.note()
            record["next_attempt_at"] = now + plan.delay
        self.outbox.put(record, payload)
        self._schedule(record["id"], record["next_attempt_at"])
        if plan is not None and plan.duplicate_delay is not None:
            record = self._duplicate(record, plan.duplicate_delay)
        return record

    def _duplicate(self, original: Record, delay: float) -> Record:
        """A second message with the same body and headers (chaos); returns the original, updated."""
        copy_id = self.ids.uuid("webhook_message")
        when = original["created_at"] + delay
        copy = {**original, "id": copy_id, "next_attempt_at": when,
                "chaos": {"delay": round(delay, 3), "held_back": False, "duplicate_of": original["id"]}}  # fmt: skip
        self.outbox.put(copy)
        self._schedule(copy_id, when)
        return self.outbox.put({**original, "chaos": {**original["chaos"], "duplicated_by": copy_id}})

    def resend(self, message_id: str) -> Record:
        """Start a new attempt cycle now, whatever the state (attempts are kept)."""
        now = self.clock.now()
        record = self.outbox.put(outbox.resent(self.outbox.require(message_id), now))
        self._schedule(message_id, now)
        return record

    def retarget(self, message_id: str, url: str, headers: dict[str, str]) -> Record:
        """Send later attempts of a message to a new URL with new headers (an endpoint was
        edited); the body and the attempt history stay."""
        msg = self.outbox.require(message_id)
        if msg["url"] == url and msg["headers"] == headers:
            return msg
        return self.outbox.put(outbox.retargeted(msg, url, headers))

    def cancel(self, message_id: str, reason: str = "canceled by request") -> Record:
        """Stop retrying a pending or failed message (a deleted endpoint, a control-plane call)."""
        msg = self.outbox.require(message_id)
        if msg["state"] not in ACTIVE_STATES:
            return msg
        self._unschedule(message_id)
        return self.outbox.put(outbox.canceled(msg, reason))

    def clear(self, api: str | None = None, endpoint_id: str | None = None) -> int:
        """Drop messages (all, one API's, or one endpoint's) and their timers. Returns how many."""
        dropped = 0
        for mid, msg in self.outbox.records():
            if api is not None and msg.get("api") != api:
                continue
            if endpoint_id is not None and msg.get("endpoint_id") != endpoint_id:
                continue
            self._unschedule(mid)
            self.outbox.delete(mid)
            self._gen_floor_of[mid] = next(self._gens)
            dropped += 1
        if api is None and endpoint_id is None:
            self._gen_floor, self._gen_floor_of = next(self._gens), {}
        return dropped

    def reschedule_from_state(self) -> int:
        """Forget every timer and re-create one for each pending/failed message at its stored
        `next_attempt_at` (now when missing; overdue ones fire at the next run). Call after
        loading saved state and after any restore. Returns how many were scheduled."""
        for timer in self._timer_of.values():
            timer.cancel()
        self._timer_of.clear()
        self._gen_of.clear()
        self.outbox.forget_payloads()
        self._gen_floor, self._gen_floor_of = next(self._gens), {}
        now = self.clock.now()
        scheduled = 0
        for mid, msg in self.outbox.records():
            if msg.get("state") not in ACTIVE_STATES:
                continue
            when = msg.get("next_attempt_at")
            self._schedule(mid, now if when is None else float(when))
            scheduled += 1
        return scheduled

    # -- reading ------------------------------------------------------------------------
    def get(self, message_id: str) -> Record | None:
        """The stored record (an immutable value: do not mutate it)."""
        return self.outbox.get(message_id)

    def messages(
        self,
        api: str | None = None,
        endpoint_id: str | None = None,
        state: str | None = None,
        event_type: str | None = None,
        limit: int | None = None,
    ) -> list[Record]:
        """Matching records, newest first (creation time, then insertion order)."""
        return self.outbox.messages(api, endpoint_id, state, event_type, limit)

    def stats(
        self,
        api: str,
        endpoint_id: str | None = None,
        since: float | None = None,
        until: float | None = None,
    ) -> dict[str, int]:
        """Real counts. With since/until (clock seconds, half-open), messages are counted by
        creation time and attempts by their own `at`."""
        return self.outbox.stats(api, endpoint_id, since, until)

    # -- listeners ----------------------------------------------------------------------
    def add_listener(self, callback: Listener) -> None:
        """`callback(record)` (sync or async) after every recorded attempt."""
        self._listeners.append(callback)

    def remove_listener(self, callback: Listener) -> None:
        if callback in self._listeners:
            self._listeners.remove(callback)

    # -- scheduling ---------------------------------------------------------------------
    def _schedule(self, mid: str, when: float) -> None:
        self._unschedule(mid)
        gen = next(self._gens)
        self._gen_of[mid] = gen
        self._timer_of[mid] = self.timers.call_at(when, functools.partial(self._fire, mid, gen))

    def _unschedule(self, mid: str) -> None:
        timer = self._timer_of.pop(mid, None)
        if timer is not None:
            timer.cancel()
        self._gen_of.pop(mid, None)

    async def _fire(self, mid: str, gen: int) -> None:
        if self._gen_of.get(mid) != gen:
            return  # superseded by resend / cancel / clear / reschedule
        self._timer_of.pop(mid, None)
        msg = self.outbox.get(mid)
        if msg is None or msg.get("state") not in ACTIVE_STATES:
            return
        try:
            await self._attempt(mid, gen)
        except Exception:  # never let one delivery break the timers; the message stays active
            log.exception("webhook attempt for %s failed unexpectedly", mid)

    # -- one attempt --------------------------------------------------------------------
    async def _attempt(self, mid: str, gen: int) -> None:
        msg = self.outbox.get(mid)
        if msg is None:
            return
        # Per-origin slot first, then a global one: messages queued for a slow or dead
        # receiver wait on their own origin and never hold the slots other receivers need.
        origin = _origin(msg["url"])
        slots = self._origin_slots.get(origin)
        if slots is None:
            slots = self._origin_slots[origin] = _OriginSlots(self._per_origin)
        slots.users += 1
        try:
            async with slots.sem, self._sem:
                sent = await self._send(mid, gen)
        finally:
            slots.users -= 1
            if slots.users == 0 and self._origin_slots.get(origin) is slots:
                del self._origin_slots[origin]
        if sent is None or self._stopped:
            return  # superseded, or shutting down: redone after restart (at-least-once)
        attempt, policy = sent
        record = self._record(mid, gen, attempt, policy)
        if record is not None:
            self._schedule_flush()
            await self._notify(record)

    async def _send(self, mid: str, gen: int) -> tuple[dict[str, Any], RetryPolicy] | None:
        """One POST for the message's current cycle; the attempt entry, not yet recorded."""
        msg = self.outbox.get(mid)
        if msg is None or self._gen_of.get(mid) != gen or self._stopped:
            return None
        policy = self.policies[msg["api"]]
        number = outbox.attempt_number(msg)
        payload = self.outbox.payload(msg)
        headers = _request_headers(msg.get("headers") or {}, policy)
        if self._client is None:
            self._client = DeliveryClient(self._per_origin, self._transport)
        at = self.clock.now()
        started = time.perf_counter()
        outcome = await self._client.post(msg["url"], payload, headers, policy)
        latency_ms = round((time.perf_counter() - started) * 1000.0, 3)
        return outbox.new_attempt(number, at, outcome, latency_ms, policy), policy

    def _record(self, mid: str, gen: int, attempt: dict[str, Any], policy: RetryPolicy) -> Record | None:
        msg = self.outbox.get(mid)
        if msg is None or gen < max(self._gen_floor, self._gen_floor_of.get(mid, 0)):
            return None  # cleared, reset or restored while in flight
        if self._gen_of.get(mid) != gen:
            # Resent or rescheduled while in flight: keep the attempt (it happened), leave the
            # state to the newer cycle.
            return self.outbox.put(outbox.with_attempt(msg, attempt))
        self._timer_of.pop(mid, None)
        self._gen_of.pop(mid, None)
        record = self.outbox.put(outbox.after_attempt(msg, attempt, policy))
        if record["state"] == "failed":
            self._schedule(mid, record["next_attempt_at"])
        return record

    def _schedule_flush(self) -> None:
        """Attempts happen outside any request, so nothing else would write their outcome
        to disk: with a persistent store, flush at most every `flush_interval` seconds."""
        if self._flush_interval is None or self._flush_handle is not None or not self.store.persistent:
            return
        self._flush_handle = asyncio.get_running_loop().call_later(self._flush_interval, self._flush)

    def _flush(self) -> None:
        self._flush_handle = None
        try:
            self.store.flush()
        except Exception:  # the rows stay dirty and are written by the next flush
            log.exception("flushing webhook state failed")

    async def _notify(self, record: Record) -> None:
        for callback in list(self._listeners):
            try:
                result = callback(record)
                if inspect.isawaitable(result):
                    await result
            except Exception:
                log.exception("webhook listener failed")


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower() if parts.netloc else url


def _request_headers(stored: dict[str, str], policy: RetryPolicy) -> dict[str, str]:
    headers = dict(stored)
    names = {k.lower() for k in headers}
    if "content-type" not in names:
        headers["Content-Type"] = "application/json"
    if "user-agent" not in names and policy.user_agent:
        headers["User-Agent"] = policy.user_agent
    return headers
