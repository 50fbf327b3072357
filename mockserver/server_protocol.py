"""What `mockserver serve` runs uvicorn with: its httptools protocol, three changes made.

- A request head past `TRANSPORT_HEAD_LIMIT` bytes is refused while it is read (a plain 431,
  and the connection closes), so a 64 MB header is never buffered whole; h11 answers its
  own 400 past the same size (`h11_max_incomplete_event_size`).
- Responses go out through a `CoalescingTransport`: a response's head and body leave in
  one write.
- The response head is checked for bytes HTTP forbids with two regex searches over all the
  header names and all the values, instead of two per header (`_LeanHeadCycle`).

The guard in front of the app (`guard.py`) is the ASGI side; this is the transport side.
"""

from __future__ import annotations

import importlib.util
from typing import Any

TRANSPORT_HEAD_LIMIT = 1_048_576  # bytes of request head uvicorn buffers before giving up


class CoalescingTransport:
    """A socket transport whose writes within one turn of the event loop leave as one write.

    uvicorn writes a response's status line and headers when the app sends
    `http.response.start`, and the body when it sends `http.response.body`: two send()
    calls and two TCP segments for every small response, each waking the client. Our API
    mounts send both messages in the same step, so joining them halves the system calls
    without delaying anything past the end of that step. Everything else is the wrapped
    transport's: closing flushes first (bytes keep their order), aborting drops what waits
    (as an abort drops the transport's own buffer)."""

    __slots__ = ("_transport", "_loop", "_pending", "_scheduled")

    def __init__(self, transport: Any, loop: Any) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] = []
        self._scheduled = False

    def write(self, data: bytes) -> None:
        if not data:
            return
        self._pending.append(data)
        if not self._scheduled:
            self._scheduled = True
            self._loop.call_soon(self._flush)

    def writelines(self, lines: Any) -> None:
        for data in lines:
            self.write(data)

    def _flush(self) -> None:
        self._scheduled = False
        pending = self._pending
        if not pending:
            return
        data = pending[0] if len(pending) == 1 else b"".join(pending)
        pending.clear()
        if not self._transport.is_closing():
            self._transport.write(data)

    def close(self) -> None:
        self._flush()
        self._transport.close()

    def abort(self) -> None:
        self._pending.clear()
        self._transport.abort()

    def is_closing(self) -> bool:
        return self._transport.is_closing()  # asked on every response: not through __getattr__

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + sum(len(d) for d in self._pending)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


def server_protocol(http: str = "auto") -> str | type:
    """The uvicorn `http` setting for our servers: httptools ("auto" when it is installed)
    becomes a subclass that refuses a request head past TRANSPORT_HEAD_LIMIT."""
    if http == "h11" or (http == "auto" and importlib.util.find_spec("httptools") is None):
        return "h11"
    if http not in ("auto", "httptools"):
        return http
    return _capped_httptools()


def uvicorn_options(http: str = "auto") -> dict[str, Any]:
    """Keyword arguments for uvicorn.Config / uvicorn.run."""
    return {"http": server_protocol(http), "h11_max_incomplete_event_size": TRANSPORT_HEAD_LIMIT}


_CAPPED: type | None = None


