"""What `mockserver serve` runs uvicorn with: its httptools protocol, two changes made.

- A request head past `TRANSPORT_HEAD_LIMIT` bytes is refused while it is read (a plain 431,
  and the connection closes), so a 64 MB header is never buffered whole; h11 answers its
  own 400 past the same size (`h11_max_incomplete_event_size`).
- Responses go out through a `CoalescingTransport`: a response's head and body leave in
  one write.

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
        self._pending = []
        if self._transport.is_closing():
            return
        if len(pending) == 1:
            self._transport.write(pending[0])
        else:  # uvloop sends the pieces with one writev: a 40 KB body is not copied to join it
            self._transport.writelines(pending)

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
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol  # noqa: PLC0415

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
