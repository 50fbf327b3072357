"""What our uvicorn protocol (`guard.server_protocol`) does per request beyond uvicorn's own.

Two costs of uvicorn's httptools protocol that our API mounts do not need to pay:

- `start_eagerly`: uvicorn starts every request as a new Task, so its first step waits for
  the next turn of the event loop. Our API mounts answer most requests without ever
  suspending; running the first step at once (as Python 3.12's eager tasks do) answers them
  with no Task and no extra loop turn. A request that does suspend continues as an ordinary
  Task from where it stopped. Until that first suspension there is no current Task, so this
  is only for apps that never ask for one before suspending (not Starlette's, whose thread
  pools and task groups do through anyio).
- `fast_cycle`: uvicorn's `RequestResponseCycle.send` runs two regular-expression searches
  per response header. This subclass checks a header name once per process (the names an
  app answers with are few: kept, lowercased, in a bounded table) and all of a response's
  values in one pass (`bytes.translate` deleting every byte a value may hold leaves the
  ones uvicorn's pattern finds), and otherwise writes exactly what uvicorn writes.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Coroutine, Generator
from typing import Any


def start_eagerly(loop: asyncio.AbstractEventLoop, coro: Coroutine, context: contextvars.Context) -> asyncio.Task | None:
    """Run `coro` in `context` up to its first suspension; None if it finished there, else
    the Task (in the same context) that carries it on."""
    try:
        step = context.run(coro.send, None)
    except StopIteration:
        return None
    return loop.create_task(_carry_on(coro, step), context=context)


async def _carry_on(coro: Coroutine, step: Any) -> Any:
    return await _Rest(coro, step)


class _Rest:
    """Awaiting this drives a coroutine already suspended on `step` (what it yielded: the
    future it waits for, or None for a bare yield) to its end, passing the Task's wake-ups,
    cancellations and closing through to it."""

    __slots__ = ("coro", "step")

    def __init__(self, coro: Coroutine, step: Any) -> None:
        self.coro, self.step = coro, step

    def __await__(self) -> Generator[Any, Any, Any]:
        coro, step = self.coro, self.step
        while True:
            try:
                value = yield step
            except GeneratorExit:
                coro.close()
                raise
            except BaseException as exc:  # a cancellation, or an exception thrown in by the Task
                try:
                    step = coro.throw(exc)
                except StopIteration as stop:
                    return stop.value
            else:
                try:
                    step = coro.send(value)
                except StopIteration as stop:
                    return stop.value


_FAST_CYCLE: type | None = None


def fast_cycle() -> type:
    """uvicorn's httptools `RequestResponseCycle` with a cheaper `send` (the same bytes)."""
    global _FAST_CYCLE
    if _FAST_CYCLE is None:
        _FAST_CYCLE = _make_fast_cycle()
    return _FAST_CYCLE


def _make_fast_cycle() -> type:
    from uvicorn.protocols.http.httptools_impl import (  # noqa: PLC0415  (httptools may be absent)
        HEADER_RE,
        HEADER_VALUE_RE,
        STATUS_LINE,
        RequestResponseCycle,
    )
    from uvicorn.protocols.utils import get_client_addr, get_path_with_query_string  # noqa: PLC0415

    value_bytes = bytes(b for b in range(256) if not HEADER_VALUE_RE.match(bytes([b])))  # what a value may hold
    lowered: dict[bytes, bytes] = {}  # header name as sent -> checked and lowercased
    special = frozenset((b"content-length", b"transfer-encoding", b"connection"))

    class FastCycle(RequestResponseCycle):
        """The response half of uvicorn's cycle, message for message as uvicorn's `send`."""

        async def send(self, message: Any) -> None:
            if self.flow.write_paused and not self.disconnected:
                await self.flow.drain()
            if self.disconnected:
                return
            if not self.response_started:
                self._start(message)
            elif not self.response_complete:
                self._body(message)
            else:
                raise RuntimeError(f"Unexpected ASGI message '{message['type']}' sent, after response already completed.")

        def _start(self, message: Any) -> None:
            if message["type"] != "http.response.start":
                raise RuntimeError(f"Expected ASGI message 'http.response.start', but got '{message['type']}'.")
            self.response_started = True
            self.waiting_for_100_continue = False
            status_code = message["status"]
            headers = self.default_headers + list(message.get("headers", []))
            if self.access_log:
                self.access_logger.info(
                    '%s - "%s %s HTTP/%s" %d', get_client_addr(self.scope), self.scope["method"],
                    get_path_with_query_string(self.scope), self.scope["http_version"], status_code,
                )  # fmt: skip
            content = [STATUS_LINE[status_code]]
            has_connection_close = False
            for name, value in headers:
                low = lowered.get(name)
                if low is None:
                    if HEADER_RE.search(name):
                        raise RuntimeError("Invalid HTTP header name.")
                    low = name.lower()
                    if len(lowered) < 1024:  # the names an app answers with: few
                        lowered[name] = low
                if low in special:
                    if low == b"content-length":
                        if self.chunked_encoding is None:
                            self.expected_content_length = int(value.decode())
                            self.chunked_encoding = False
                    elif low == b"transfer-encoding":
                        if value.lower() == b"chunked":
                            self.expected_content_length = 0
                            self.chunked_encoding = True
                    elif b"close" in [token.lower().strip() for token in value.split(b",")]:
                        self.keep_alive = False
                        has_connection_close = True
                content += (low, b": ", value, b"\r\n")
            if b"".join(content[3::4]).translate(None, value_bytes):
                raise RuntimeError("Invalid HTTP header value.")
            if not self.keep_alive and not has_connection_close:
                content.append(b"connection: close\r\n")
            if self.chunked_encoding is None and self.scope["method"] != "HEAD" and status_code not in (204, 304):
                self.chunked_encoding = True
                content.append(b"transfer-encoding: chunked\r\n")
            content.append(b"\r\n")
            self.transport.write(b"".join(content))

        def _body(self, message: Any) -> None:
            if message["type"] != "http.response.body":
                raise RuntimeError(f"Expected ASGI message 'http.response.body', but got '{message['type']}'.")
            body = message.get("body", b"")
            more_body = message.get("more_body", False)
            if self.scope["method"] == "HEAD":
                self.expected_content_length = 0
            elif self.chunked_encoding:
                content = [b"%x\r\n" % len(body), body, b"\r\n"] if body else []
                if not more_body:
                    content.append(b"0\r\n\r\n")
                self.transport.write(b"".join(content))
            else:
                if len(body) > self.expected_content_length:
                    raise RuntimeError("Response content longer than Content-Length")
                self.expected_content_length -= len(body)
                self.transport.write(body)
            if not more_body:
                if self.expected_content_length != 0:
                    raise RuntimeError("Response content shorter than Content-Length")
                self.response_complete = True
                self.message_event.set()
                if not self.keep_alive:
                    self.transport.close()
                self.on_response()

    return FastCycle