def _capped_httptools() -> type:
    global _CAPPED
    if _CAPPED is not None:
        return _CAPPED
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle  # noqa: PLC0415

    lean = _lean_head_cycle()

    class CappedHttpToolsProtocol(HttpToolsProtocol):
        """httptools buffers a header value until it ends; this stops reading once the head
        of the current request passes TRANSPORT_HEAD_LIMIT bytes. Responses go out through a
        `CoalescingTransport`."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._head_bytes = 0
            self._in_head = True  # a connection starts with a request head

        def connection_made(self, transport: Any) -> None:
            super().connection_made(CoalescingTransport(transport, self.loop))  # type: ignore[arg-type]

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self._in_head, self._head_bytes = True, 0

        def on_headers_complete(self) -> None:
            self._in_head = False
            super().on_headers_complete()
            cycle = self.cycle
            if lean is not None and type(cycle) is RequestResponseCycle:
                # its task is created but has not run: the app will be handed this class's send
                cycle.__class__ = lean

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            if not self._in_head or self.transport.is_closing():
                return
            self._head_bytes += len(data)  # at most one chunk too many: the limit is generous
            if self._head_bytes > TRANSPORT_HEAD_LIMIT:
                body = b"request header fields too large"
                self.transport.write(
                    b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-type: text/plain; charset=utf-8\r\n"
                    b"content-length: " + str(len(body)).encode() + b"\r\nconnection: close\r\n\r\n" + body
                )
                self.transport.close()

    _CAPPED = CappedHttpToolsProtocol
    return _CAPPED


# what _LeanHeadCycle reads and sets of uvicorn's cycle (all set in its __init__), checked first
_CYCLE_STATE = frozenset({
    "scope", "transport", "flow", "access_log", "default_headers", "disconnected", "keep_alive",
    "waiting_for_100_continue", "response_started", "chunked_encoding", "expected_content_length",
})  # fmt: skip


def _lean_head_cycle() -> type | None:
    """uvicorn's RequestResponseCycle with a leaner response head, or None when the installed
    uvicorn's cycle no longer keeps the state this relies on (then uvicorn's own is used).

    For each response uvicorn runs two regex searches per header, each scanning the bytes
    one position at a time (~5 µs for the nine headers of a Hubble answer, 6% of a served
    request's instructions). Both patterns are one-byte classes, so a table per pattern says
    of each of the 256 byte values whether it matches; a forbidden byte is in some name or
    value exactly when the table maps a byte of all of them joined to 0. The head written is
    the same; a head that fails goes to uvicorn's own `send`, which raises its own error.
    Everything but a response's start (bodies, a start while writing is paused or after a
    disconnect, access logging) is uvicorn's code."""
    from uvicorn.protocols.http import httptools_impl as impl  # noqa: PLC0415

    base: Any = impl.RequestResponseCycle
    if not _CYCLE_STATE <= set(base.__init__.__code__.co_names) or not all(
        hasattr(impl, n) for n in ("HEADER_RE", "HEADER_VALUE_RE", "STATUS_LINE")
    ):
        return None
    name_ok, value_ok = _byte_table(impl.HEADER_RE), _byte_table(impl.HEADER_VALUE_RE)
    if name_ok is None or value_ok is None:
        return None
    status_line = impl.STATUS_LINE

    class _LeanHeadCycle(base):
        response_started: bool
        chunked_encoding: bool | None

        async def send(self, message: Any) -> None:
            if (
                self.response_started or self.access_log or self.disconnected or self.flow.write_paused
                or message["type"] != "http.response.start"
            ):  # fmt: skip
                await super().send(message)
                return
            headers = self.default_headers + list(message.get("headers", []))
            names, values = b"".join([n for n, _ in headers]), b"".join([v for _, v in headers])
            if b"\0" in names.translate(name_ok) or b"\0" in values.translate(value_ok):
                await super().send(message)  # uvicorn's own error for the header at fault
                return
            self.response_started = True
            self.waiting_for_100_continue = False
            status_code = message["status"]
            content = [status_line[status_code]]
            has_connection_close = False
            for name, value in headers:
                name = name.lower()
                if name == b"content-length" and self.chunked_encoding is None:
                    self.expected_content_length = int(value.decode())
                    self.chunked_encoding = False
                elif name == b"transfer-encoding" and value.lower() == b"chunked":
                    self.expected_content_length = 0
                    self.chunked_encoding = True
                elif name == b"connection":
                    if b"close" in [token.lower().strip() for token in value.split(b",")]:
                        self.keep_alive = False
                        has_connection_close = True
                content.extend([name, b": ", value, b"\r\n"])
            if not self.keep_alive and not has_connection_close:
                content.append(b"connection: close\r\n")
            if (
                self.chunked_encoding is None
                and self.scope["method"] != "HEAD"
                and status_code not in (204, 304)
            ):
                self.chunked_encoding = True  # neither content-length nor transfer-encoding given
                content.append(b"transfer-encoding: chunked\r\n")
            content.append(b"\r\n")
            self.transport.write(b"".join(content))

    return _LeanHeadCycle


def _byte_table(pattern: Any) -> bytes | None:
    """For a pattern that is one character class of bytes (`[...]`): a translate table
    mapping each byte it matches to 0 and every other byte to 1; else None."""
    source = pattern.pattern
    if not (
        isinstance(source, bytes) and source.startswith(b"[") and source.endswith(b"]") and pattern.flags == 0
    ):
        return None
    return bytes(0 if pattern.fullmatch(bytes([b])) else 1 for b in range(256))
