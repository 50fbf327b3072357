"""The one webhook delivery engine: a durable outbox, per-API retry policies, an attempt log.

A small Svix on the mock clock. `enqueue` writes a message record to the store table
`webhooks.messages` and schedules its first attempt on `Timers` at the current clock time;
each attempt is a real HTTP POST (httpx) whose outcome is appended to the record, and a
failed attempt schedules the next one at `attempt.at + policy.delays[k]`, so under a frozen
clock `await timers.advance(10800)` plays three hours of retries at once, in order, with
exact times.

Records are immutable values: every change builds a new dict and goes through
`table.put`, so snapshots, restore and SQLite persistence see every state change, and a
record a caller holds never changes under it. Timers are not persisted:
`reschedule_from_state()` re-creates them from the stored `next_attempt_at` after a restart
or a state restore.

States: `pending` (not attempted in the current cycle), `sent` (a 2xx), `failed` (the last
attempt failed and a retry is scheduled), `canceled` (gave up, a 4xx under a cancel-on-4xx
policy, or canceled by hand).

A message record:

    {"id", "api", "endpoint_id", "url", "event_type", "body", "headers", "state",
     "created_at", "next_attempt_at", "attempts": [attempt, ...], "last_error", "meta"}

An attempt:

    {"number" (1-based within its cycle; `resend` starts a new cycle), "at" (clock time the
     attempt started), "status" (int | None), "latency_ms" (real wall time),
     "response_excerpt" (first 500 chars), "error" (None or a readable reason),
     "error_message" (only under store_error_body policies: the receiver's {"error": ...})}

Wiring (app lifespan): build Store (and `store.load()` with --state), Clock, Timers, Ids,
then the engine; on startup `engine.reschedule_from_state()`, `timers.start()`,
`await engine.start()`; on shutdown `await timers.stop()`, `await engine.stop()` (it
flushes), `store.close()`. After `PUT /_mock/state` (store.restore) call
`reschedule_from_state()` again; on reset call `engine.clear(api)`.

Concurrency: at most `max_in_flight` requests at once (64) and `per_origin_in_flight` (8)
per receiver origin, taken in that order, so a hung receiver with a backlog holds only its
own origin's slots. Each origin gets its own small httpx connection pool behind the one
client.
"""

from __future__ import annotations

import asyncio
import errno
import functools
import inspect
import itertools
import json
import logging
import socket
import ssl
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

import httpx

from mockserver.kernel.clock import Clock, Timers
from mockserver.kernel.ids import Ids
from mockserver.kernel.store import Store

from .chaos import Chaos
from .http1 import DeliveryFailed, Http1Pool, head_of, target_of
from .policies import RetryPolicy

log = logging.getLogger("mockserver.webhooks")

MESSAGES_TABLE = "webhooks.messages"
STATES = ("pending", "sent", "failed", "canceled")
ACTIVE_STATES = frozenset({"pending", "failed"})
RESPONSE_EXCERPT_CHARS = 500
MAX_READ_BYTES = 64 * 1024
DEFAULT_USER_AGENT = "mockserver-webhooks/0.1"

Listener = Callable[[dict[str, Any]], Awaitable[Any] | Any]


