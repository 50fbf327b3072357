"""The response half of our uvicorn protocol (`guard.server_protocol`).

uvicorn's `RequestResponseCycle.send` runs two regular-expression searches per response
header. `fast_cycle()` is that cycle with a `send` that checks a header name once per
process (the names an app answers with are few: kept, lowercased, in a bounded table) and
all of a response's header values in one pass (`bytes.translate` deleting every byte a
value may hold leaves the ones uvicorn's pattern finds), and otherwise writes exactly what
uvicorn writes; its `receive` does not await the request's event when it is already set.
"""

from __future__ import annotations

from typing import Any

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

        async def receive(self) -> Any:
            """uvicorn's, without awaiting the request's event when it is already set."""
            if self.waiting_for_100_continue and not self.transport.is_closing():
                self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")
                self.waiting_for_100_continue = False
            if not self.disconnected and not self.response_complete:
                self.flow.resume_reading()
                if not self.message_event.is_set():
                    await self.message_event.wait()
                self.message_event.clear()
            if self.disconnected or self.response_complete:
                return {"type": "http.disconnect"}
            message = {"type": "http.request", "body": bytes(self.body), "more_body": self.more_body}
            self.body = bytearray()
            return message

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
