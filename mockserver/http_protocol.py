"""Our HTTP/1.1 protocol for uvicorn: httptools parses, uvicorn's server runs everything else.

uvicorn's `Server` keeps doing what it does well (sockets, lifespan, signals, the `date`
header, graceful shutdown, `limit_max_requests`); this class replaces its per-connection
protocol, `HttpToolsProtocol`, with the same HTTP semantics at less cost per request:

- a response's head is held until its first body message and both leave in one write
  (uvicorn writes them apart: two system calls and two TCP segments for a small answer);
- finished answers are written together at the end of the event loop's turn (`_Outbox`),
  not one by one as each is ready: a client that gets every answer at once is woken once,
  not once per answer, and the server reads the next requests in bigger batches. Measured
  under wrk, writing each answer the moment it was ready cost 20-50% more CPU per request;
- no `asyncio.Event` per request: a request waits on a future only when it must;
- the keep-alive timeout is one timer per idle period that re-arms itself, not a timer
  created after every response and cancelled by the next request;
- response headers are checked for forbidden characters once per response (a name once
  per process), not with two regular expressions per header;
- a request head over `head_limit` bytes is refused while it is read (431, then close), so
  a 64 MB header is never buffered whole.

What it keeps from uvicorn, and tests/kernel/test_server_layer.py checks against a real
socket: pipelining (answers in order, reading paused while one waits), HEAD, HTTP/1.0 and
`Connection: close`, `Expect: 100-continue`, request bodies with flow control both ways,
chunked responses when no length is given, 400 on a malformed request, 500 when the app
raises before answering, `limit_concurrency` (503), the access log, WebSocket upgrades
handed to uvicorn's WebSocket protocol when one is installed, and shutdown that lets a
request in flight finish. ASGI servers expose the connection to the app only through
`receive`: `_Cycle` keeps `transport` and `disconnected` where `kernel/faults.py` looks.
"""

from __future__ import annotations

import asyncio
import contextvars
import http
import logging
import re
import urllib.parse
import weakref
from collections import deque
from typing import Any

import httptools
from uvicorn.protocols.http.flow_control import HIGH_WATER_LIMIT, FlowControl, service_unavailable
from uvicorn.protocols.utils import (
    get_client_addr,
    get_local_addr,
    get_path_with_query_string,
    get_remote_addr,
    is_ssl,
)

_BAD_NAME = re.compile(rb'[\x00-\x20\x7f()<>@,;:\[\]={}\\"]')  # what uvicorn refuses in a header name
# in a head we built from checked names, CR and LF appear only as the line ends we wrote
_BAD_HEAD = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_CHECKED_NAMES: dict[bytes, bytes] = {}  # a response header name that passed -> its lower case
_NAMES_KEPT = 512
_FRAMING = frozenset((b"content-length", b"transfer-encoding", b"connection"))
_INTERNAL_ERROR = b"Internal Server Error"


def _status_line(status: int) -> bytes:
    try:
        phrase = http.HTTPStatus(status).phrase.encode()
    except ValueError:
        phrase = b""
    return b"HTTP/1.1 %d %s\r\n" % (status, phrase)


STATUS_LINES = {status: _status_line(status) for status in range(100, 600)}


def _name(name: bytes) -> bytes:
    """The header name in lower case; RuntimeError if it is not a token."""
    lowered = _CHECKED_NAMES.get(name)
    if lowered is None:
        if not name or _BAD_NAME.search(name):
            raise RuntimeError("Invalid HTTP header name.")
        lowered = name.lower()
        if len(_CHECKED_NAMES) < _NAMES_KEPT:
            _CHECKED_NAMES[name] = lowered
    return lowered


class _Outbox:
    """The answers finished during one turn of an event loop, written at its end: one
    callback per turn for every connection, instead of one per answer."""

    __slots__ = ("loop", "waiting", "__weakref__")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.waiting: list[HttpProtocol] = []

    def add(self, protocol: HttpProtocol) -> None:
        if not self.waiting:
            self.loop.call_soon(self.flush)
        self.waiting.append(protocol)

    def flush(self) -> None:
        waiting, self.waiting = self.waiting, []
        for protocol in waiting:
            protocol.flush()


_OUTBOXES: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Outbox] = weakref.WeakKeyDictionary()


def _outbox(loop: asyncio.AbstractEventLoop) -> _Outbox:
    outbox = _OUTBOXES.get(loop)
    if outbox is None:
        outbox = _OUTBOXES[loop] = _Outbox(loop)
    return outbox


