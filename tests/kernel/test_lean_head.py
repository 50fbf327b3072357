"""The response head our protocol writes (`server_protocol._lean_head_cycle`) is byte for byte
uvicorn's, and a header uvicorn refuses is refused with uvicorn's error."""

from __future__ import annotations

import asyncio
import itertools
import random
from typing import Any

import pytest

pytest.importorskip("httptools")

from uvicorn.protocols.http import httptools_impl as impl  # noqa: E402
from uvicorn.protocols.http.flow_control import FlowControl  # noqa: E402

from mockserver import server_protocol  # noqa: E402

LEAN = server_protocol._lean_head_cycle()
DEFAULT = [(b"date", b"Wed, 02 Dec 2026 12:00:00 GMT"), (b"server", b"uvicorn")]


class Transport:
    def __init__(self) -> None:
        self.written: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        self.written.append(data)

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def pause_reading(self) -> None: ...
    def resume_reading(self) -> None: ...


def cycle(cls: type, *, method: str = "GET", keep_alive: bool = True) -> tuple[Any, Transport]:
    transport = Transport()
    instance = cls(
        scope={"type": "http", "method": method, "http_version": "1.1", "path": "/", "headers": []},
        transport=transport, flow=FlowControl(transport), logger=impl.logging.getLogger("t"),
        access_logger=impl.logging.getLogger("t.access"), access_log=False, default_headers=DEFAULT,
        message_event=asyncio.Event(), expect_100_continue=False, keep_alive=keep_alive, on_response=lambda: None,
    )  # fmt: skip
    return instance, transport


def outcome(cls: type, messages: list[dict[str, Any]], **kwargs: Any) -> tuple[Any, ...]:
    """What a cycle writes and ends up with for these messages, or the error it raises."""
    instance, transport = cycle(cls, **kwargs)

    async def run() -> None:
        for message in messages:
            await instance.send(message)

    try:
        asyncio.run(run())
    except Exception as exc:  # noqa: BLE001 - the error is part of the outcome compared
        return ("raised", type(exc), str(exc), transport.written)
    state = ("keep_alive", "chunked_encoding", "expected_content_length", "response_started", "response_complete")
    return (tuple(transport.written), transport.closed, *(getattr(instance, name) for name in state))


def test_our_protocol_uses_the_lean_head() -> None:
    assert LEAN is not None and issubclass(LEAN, impl.RequestResponseCycle)


def test_the_byte_tables_say_what_uvicorns_patterns_say() -> None:
    for pattern in (impl.HEADER_RE, impl.HEADER_VALUE_RE):
        table = server_protocol._byte_table(pattern)
        assert table is not None
        rng = random.Random(7)
        samples = [bytes([b]) for b in range(256)]
        samples += [rng.randbytes(rng.randrange(0, 40)) for _ in range(2000)]
        samples += [bytes(rng.choice(b"abc-_ \t\x7f\x00\x0a\x80\xff") for _ in range(8)) for _ in range(2000)]
        for data in samples:
            assert (b"\0" in data.translate(table)) == bool(pattern.search(data)), data


HEADS = [
    [(b"content-type", b"application/json"), (b"content-length", b"2")],
    [(b"Content-Type", b"application/json"), (b"Content-Length", b"2"), (b"X-Request-ID", b"abc")],
    [(b"content-type", b"text/plain")],  # no length: chunked
    [(b"transfer-encoding", b"chunked")],
    [(b"transfer-encoding", b"Chunked"), (b"content-length", b"2")],
    [(b"content-length", b"2"), (b"connection", b"close")],
    [(b"content-length", b"2"), (b"connection", b"keep-alive, Close")],
    [(b"content-length", b"2"), (b"x-tab", b"a\tb"), (b"x-high", b"\x80\xff")],
    [(b"content-length", b"2"), (b"x-bad", b"a\r\nb: c")],  # refused: a CR LF in a value
    [(b"content-length", b"2"), (b"x bad", b"v")],  # refused: a space in a name
    [(b"content-length", b"2"), (b"x-nul", b"\x00")],
    [(b"content-length", b"2"), (b"x:colon", b"v")],
]


@pytest.mark.parametrize(("headers", "status", "method", "keep_alive"), [
    (h, s, m, k) for h, s, m, k in itertools.product(HEADS, (200, 204, 304, 404), ("GET", "HEAD"), (True, False))
])  # fmt: skip
def test_the_head_and_state_are_uvicorns(headers: list, status: int, method: str, keep_alive: bool) -> None:
    body = b"" if status in (204, 304) or method == "HEAD" else b"{}"
    messages = [
        {"type": "http.response.start", "status": status, "headers": headers},
        {"type": "http.response.body", "body": body},
    ]
    stock = outcome(impl.RequestResponseCycle, messages, method=method, keep_alive=keep_alive)
    lean = outcome(LEAN, messages, method=method, keep_alive=keep_alive)
    assert lean == stock


def test_a_body_before_the_start_is_uvicorns_error() -> None:
    messages = [{"type": "http.response.body", "body": b"x"}]
    assert outcome(LEAN, messages) == outcome(impl.RequestResponseCycle, messages)
    assert outcome(LEAN, messages)[0] == "raised"
