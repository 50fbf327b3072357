"""The engine's small HTTP/1.1 client, against raw receivers on 127.0.0.1: keep-alive reuse,
the answer framings (Content-Length, chunked, close-delimited, interim 100), capped reads,
a receiver that closes kept-alive connections, and the cases it leaves to httpx. Nothing
delivered is lost or doubled."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

import pytest

from mockserver.kernel.clock import Clock, Timers
from mockserver.kernel.ids import Ids
from mockserver.kernel.store import Store
from mockserver.webhooks import RetryPolicy, WebhookEngine
from mockserver.webhooks.http1 import head_of, target_of

pytestmark = pytest.mark.timeout(120)
T0 = 1_767_225_600.0


class RawReceiver:
    """Reads each request whole, records its body, answers with `answer(n)` bytes (n counts
    requests); `close_after` closes the connection after that many answers on it."""

    def __init__(self, answer: Callable[[int], bytes], close_after: int | None = None) -> None:
        self.answer = answer
        self.close_after = close_after
        self.bodies: list[bytes] = []
        self.heads: list[bytes] = []
        self.connections = 0
        self.port = 0

    async def __aenter__(self) -> RawReceiver:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._server.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        served = 0
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                body = await reader.readexactly(length)
                self.heads.append(head)
                self.bodies.append(body)
                writer.write(self.answer(len(self.bodies)))
                await writer.drain()
                served += 1
                if self.close_after is not None and served >= self.close_after:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        writer.close()

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"


def engine() -> WebhookEngine:
    clock = Clock("frozen", start=T0)
    store = Store()
    return WebhookEngine(clock, Timers(clock), store, Ids(1, store, "webhooks"),
                         {"test": RetryPolicy(delays=[60.0], timeout=5.0)})  # fmt: skip


def ok(n: int) -> bytes:
    return b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


def run(coro) -> None:  # noqa: ANN001
    asyncio.run(coro)


def test_every_message_once_over_reused_connections() -> None:
    async def main() -> None:
        async with RawReceiver(ok) as rx:
            eng = engine()
            await eng.start()
            for i in range(300):
                eng.enqueue("test", "ep", rx.url(), {"seq": i}, {"X-Token": "t"}, event_type="x")
            await eng.timers.advance(0)
            await eng.stop()
            seqs = sorted(json.loads(b)["seq"] for b in rx.bodies)
            assert seqs == list(range(300))  # none lost, none doubled
            assert eng.stats("test")["sent"] == 300
            assert rx.connections <= 8  # the per-origin slots, kept alive and reused
            head = rx.heads[0].decode()
            assert "X-Token: t\r\n" in head and "Content-Type: application/json\r\n" in head

    run(main())


def test_receiver_closing_kept_alive_connections_loses_nothing() -> None:
    async def main() -> None:
        async with RawReceiver(ok, close_after=3) as rx:
            eng = engine()
            await eng.start()
            for i in range(60):
                eng.enqueue("test", "ep", rx.url(), {"seq": i}, {}, event_type="x")
            await eng.timers.advance(0)
            await eng.timers.advance(60)  # a request that met a closing connection is retried
            await eng.stop()
            states = [m["state"] for m in eng.messages(api="test")]
            assert states.count("sent") == 60
            delivered = [json.loads(b)["seq"] for b in rx.bodies]
            assert sorted(set(delivered)) == list(range(60))
            # a second copy only for an attempt recorded as failed (at-least-once, never silently)
            attempts = sum(len(m["attempts"]) for m in eng.messages(api="test"))
            assert len(delivered) <= attempts

    run(main())


@pytest.mark.parametrize(
    ("raw", "status", "excerpt", "error"),
    [
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n", 200, "abcde", None),
        (b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 1\r\n\r\nx", 201, "x", None),
        (b"HTTP/1.0 503 Busy\r\nContent-Type: text/plain; charset=latin-1\r\n\r\n\xe9t\xe9", 503, "\xe9t\xe9", "HTTP 503"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", 200, "", "connection closed mid-response (HTTP 200)"),
        (b"HTTP/1.1 2x0 OK\r\n\r\n", None, "", "invalid HTTP response"),
    ],
)
def test_answer_framings(raw: bytes, status: int | None, excerpt: str, error: str | None) -> None:
    async def main() -> None:
        async with RawReceiver(lambda n: raw, close_after=1) as rx:
            eng = engine()
            await eng.start()
            mid = eng.enqueue("test", "ep", rx.url(), {"a": 1}, {}, event_type="x")["id"]
            await eng.timers.advance(0)
            await eng.stop()
            (attempt,) = eng.get(mid)["attempts"]
            assert attempt["status"] == status
            assert attempt["response_excerpt"] == excerpt
            if error is None:
                assert attempt["error"] is None
            else:
                assert attempt["error"].startswith(error)

    run(main())


def test_long_answers_are_read_up_to_the_cap() -> None:
    big = b"y" * 200_000
    raw = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(big) + big

    async def main() -> None:
        async with RawReceiver(lambda n: raw) as rx:
            eng = engine()
            await eng.start()
            for i in range(3):
                eng.enqueue("test", "ep", rx.url(), {"i": i}, {}, event_type="x")
            await eng.timers.advance(0)
            await eng.stop()
            assert eng.stats("test")["sent"] == 3
            assert all(len(m["attempts"][0]["response_excerpt"]) == 500 for m in eng.messages(api="test"))

    run(main())


def test_fast_path_steps_aside_where_httpx_decides() -> None:
    assert target_of("https://example.com/hook") is None
    assert target_of("http://user:pw@example.com/hook") is None
    assert target_of("http://exämple.com/hook") is None
    assert target_of("not a url") is None
    target = target_of("http://127.0.0.1:9000/hook?a=1")
    assert target is not None and (target.port, target.path) == (9000, "/hook?a=1")
    assert head_of(target, {"X-Bad": "a\r\nInjected: 1"}, 2) is None
    assert head_of(target, {"Bad Name": "x"}, 2) is None
    assert head_of(target, {"X-Name": "caf\u00e9"}, 2) is None
    assert head_of(target, {"Host": "other"}, 2) is None
    head = head_of(target, {"User-Agent": "ua"}, 2)
    assert head is not None and head.startswith(b"POST /hook?a=1 HTTP/1.1\r\nHost: 127.0.0.1:9000\r\n")