class HttpProtocol(asyncio.Protocol):
    """One client connection. Constructed by uvicorn as `http_protocol_class(config=...,
    server_state=..., app_state=...)`; `head_limit` is set by `server_protocol()`."""

    head_limit = 1_048_576

    def __init__(
        self,
        config: Any,
        server_state: Any,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        if not config.loaded:
            config.load()
        self.config = config
        self.app = config.loaded_app
        self.loop = _loop or asyncio.get_event_loop()
        self.logger = logging.getLogger("uvicorn.error")
        self.access_logger = logging.getLogger("uvicorn.access")
        self.access_log = self.access_logger.hasHandlers()
        self.parser = httptools.HttpRequestParser(self)
        try:  # answer the first of pipelined requests even when a later one is malformed
            self.parser.set_dangerous_leniencies(lenient_data_after_close=True)
        except AttributeError:  # httptools < 0.6.3
            pass
        self.root_path: str = config.root_path
        self._raw_root = self.root_path.encode("ascii")
        self.asgi = {"version": config.asgi_version, "spec_version": "2.3"}
        self.limit_concurrency = config.limit_concurrency
        self.timeout_keep_alive = config.timeout_keep_alive
        self.fresh_context = bool(getattr(config, "reset_contextvars", False))
        self.app_state = app_state
        self.server_state = server_state
        self.connections = server_state.connections
        self.tasks = server_state.tasks

        self.transport: Any = None
        self.flow: FlowControl = None  # type: ignore[assignment]
        self.server: tuple[str, int | None] | None = None
        self.client: tuple[str, int] | None = None
        self.scheme = "http"
        self.cycle: _Cycle | None = None  # the request being answered (or the last one)
        self.pipeline: deque[_Cycle] = deque()  # requests read while another is answered
        self.reading: _Cycle | None = None  # the request whose body the parser is reading
        self.idle_since: float | None = None  # when the connection last went idle
        self.idle_timer: asyncio.TimerHandle | None = None
        self.outbox = _outbox(self.loop)
        self.unsent: list[bytes] | None = None  # a finished answer waiting for the outbox
        # the request head being parsed
        self.url = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.method = ""
        self.expect_100 = False
        self.in_head = True
        self.head_bytes = 0

    # -- the connection -------------------------------------------------------------------------
    def connection_made(self, transport: Any) -> None:
        self.connections.add(self)
        self.transport = transport
        self.flow = FlowControl(transport)
        self.server = get_local_addr(transport)
        self.client = get_remote_addr(transport)
        self.scheme = "https" if is_ssl(transport) else "http"

    def connection_lost(self, exc: Exception | None) -> None:
        self.connections.discard(self)
        self.unsent = None  # nowhere to go
        for cycle in (self.cycle, self.reading, *self.pipeline):
            if cycle is not None and not cycle.response_complete:
                cycle.disconnected = True
                cycle.wake()
        if self.flow is not None:
            self.flow.resume_writing()
        if exc is None:
            self.transport.close()
        if self.idle_timer is not None:
            self.idle_timer.cancel()
            self.idle_timer = None
        self.parser = None  # type: ignore[assignment]

    def eof_received(self) -> None:
        pass

    def send_later(self, pieces: list[bytes]) -> None:
        """Write a finished answer at the end of this turn of the loop."""
        if self.unsent is None:
            self.unsent = pieces
            self.outbox.add(self)
        else:
            self.unsent += pieces

    def flush(self) -> None:
        """Write what waits for the outbox now: before anything else is written or the
        connection is closed, so bytes keep their order."""
        pieces = self.unsent
        if pieces is None:
            return
        self.unsent = None
        if not self.transport.is_closing():
            self._write(pieces)

    def write_now(self, pieces: list[bytes]) -> None:
        """Write at once, after what waits for the outbox."""
        self.flush()
        self._write(pieces)

    def _write(self, pieces: list[bytes]) -> None:
        if len(pieces) == 1:
            self.transport.write(pieces[0])
        else:  # one writev on uvloop: a large body is not copied to join it
            self.transport.writelines(pieces)

    def data_received(self, data: bytes) -> None:
        self.idle_since = None
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            self.logger.warning("Invalid HTTP request received.")
            self._refuse(400, b"Invalid HTTP request received.")
            return
        except httptools.HttpParserUpgrade:
            if self._upgrade_to_websocket():
                self._hand_over_to_websocket()
                return
            self.logger.warning("Unsupported upgrade request.")
        if self.in_head and not self.transport.is_closing():
            self.head_bytes += len(data)  # at most one chunk too many: the limit is generous
            if self.head_bytes > self.head_limit:
                self._refuse(431, b"request header fields too large", default_headers=False)

    def _refuse(self, status: int, message: bytes, *, default_headers: bool = True) -> None:
        """Answer from the protocol itself (the request never reached the app) and close."""
        parts = [STATUS_LINES[status]]
        if default_headers:
            for name, value in self.server_state.default_headers:
                parts += (name, b": ", value, b"\r\n")
        parts += (
            b"content-type: text/plain; charset=utf-8\r\ncontent-length: ", b"%d" % len(message),
            b"\r\nconnection: close\r\n\r\n", message,
        )  # fmt: skip
        self.write_now([b"".join(parts)])
        self.transport.close()

    # -- WebSocket upgrades go to uvicorn's WebSocket protocol, when one is installed ------------
    def _upgrade_to_websocket(self) -> bool:
        if self.config.ws_protocol_class is None:
            return False
        connection: list[bytes] = []
        upgrade = None
        for name, value in self.headers:
            if name == b"connection":
                connection = [token.lower().strip() for token in value.split(b",")]
            elif name == b"upgrade":
                upgrade = value.lower()
        return b"upgrade" in connection and upgrade == b"websocket"

    def _hand_over_to_websocket(self) -> None:
        self.flush()
        self.connections.discard(self)
        output = [self.method.encode(), b" ", self.url, b" HTTP/1.1\r\n"]
        for name, value in self.headers:
            output += (name, b": ", value, b"\r\n")
        output.append(b"\r\n")
        protocol = self.config.ws_protocol_class(
            config=self.config, server_state=self.server_state, app_state=self.app_state
        )
        protocol.connection_made(self.transport)
        self.transport.set_protocol(protocol)
        protocol.data_received(b"".join(output))

    # -- the parser's callbacks -----------------------------------------------------------------
    def on_message_begin(self) -> None:
        self.url = b""
        self.headers = []
        self.expect_100 = False
        self.reading = None
        self.in_head, self.head_bytes = True, 0

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        name = name.lower()
        value = value.rstrip(b" \t")  # llhttp keeps trailing whitespace; RFC 9110 5.5 excludes it
        if name == b"expect" and value.lower() == b"100-continue":
            self.expect_100 = True
        self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        self.in_head = False
        parser = self.parser
        self.method = method = parser.get_method().decode("ascii")
        if parser.should_upgrade() and self._upgrade_to_websocket():
            return  # data_received hands the connection over
        version = parser.get_http_version()
        url = httptools.parse_url(self.url)
        raw_path = url.path
        path = raw_path.decode("ascii")
        if "%" in path:
            path = urllib.parse.unquote(path)
        scope = {
            "type": "http",
            "asgi": self.asgi,
            "http_version": version,
            "server": self.server,
            "client": self.client,
            "scheme": self.scheme,
            "method": method,
            "root_path": self.root_path,
            "path": self.root_path + path if self.root_path else path,
            "raw_path": self._raw_root + raw_path if self.root_path else raw_path,
            "query_string": url.query or b"",
            "headers": self.headers,
            "state": self.app_state.copy(),
        }
        app = self.app
        if self.limit_concurrency is not None and (
            len(self.connections) >= self.limit_concurrency or len(self.tasks) >= self.limit_concurrency
        ):
            app = service_unavailable
            self.logger.warning("Exceeded concurrency limit.")
        keep_alive = version != "1.0" and parser.should_keep_alive()
        cycle = self.reading = _Cycle(self, scope, keep_alive, self.expect_100)
        current = self.cycle
        if current is None or current.response_complete:
            self.cycle = cycle
            self._start(cycle, app)
        else:  # pipelined: answered in order, and nothing more is read meanwhile
            self.flow.pause_reading()
            cycle.app = app
            self.pipeline.append(cycle)

    def on_body(self, body: bytes) -> None:
        cycle = self.reading
        if cycle is None or cycle.response_complete:
            return
        cycle.body += body
        if len(cycle.body) > HIGH_WATER_LIMIT:
            self.flow.pause_reading()
        cycle.wake()

    def on_message_complete(self) -> None:
        cycle = self.reading
        if cycle is None or cycle.response_complete:
            return
        cycle.more_body = False
        cycle.wake()

    # -- requests in turn -----------------------------------------------------------------------
    def _start(self, cycle: _Cycle, app: Any) -> None:
        run = cycle.run(app)
        task = (
            self.loop.create_task(run, context=contextvars.Context())
            if self.fresh_context
            else self.loop.create_task(run)
        )
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def response_complete(self) -> None:
        self.server_state.total_requests += 1
        if self.transport.is_closing():
            return
        self.flow.resume_reading()
        if self.pipeline:
            cycle = self.cycle = self.pipeline.popleft()
            self._start(cycle, cycle.app)
            return
        self.idle_since = self.loop.time()
        if self.idle_timer is None:
            self.idle_timer = self.loop.call_later(self.timeout_keep_alive, self._check_idle)

    def _check_idle(self) -> None:
        """Close a connection idle for `timeout_keep_alive` seconds; a busy one is checked
        again after the next response."""
        self.idle_timer = None
        if self.idle_since is None or self.transport.is_closing():
            return
        left = self.idle_since + self.timeout_keep_alive - self.loop.time()
        if left <= 0:
            self.flush()
            self.transport.close()
        else:
            self.idle_timer = self.loop.call_later(left, self._check_idle)

    # -- the server's calls -----------------------------------------------------------------------
    def shutdown(self) -> None:
        """Graceful shutdown: close when idle, else after the answer in flight."""
        cycle = self.cycle
        if cycle is None or cycle.response_complete:
            self.flush()
            self.transport.close()
        else:
            cycle.keep_alive = False

    def pause_writing(self) -> None:
        self.flow.pause_writing()

    def resume_writing(self) -> None:
        self.flow.resume_writing()


class _Cycle:
    """One request and its response: the ASGI `receive` and `send`."""

    __slots__ = (
        "protocol", "transport", "flow", "scope", "app", "keep_alive", "waiting_for_100_continue",
        "disconnected", "body", "more_body", "ready", "waiter", "response_started", "response_complete",
        "chunked", "expected_length", "head",
    )  # fmt: skip

    def __init__(
        self, protocol: HttpProtocol, scope: dict[str, Any], keep_alive: bool, expect_100: bool
    ) -> None:
        self.protocol = protocol
        self.transport = protocol.transport
        self.flow = protocol.flow
        self.scope = scope
        self.app: Any = None
        self.keep_alive = keep_alive
        self.waiting_for_100_continue = expect_100
        self.disconnected = False
        self.body = bytearray()
        self.more_body = True
        self.ready = False  # body bytes, the body's end or a disconnect arrived since the last receive
        self.waiter: asyncio.Future[None] | None = None
        self.response_started = False
        self.response_complete = False
        self.chunked: bool | None = None
        self.expected_length = 0
        self.head: bytes | None = None  # the response head, until the first body message takes it out

    def wake(self) -> None:
        self.ready = True
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def run(self, app: Any) -> None:
        log = self.protocol.logger
        try:
            result = await app(self.scope, self.receive, self.send)
        except BaseException as exc:
            log.error("Exception in ASGI application\n", exc_info=exc)
            if not self.response_started:
                await self._send_500()
            else:
                self._close()
        else:
            if result is not None:
                log.error("ASGI callable should return None, but returned '%s'.", result)
                self._close()
            elif not self.response_started and not self.disconnected:
                log.error("ASGI callable returned without starting response.")
                await self._send_500()
            elif not self.response_complete and not self.disconnected:
                log.error("ASGI callable returned without completing response.")
                self._close()

    def _close(self) -> None:
        """Close the connection; a head not yet written goes first, as uvicorn would have
        written it already."""
        if self.head is not None and not self.transport.is_closing():
            self.protocol.write_now([self.head])
            self.head = None
        else:
            self.protocol.flush()
        self.transport.close()

    async def _send_500(self) -> None:
        await self.send({
            "type": "http.response.start",
            "status": 500,
            "headers": [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", b"21"), (b"connection", b"close")],
        })  # fmt: skip
        await self.send({"type": "http.response.body", "body": _INTERNAL_ERROR, "more_body": False})

    # -- ASGI -----------------------------------------------------------------------------------
    async def receive(self) -> dict[str, Any]:
        if self.waiting_for_100_continue and not self.transport.is_closing():
            self.protocol.write_now([b"HTTP/1.1 100 Continue\r\n\r\n"])
            self.waiting_for_100_continue = False
        if not self.disconnected and not self.response_complete:
            self.flow.resume_reading()
            if not self.ready:
                self.waiter = self.protocol.loop.create_future()
                try:
                    await self.waiter
                finally:
                    self.waiter = None
            self.ready = False
        if self.disconnected or self.response_complete:
            return {"type": "http.disconnect"}
        message = {"type": "http.request", "body": bytes(self.body), "more_body": self.more_body}
        self.body = bytearray()
        return message

    async def send(self, message: dict[str, Any]) -> None:
        if self.flow.write_paused and not self.disconnected:
            await self.flow.drain()
        if self.disconnected:
            return
        if not self.response_started:
            if message["type"] != "http.response.start":
                raise RuntimeError(
                    f"Expected ASGI message 'http.response.start', but got '{message['type']}'."
                )
            self._start_response(message)
        elif not self.response_complete:
            if message["type"] != "http.response.body":
                raise RuntimeError(
                    f"Expected ASGI message 'http.response.body', but got '{message['type']}'."
                )
            self._send_body(message.get("body", b""), message.get("more_body", False))
        else:
            raise RuntimeError(
                f"Unexpected ASGI message '{message['type']}' sent, after response already completed."
            )

    def _start_response(self, message: dict[str, Any]) -> None:
        self.response_started = True
        self.waiting_for_100_continue = False
        status = message["status"]
        protocol = self.protocol
        if protocol.access_log:
            scope = self.scope
            protocol.access_logger.info(
                '%s - "%s %s HTTP/%s" %d',
                get_client_addr(scope), scope["method"], get_path_with_query_string(scope), scope["http_version"], status,  # type: ignore[arg-type]
            )  # fmt: skip
        parts = [STATUS_LINES.get(status) or _status_line(status)]
        checked = _CHECKED_NAMES
        has_close = False
        lines = 2  # the status line and the blank line that ends the head
        for headers in (protocol.server_state.default_headers, message.get("headers", ())):
            for name, value in headers:
                lowered = checked.get(name)
                if lowered is None:
                    lowered = _name(name)
                if lowered in _FRAMING and self._framing(lowered, value):
                    has_close = True
                parts += (lowered, b": ", value, b"\r\n")
                lines += 1
        if not self.keep_alive and not has_close:
            parts.append(b"connection: close\r\n")
            lines += 1
        if self.chunked is None and self.scope["method"] != "HEAD" and status not in (204, 304):
            self.chunked = True  # neither a length nor an encoding was given
            parts.append(b"transfer-encoding: chunked\r\n")
            lines += 1
        parts.append(b"\r\n")
        head = b"".join(parts)
        # names passed `_name`; a value may hold no control character but tab, and no CR or
        # LF beyond the line ends written here
        if _BAD_HEAD.search(head) or head.count(b"\n") != lines or head.count(b"\r") != lines:
            raise RuntimeError("Invalid HTTP header value.")
        self.head = head

    def _framing(self, name: bytes, value: bytes) -> bool:
        """Note a header that frames the response; True for `Connection: close`."""
        if name == b"content-length":
            if self.chunked is None:
                self.expected_length = int(value.decode())
                self.chunked = False
        elif name == b"transfer-encoding":
            if value.lower() == b"chunked":
                self.expected_length = 0
                self.chunked = True
        elif b"close" in [token.lower().strip() for token in value.split(b",")]:  # connection
            self.keep_alive = False
            return True
        return False

    def _send_body(self, body: bytes, more_body: bool) -> None:
        head = self.head
        self.head = None
        if self.scope["method"] == "HEAD":
            self.expected_length = 0
            pieces = []
        elif self.chunked:
            pieces = [b"%x\r\n" % len(body), body, b"\r\n"] if body else []
            if not more_body:
                pieces.append(b"0\r\n\r\n")
        else:
            if len(body) > self.expected_length:
                if head is not None:
                    self.protocol.write_now([head])
                raise RuntimeError("Response content longer than Content-Length")
            self.expected_length -= len(body)
            pieces = [body] if body else []
        if head is not None:
            pieces.insert(0, head)
        if not more_body and self.keep_alive:
            if pieces:
                self.protocol.send_later(pieces)
        elif pieces:  # a streamed piece, or the last answer of the connection: now
            self.protocol.write_now(pieces)
        if not more_body:
            if self.expected_length != 0:
                raise RuntimeError("Response content shorter than Content-Length")
            self.response_complete = True
            self.wake()
            if not self.keep_alive:
                self.transport.close()
            self.protocol.response_complete()