class WebhookEngine:
    def __init__(
        self,
        clock: Clock,
        timers: Timers,
        store: Store,
        ids: Ids,
        policies: dict[str, RetryPolicy],
        transport: httpx.AsyncBaseTransport | None = None,
        *,
        max_in_flight: int = 64,
        per_origin_in_flight: int = 8,
        flush_interval: float | None = 0.25,
    ) -> None:
        self.clock = clock
        self.timers = timers
        self.store = store
        self.ids = ids
        self.policies = dict(policies)
        self._transport = transport
        self._max_in_flight = max_in_flight
        self._table = store.table(MESSAGES_TABLE)
        self._client: httpx.AsyncClient | None = None
        self._fast: Http1Pool | None = None  # plain http:// deliveries (see http1.py)
        self._stopped = False
        self._per_origin = max(1, min(per_origin_in_flight, max_in_flight))
        self._sem = asyncio.Semaphore(max_in_flight)
        self._origin_sems: dict[str, list[Any]] = {}  # origin -> [Semaphore, users]
        self._timer_of: dict[str, Any] = {}  # message id -> its scheduled Timers entry
        self._gen_of: dict[str, int] = {}  # message id -> generation of its current schedule
        self._gens = itertools.count(1)
        # An attempt still in flight when its message was cleared (or all state restored)
        # belongs to a message that no longer exists as such (a reset may even reuse its id):
        # its outcome is dropped. Generations below the floor (global after a full clear or a
        # restore, per message after a partial clear) are such attempts.
        self._gen_floor = 0
        self._gen_floor_of: dict[str, int] = {}
        # message id -> (the stored body object, the bytes sent on every attempt); the body is
        # compared by identity, so a record replaced behind our back (restore) is re-serialised
        self._payloads: dict[str, tuple[Any, bytes]] = {}
        self._listeners: list[Listener] = []
        self._flush_interval = flush_interval
        self._flush_handle: asyncio.TimerHandle | None = None
        self.chaos: Chaos | None = None  # set to deliver some messages late or twice

    # -- lifecycle ----------------------------------------------------------------------
    async def start(self) -> None:
        """Open the HTTP client (one for every delivery; no proxies from the environment)."""
        self._stopped = False
        if self._client is None:
            self._client = self._new_client()

    async def stop(self) -> None:
        """Close the HTTP client. Attempts still in flight are not recorded: their messages
        keep their state and are attempted again after `reschedule_from_state()`."""
        self._stopped = True
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()
        fast, self._fast = self._fast, None
        if fast is not None:
            await fast.aclose()
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush()

    def _new_client(self) -> httpx.AsyncClient:
        transport = self._transport
        if transport is None:
            transport = _OriginPools(self._per_origin)
        return httpx.AsyncClient(
            transport=transport,
            trust_env=False,
            headers={"User-Agent": DEFAULT_USER_AGENT},
        )

    # -- writing ------------------------------------------------------------------------
    def enqueue(
        self,
        api: str,
        endpoint_id: str,
        url: str,
        body: dict | list,
        headers: dict[str, str],
        *,
        event_type: str,
        message_id: str | None = None,
        meta: dict | None = None,
    ) -> dict[str, Any]:
        """Store a message and schedule its first attempt now. Returns the record.

        An existing `message_id` is idempotent: the stored record is returned unchanged.
        A body that is not JSON-serialisable raises TypeError here, not at delivery."""
        if api not in self.policies:
            raise ValueError(f"no webhook retry policy for api {api!r}")
        if message_id is not None and message_id in self._table:
            return self._table[message_id]
        payload = json.dumps(body, separators=(",", ":")).encode()
        meta_copy = json.loads(json.dumps(meta)) if meta else {}
        mid = message_id or self.ids.uuid("webhook_message")
        now = self.clock.now()
        record = {
            "id": mid,
            "api": api,
            "endpoint_id": endpoint_id,
            "url": url,
            "event_type": event_type,
            "body": json.loads(payload),
            "headers": {str(k): str(v) for k, v in headers.items()},
            "state": "pending",
            "created_at": now,
            "next_attempt_at": now,
            "attempts": [],
            "last_error": None,
            "meta": meta_copy,
        }
        plan = self.chaos.plan(api, endpoint_id) if self.chaos is not None else None
        if plan is not None:  # opt-in delivery chaos (webhooks/chaos.py): later, or twice
            record["chaos"] = plan.note()
            record["next_attempt_at"] = now + plan.delay
        self._table.put(mid, record)
        self._payloads[mid] = (record["body"], payload)
        self._schedule(mid, record["next_attempt_at"])
        if plan is not None and plan.duplicate_delay is not None:
            record = self._duplicate(record, plan.duplicate_delay)
        return record

    def _duplicate(self, original: dict[str, Any], delay: float) -> dict[str, Any]:
        """A second message with the same body and headers (chaos); returns the original, updated."""
        copy_id = self.ids.uuid("webhook_message")
        when = original["created_at"] + delay
        copy = {**original, "id": copy_id, "next_attempt_at": when,
                "chaos": {"delay": round(delay, 3), "held_back": False, "duplicate_of": original["id"]}}
        self._table.put(copy_id, copy)
        self._schedule(copy_id, when)
        updated = {**original, "chaos": {**original["chaos"], "duplicated_by": copy_id}}
        self._table.put(original["id"], updated)
        return updated

    def resend(self, message_id: str) -> dict[str, Any]:
        """Start a new attempt cycle now, whatever the state (attempts are kept)."""
        msg = self._table.get(message_id)
        if msg is None:
            raise KeyError(message_id)
        now = self.clock.now()
        record = {**msg, "state": "pending", "next_attempt_at": now, "last_error": None}
        self._table.put(message_id, record)
        self._schedule(message_id, now)
        return record

    def retarget(self, message_id: str, url: str, headers: dict[str, str]) -> dict[str, Any]:
        """Send later attempts of a message to a new URL with new headers (an endpoint was
        edited); the body and the attempt history stay."""
        msg = self._table.get(message_id)
        if msg is None:
            raise KeyError(message_id)
        if msg["url"] == url and msg["headers"] == headers:
            return msg
        record = {**msg, "url": url, "headers": dict(headers)}
        self._table.put(message_id, record)
        return record

    def cancel(self, message_id: str, reason: str = "canceled by request") -> dict[str, Any]:
        """Stop retrying a pending or failed message (a deleted endpoint, a control-plane call)."""
        msg = self._table.get(message_id)
        if msg is None:
            raise KeyError(message_id)
        if msg["state"] not in ACTIVE_STATES:
            return msg
        self._unschedule(message_id)
        record = {**msg, "state": "canceled", "next_attempt_at": None, "last_error": reason}
        self._table.put(message_id, record)
        return record

    def clear(self, api: str | None = None, endpoint_id: str | None = None) -> int:
        """Drop messages (all, one API's, or one endpoint's) and their timers. Returns how many."""
        dropped = 0
        for mid, msg in list(self._table.items()):
            if api is not None and msg.get("api") != api:
                continue
            if endpoint_id is not None and msg.get("endpoint_id") != endpoint_id:
                continue
            self._unschedule(mid)
            self._payloads.pop(mid, None)
            self._table.delete(mid)
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
        self._payloads.clear()
        self._gen_floor, self._gen_floor_of = next(self._gens), {}
        now = self.clock.now()
        scheduled = 0
        for mid, msg in list(self._table.items()):
            if msg.get("state") not in ACTIVE_STATES:
                continue
            when = msg.get("next_attempt_at")
            self._schedule(mid, now if when is None else float(when))
            scheduled += 1
        return scheduled

    # -- reading ------------------------------------------------------------------------
    def get(self, message_id: str) -> dict[str, Any] | None:
        """The stored record (an immutable value: do not mutate it)."""
        return self._table.get(message_id)

    def messages(
        self,
        api: str | None = None,
        endpoint_id: str | None = None,
        state: str | None = None,
        event_type: str | None = None,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        """Matching records, newest first (creation time, then insertion order)."""
        rows = [
            m
            for m in reversed(list(self._table.values()))
            if (api is None or m.get("api") == api)
            and (endpoint_id is None or m.get("endpoint_id") == endpoint_id)
            and (state is None or m.get("state") == state)
            and (event_type is None or m.get("event_type") == event_type)
        ]
        rows.sort(key=lambda m: m.get("created_at") or 0.0, reverse=True)  # stable: ties stay newest first
        return rows if limit is None else rows[: max(0, limit)]

    def stats(
        self,
        api: str,
        endpoint_id: str | None = None,
        since: float | None = None,
        until: float | None = None,
    ) -> dict[str, int]:
        """Real counts. With since/until (clock seconds, half-open), messages are counted by
        creation time and attempts by their own `at`."""
        out = {
            "messages": 0,
            "sent": 0,
            "failed": 0,
            "canceled": 0,
            "pending": 0,
            "attempts": 0,
            "successful_attempts": 0,
        }
        for m in self._table.values():
            if m.get("api") != api or (endpoint_id is not None and m.get("endpoint_id") != endpoint_id):
                continue
            if _in_window(m.get("created_at"), since, until):
                out["messages"] += 1
                state = m.get("state")
                if state in out:
                    out[state] += 1
            for attempt in m.get("attempts", ()):
                if _in_window(attempt.get("at"), since, until):
                    out["attempts"] += 1
                    status = attempt.get("status")
                    if status is not None and 200 <= status < 300:
                        out["successful_attempts"] += 1
        return out

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
        msg = self._table.get(mid)
        if msg is None or msg.get("state") not in ACTIVE_STATES:
            return
        try:
            await self._attempt(mid, gen)
        except Exception:  # never let one delivery break the timers; the message stays active
            log.exception("webhook attempt for %s failed unexpectedly", mid)

    # -- one attempt --------------------------------------------------------------------
    async def _attempt(self, mid: str, gen: int) -> None:
        msg = self._table.get(mid)
        if msg is None:
            return
        # Per-origin slot first, then a global one: messages queued for a slow or dead
        # receiver wait on their own origin and never hold the slots other receivers need.
        origin = _origin(msg["url"])
        entry = self._origin_sems.get(origin)
        if entry is None:
            entry = self._origin_sems[origin] = [asyncio.Semaphore(self._per_origin), 0]
        entry[1] += 1
        try:
            async with entry[0], self._sem:
                sent = await self._send(mid, gen)
        finally:
            entry[1] -= 1
            if entry[1] == 0 and self._origin_sems.get(origin) is entry:
                del self._origin_sems[origin]
        if sent is None or self._stopped:
            return  # superseded, or shutting down: redone after restart (at-least-once)
        attempt, policy = sent
        record = self._record(mid, gen, attempt, policy)
        if record is not None:
            self._schedule_flush()
            await self._notify(record)

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

    async def _send(self, mid: str, gen: int) -> tuple[dict[str, Any], RetryPolicy] | None:
        """One POST for the message's current cycle; the attempt entry, not yet recorded."""
        msg = self._table.get(mid)
        if msg is None or self._gen_of.get(mid) != gen or self._stopped:
            return None
        policy = self.policies[msg["api"]]
        previous = msg.get("attempts") or []
        if msg["state"] == "pending" or not previous:
            number = 1
        else:
            number = int(previous[-1].get("number", len(previous))) + 1
        cached = self._payloads.get(mid)
        if cached is not None and cached[0] is msg["body"]:
            payload = cached[1]
        else:
            payload = json.dumps(msg["body"], separators=(",", ":")).encode()
            self._payloads[mid] = (msg["body"], payload)
        headers = _request_headers(msg.get("headers") or {}, policy)
        at = self.clock.now()
        started = time.perf_counter()
        status, text, error, error_message = await self._post(msg["url"], payload, headers, policy)
        attempt: dict[str, Any] = {
            "number": number,
            "at": at,
            "status": status,
            "latency_ms": round((time.perf_counter() - started) * 1000.0, 3),
            "response_excerpt": text[:RESPONSE_EXCERPT_CHARS],
            "error": error,
        }
        if policy.store_error_body:
            attempt["error_message"] = error_message
        return attempt, policy

    def _record(self, mid: str, gen: int, attempt: dict[str, Any], policy: RetryPolicy) -> dict | None:
        msg = self._table.get(mid)
        if msg is None or gen < max(self._gen_floor, self._gen_floor_of.get(mid, 0)):
            return None  # cleared, reset or restored while in flight
        record = {**msg, "attempts": [*msg.get("attempts", ()), attempt]}
        if self._gen_of.get(mid) != gen:
            # Resent or rescheduled while in flight: keep the attempt (it happened), leave the
            # state to the newer cycle.
            self._table.put(mid, record)
            return record
        self._timer_of.pop(mid, None)
        self._gen_of.pop(mid, None)
        status = attempt["status"]
        if status is not None and 200 <= status < 300:
            record.update(state="sent", next_attempt_at=None, last_error=None)
        elif policy.cancel_on_4xx and status is not None and 400 <= status < 500:
            record.update(
                state="canceled",
                next_attempt_at=None,
                last_error=f"{attempt['error']} (a 4xx answer cancels delivery)",
            )
        elif attempt["number"] <= len(policy.delays):
            when = attempt["at"] + float(policy.delays[attempt["number"] - 1])
            record.update(state="failed", next_attempt_at=when, last_error=attempt["error"])
        else:
            record.update(
                state="canceled",
                next_attempt_at=None,
                last_error=f"{attempt['error']} (gave up after {attempt['number']} attempts)",
            )
        if record["state"] != "failed":
            self._payloads.pop(mid, None)
        self._table.put(mid, record)
        if record["state"] == "failed":
            self._schedule(mid, record["next_attempt_at"])
        return record

    async def _notify(self, record: dict[str, Any]) -> None:
        for callback in list(self._listeners):
            try:
                result = callback(record)
                if inspect.isawaitable(result):
                    await result
            except Exception:
                log.exception("webhook listener failed")

    async def _post(
        self, url: str, payload: bytes, headers: dict[str, str], policy: RetryPolicy
    ) -> tuple[int | None, str, str | None, str | None]:
        """POST once. Returns (status, response text, error reason, receiver error message);
        every failure becomes a reason, nothing escapes."""
        if self._transport is None and not policy.follow_redirects:
            target = target_of(url)
            head = head_of(target, headers, len(payload)) if target is not None else None
            if target is not None and head is not None:
                return await self._post_fast(target, head, payload, policy)
        if self._client is None:
            self._client = self._new_client()
        client = self._client
        status: int | None = None
        text = ""
        error_message: str | None = None
        try:
            async with asyncio.timeout(policy.timeout):
                async with client.stream(
                    "POST",
                    url,
                    content=payload,
                    headers=headers,
                    timeout=policy.timeout,
                    follow_redirects=policy.follow_redirects,
                ) as response:
                    status = response.status_code
                    raw = await _read_capped(response)
                    text = _decode(raw, response.charset_encoding)
        except (TimeoutError, httpx.TimeoutException):
            return status, text, f"timeout after {policy.timeout:g}s", None
        except httpx.TooManyRedirects:
            return status, text, "too many redirects", None
        except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
            return None, "", f"invalid URL: {exc}", None
        except httpx.ConnectError as exc:
            return None, "", _connect_reason(exc), None
        except httpx.RemoteProtocolError as exc:
            return status, text, _protocol_reason(exc, status), None
        except (httpx.ReadError, httpx.WriteError, httpx.NetworkError) as exc:
            return status, text, _network_reason(exc), None
        except httpx.HTTPError as exc:
            return status, text, f"request failed: {_describe(exc)}", None
        except (OSError, ssl.SSLError) as exc:
            return status, text, _network_reason(exc), None
        except Exception as exc:  # a transport bug must not kill the engine
            return status, text, f"delivery error: {_describe(exc)}", None

        if 200 <= status < 300:
            return status, text, None, None
        if 300 <= status < 400 and "location" in response.headers:
            error = f"redirect to {response.headers['location']} not followed"
        else:
            error = f"HTTP {status}"
        if policy.store_error_body and status >= 400:
            error_message = _error_message(response.headers.get("content-type", ""), text, policy)
        return status, text, error, error_message


    async def _post_fast(self, target: Any, head: bytes, payload: bytes, policy: RetryPolicy) -> tuple[int | None, str, str | None, str | None]:
        """`_post` over the small HTTP/1.1 client: the same outcomes and reasons."""
        if self._fast is None:
            self._fast = Http1Pool(self._per_origin)
        try:
            async with asyncio.timeout(policy.timeout):
                answer = await self._fast.post(target, head, payload, MAX_READ_BYTES)
        except TimeoutError:
            return None, "", f"timeout after {policy.timeout:g}s", None
        except DeliveryFailed as exc:
            return exc.status, "", exc.reason, None
        except Exception as exc:  # a client bug must not kill the engine
            return None, "", f"delivery error: {_describe(exc)}", None
        status = answer.status
        text = _decode(answer.body, answer.charset)
        if 200 <= status < 300:
            return status, text, None, None
        if 300 <= status < 400 and "location" in answer.headers:
            error = f"redirect to {answer.headers['location']} not followed"
        else:
            error = f"HTTP {status}"
        error_message = None
        if policy.store_error_body and status >= 400:
            error_message = _error_message(answer.headers.get("content-type", ""), text, policy)
        return status, text, error, error_message


# -- transport -------------------------------------------------------------------------------
# httpcore writes a request's head and body separately: without TCP_NODELAY, Nagle's
# algorithm holds the body until the receiver's delayed ACK (~40 ms on Linux), which capped
# a keep-alive connection at about 25 deliveries a second.
_SOCKET_OPTIONS = [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]

class _OriginPools(httpx.AsyncBaseTransport):
    """One small connection pool per receiver origin behind the one client.

    httpcore's pool bookkeeping is quadratic in its connection count, so one shared pool
    of 64 connections costs far more per request than several pools of a few each. Pools
    stay open for reuse (keep-alive); beyond `max_pools`, the least recently used idle
    ones are closed."""

    def __init__(self, per_origin: int, max_pools: int = 64) -> None:
        self._per_origin = per_origin
        self._max_pools = max_pools
        self._ssl = httpx.create_ssl_context()  # loading CA certificates once, not per pool
        self._pools: dict[tuple[str, str, int | None], httpx.AsyncHTTPTransport] = {}
        self._active: dict[tuple[str, str, int | None], int] = {}
        self._closing: set[asyncio.Task[None]] = set()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        key = (request.url.scheme, request.url.host, request.url.port)
        pool = self._pools.pop(key, None)
        if pool is None:
            limits = httpx.Limits(
                max_connections=self._per_origin, max_keepalive_connections=self._per_origin
            )
            pool = httpx.AsyncHTTPTransport(verify=self._ssl, limits=limits, socket_options=_SOCKET_OPTIONS)
        self._pools[key] = pool  # most recently used last
        self._active[key] = self._active.get(key, 0) + 1
        try:
            response = await pool.handle_async_request(request)
        except BaseException:
            self._release(key)
            raise
        response.stream = _ReleasingStream(response.stream, functools.partial(self._release, key))
        return response

    def _release(self, key: tuple[str, str, int | None]) -> None:
        self._active[key] -= 1
        if not self._active[key]:
            del self._active[key]
        excess = len(self._pools) - self._max_pools
        for old in [k for k in self._pools if k not in self._active][: max(0, excess)]:
            task = asyncio.get_running_loop().create_task(self._pools.pop(old).aclose())
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)

    async def aclose(self) -> None:
        pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            await pool.aclose()
        if self._closing:
            await asyncio.gather(*self._closing, return_exceptions=True)


