"""A small keep-alive HTTP/1.1 client for webhook POSTs to plain `http://` receivers.

httpx costs about 1.5 ms of CPU per delivery (anyio, httpcore's pool bookkeeping, h11) and
writes a request's head and body in two sends; this client writes each request in one send
on a pooled asyncio connection and reads the answer with a few stream reads, about a tenth
of the cost. `client.py` uses it only where it behaves exactly like httpx: `http://` URLs
with ASCII hosts and paths, no user info, clean header names and values, redirects not
followed. Everything else (TLS, redirects, odd URLs, an injected transport in tests) still
goes through httpx.

Failures raise `DeliveryFailed` with the same readable reasons httpx's errors get
(`diagnosis.py`: "connection refused", "connection reset", "connection closed without a response",
"invalid HTTP response: ...", "connection closed mid-response (HTTP 200): ...").
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

from .diagnosis import connect_reason, network_reason

_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
_BAD_VALUE = re.compile(r"[\r\n\x00]")
HEAD_LIMIT = 64 * 1024


class DeliveryFailed(Exception):
    def __init__(self, reason: str, status: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


@dataclass
class Answer:
    status: int
    headers: dict[str, str]  # names lowercased; the first of repeated headers
    body: bytes  # at most the read cap

    @property
    def charset(self) -> str | None:
        m = re.search(r"charset\s*=\s*\"?([^\s;\"]+)", self.headers.get("content-type", ""), re.I)
        return m.group(1) if m else None


@dataclass(frozen=True)
class Target:
    host: str
    port: int
    netloc: str  # the Host header
    path: str  # path and query, as sent


def target_of(url: str) -> Target | None:
    """The fast path's view of a URL, or None when httpx must handle it."""
    try:
        parts: SplitResult = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme != "http" or not parts.hostname or parts.username is not None or parts.password is not None:
        return None
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    if not (parts.netloc.isascii() and target.isascii()) or any(c in target for c in " \r\n\x00#"):
        return None
    host = parts.hostname
    return Target(host, port if port is not None else 80, parts.netloc, target)


def head_of(target: Target, headers: dict[str, str], length: int) -> bytes | None:
    """The request head, or None when a header name or value is one httpx would refuse or
    encode differently (the fast path then steps aside)."""
    lines = [f"POST {target.path} HTTP/1.1", f"Host: {target.netloc}"]
    names = set()
    for name, value in headers.items():
        if not _TOKEN.match(name) or _BAD_VALUE.search(value) or not value.isascii():
            return None
        lower = name.lower()
        if lower in ("host", "content-length", "transfer-encoding", "connection"):
            return None  # let httpx decide what such a header means
        names.add(lower)
        lines.append(f"{name}: {value.strip()}")
    if "accept" not in names:
        lines.append("Accept: */*")
    lines.append(f"Content-Length: {length}")
    lines.append("Connection: keep-alive")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii")


class _Conn:
    __slots__ = ("reader", "writer")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    def usable(self) -> bool:
        return not self.reader.at_eof() and not self.writer.is_closing() and self.reader.exception() is None

    def close(self) -> None:
        self.writer.transport.abort()


class Http1Pool:
    """Idle keep-alive connections per (host, port); the engine bounds concurrency."""

    def __init__(self, per_origin: int, max_origins: int = 64) -> None:
        self._per_origin = per_origin
        self._max_origins = max_origins
        self._idle: dict[tuple[str, int], list[_Conn]] = {}

    async def post(self, target: Target, head: bytes, payload: bytes, read_cap: int) -> Answer:
        key = (target.host, target.port)
        conn = self._take(key)
        if conn is None:
            conn = await _connect(target.host, target.port)
        try:
            conn.writer.write(head + payload)  # one send: no Nagle stall between head and body
            answer, reusable = await _read_answer(conn.reader, read_cap)
        except BaseException as exc:
            conn.close()
            if isinstance(exc, DeliveryFailed | asyncio.CancelledError | TimeoutError):
                raise
            if isinstance(exc, OSError):
                raise DeliveryFailed(network_reason(exc)) from exc
            raise
        if reusable:
            self._give(key, conn)
        else:
            conn.close()
        return answer

    def _take(self, key: tuple[str, int]) -> _Conn | None:
        idle = self._idle.get(key)
        while idle:
            conn = idle.pop()
            if conn.usable():
                return conn
            conn.close()
        return None

    def _give(self, key: tuple[str, int], conn: _Conn) -> None:
        idle = self._idle.get(key)
        if idle is None:
            while len(self._idle) >= self._max_origins:  # forget the oldest origin's connections
                for old in self._idle.pop(next(iter(self._idle))):
                    old.close()
            idle = self._idle[key] = []
        if len(idle) >= self._per_origin:
            conn.close()
            return
        idle.append(conn)

    async def aclose(self) -> None:
        idle, self._idle = self._idle, {}
        for conns in idle.values():
            for conn in conns:
                conn.close()