class _ReleasingStream(httpx.AsyncByteStream):
    def __init__(self, inner: Any, on_close: Callable[[], None]) -> None:
        self._inner = inner
        self._on_close: Callable[[], None] | None = on_close

    async def __aiter__(self):  # noqa: ANN204 - async generator
        async for chunk in self._inner:
            yield chunk

    async def aclose(self) -> None:
        try:
            await self._inner.aclose()
        finally:
            if self._on_close is not None:
                on_close, self._on_close = self._on_close, None
                on_close()


# -- helpers ---------------------------------------------------------------------------------
def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower() if parts.netloc else url


def _decode(raw: bytes, charset: str | None) -> str:
    try:
        text = raw.decode(charset or "utf-8", errors="replace")
    except LookupError:  # a charset Python does not know
        text = raw.decode("utf-8", errors="replace")
    # a receiver's charset (utf-7, unicode_escape) can produce lone surrogates, which no
    # later read of the attempt could encode: replace them
    return text if text.isascii() else text.encode("utf-8", "replace").decode("utf-8")


def _in_window(value: float | None, since: float | None, until: float | None) -> bool:
    if since is None and until is None:
        return True
    if value is None:
        return False
    return (since is None or value >= since) and (until is None or value < until)


def _request_headers(stored: dict[str, str], policy: RetryPolicy) -> dict[str, str]:
    headers = dict(stored)
    names = {k.lower() for k in headers}
    if "content-type" not in names:
        headers["Content-Type"] = "application/json"
    if "user-agent" not in names and policy.user_agent:
        headers["User-Agent"] = policy.user_agent
    return headers


async def _read_capped(response: httpx.Response, cap: int = MAX_READ_BYTES) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size >= cap:
            break
    return b"".join(chunks)[:cap]


def _error_message(content_type: str, text: str, policy: RetryPolicy) -> str | None:
    if "json" not in content_type.lower():
        return None
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if not isinstance(data, dict) or "error" not in data or data["error"] is None:
        return None
    value = data["error"]
    message = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
    return message[: policy.error_excerpt_limit]


def _causes(exc: BaseException) -> Iterable[BaseException]:
    seen: set[int] = set()
    stack: list[BaseException] = [exc]
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        for nxt in (current.__cause__, current.__context__):
            if nxt is not None:
                stack.append(nxt)
        stack.extend(getattr(current, "exceptions", ()))  # ExceptionGroup from happy eyeballs


def _has_errno(exc: BaseException, *codes: int) -> bool:
    return any(isinstance(e, OSError) and e.errno in codes for e in _causes(exc))


def _describe(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _connect_reason(exc: BaseException) -> str:
    text = " ".join(str(e) for e in _causes(exc)).lower()
    if (
        any(isinstance(e, ConnectionRefusedError) for e in _causes(exc))
        or _has_errno(exc, errno.ECONNREFUSED)
        or "refused" in text
    ):
        return "connection refused"
    if any(isinstance(e, socket.gaierror) for e in _causes(exc)) or "name or service not known" in text:
        return "could not resolve host"
    if _has_errno(exc, errno.ENETUNREACH, errno.EHOSTUNREACH) or "unreachable" in text:
        return "host unreachable"
    if any(isinstance(e, ssl.SSLError) for e in _causes(exc)) or "ssl" in text:
        return f"TLS error: {_describe(exc)}"
    if "all connection attempts failed" in text:
        return "connection refused"
    return f"connection failed: {_describe(exc)}"


def _network_reason(exc: BaseException) -> str:
    text = " ".join(str(e) for e in _causes(exc)).lower()
    if (
        any(isinstance(e, ConnectionResetError) for e in _causes(exc))
        or _has_errno(exc, errno.ECONNRESET, errno.EPIPE)
        or "reset" in text
    ):
        return "connection reset"
    if any(isinstance(e, ssl.SSLError) for e in _causes(exc)):
        return f"TLS error: {_describe(exc)}"
    return f"network error: {_describe(exc)}"


def _protocol_reason(exc: BaseException, status: int | None) -> str:
    text = str(exc)
    lowered = text.lower()
    if "reset" in lowered or _has_errno(exc, errno.ECONNRESET):
        return "connection reset"
    if "disconnected without sending a response" in lowered:
        return "connection closed without a response"
    if status is not None:
        return f"connection closed mid-response (HTTP {status}): {text}"
    return f"invalid HTTP response: {text}"