async def _connect(host: str, port: int) -> _Conn:
    try:
        reader, writer = await asyncio.open_connection(host, port, limit=HEAD_LIMIT)
    except OSError as exc:  # several addresses (localhost: ::1 and 127.0.0.1) refusing come as one
        raise DeliveryFailed(connect_reason(exc)) from exc
    return _Conn(reader, writer)


async def _read_answer(reader: asyncio.StreamReader, cap: int) -> tuple[Answer, bool]:
    """Read one response; (answer, whether the connection can carry another request)."""
    while True:
        status, headers, version = await _read_head(reader)
        if 100 <= status < 200 and status != 101:
            continue  # an interim answer (100 Continue): the real one follows
        break
    keep = version == "HTTP/1.1" and "close" not in headers.get("connection", "").lower()
    if status in (204, 304) or 100 <= status < 200:
        return Answer(status, headers, b""), keep
    if "chunked" in headers.get("transfer-encoding", "").lower():
        body, complete = await _read_chunked(reader, cap, status)
        return Answer(status, headers, body), keep and complete
    length_text = headers.get("content-length")
    if length_text is not None:
        if not length_text.strip().isdigit():
            raise DeliveryFailed(f"invalid HTTP response: bad Content-Length {length_text[:40]!r}")
        length = int(length_text)
        want = min(length, cap)
        try:
            body = await reader.readexactly(want)
        except asyncio.IncompleteReadError as exc:
            raise _mid_response(status) from exc
        return Answer(status, headers, body), keep and want == length
    body = await _read_to_eof(reader, cap)  # delimited by the connection's end
    return Answer(status, headers, body), False


async def _read_head(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], str]:
    try:
        raw = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        if not exc.partial:
            raise DeliveryFailed("connection closed without a response") from exc
        raise DeliveryFailed("invalid HTTP response: the connection closed inside the response head") from exc
    except asyncio.LimitOverrunError as exc:
        raise DeliveryFailed("invalid HTTP response: the response head is too large") from exc
    lines = raw[:-4].decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or parts[0] not in ("HTTP/1.1", "HTTP/1.0") or not (parts[1].isdigit() and len(parts[1]) == 3):
        raise DeliveryFailed(f"invalid HTTP response: {lines[0][:80]!r}")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if not sep or not _TOKEN.match(name):
            raise DeliveryFailed(f"invalid HTTP response: bad header line {line[:80]!r}")
        headers.setdefault(name.lower(), value.strip())
    return int(parts[1]), headers, parts[0]


async def _read_chunked(reader: asyncio.StreamReader, cap: int, status: int) -> tuple[bytes, bool]:
    chunks: list[bytes] = []
    size = 0
    try:
        while True:
            line = await reader.readuntil(b"\r\n")
            text = line[:-2].split(b";", 1)[0].strip()
            try:
                n = int(text, 16)
            except ValueError:
                raise DeliveryFailed(f"invalid HTTP response: bad chunk size {text[:20]!r}") from None
            if n == 0:
                while (await reader.readuntil(b"\r\n")) != b"\r\n":  # trailers
                    pass
                return b"".join(chunks), True
            if size >= cap:
                return b"".join(chunks)[:cap], False  # enough read: drop the connection
            data = await reader.readexactly(n + 2)
            chunks.append(data[:-2])
            size += n
    except asyncio.IncompleteReadError as exc:
        raise _mid_response(status) from exc
    except asyncio.LimitOverrunError as exc:
        raise DeliveryFailed("invalid HTTP response: a chunk header is too large") from exc


async def _read_to_eof(reader: asyncio.StreamReader, cap: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while size < cap:
        data = await reader.read(min(65536, cap - size))
        if not data:
            break
        chunks.append(data)
        size += len(data)
    return b"".join(chunks)


def _mid_response(status: int) -> DeliveryFailed:
    return DeliveryFailed(
        f"connection closed mid-response (HTTP {status}): peer closed connection without sending complete message body",
        status,
    )
