"""Issue 10: our HTTP protocol (`http_protocol.HttpProtocol`), driven directly over a recording
transport: one write per answer (the body handed on uncopied), streaming and chunked bodies,
HEAD, response headers checked, the keep-alive timeout kept with one timer per idle period,
pipelining, request bodies that arrive later, ASGI's receive after the body, the head limit.
tests/kernel/test_server_layer.py checks the same semantics over real sockets."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

pytest.importorskip("httptools")

import uvicorn  # noqa: E402
from uvicorn.server import ServerState  # noqa: E402

from mockserver.http_protocol import HttpProtocol, _Outbox  # noqa: E402
from mockserver.settings import Settings  # noqa: E402
from mockserver.testing import MockServer  # noqa: E402

App = Callable[[dict, Any, Any], Awaitable[None]]


class Recording:
    """A socket transport that keeps every write call as it was made."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.closing = False

    def write(self, data: bytes) -> None:
        self.calls.append(("write", data))

    def writelines(self, pieces: Any) -> None:
        self.calls.append(("writelines", list(pieces)))

    def data(self) -> bytes:
        return b"".join(d if kind == "write" else b"".join(d) for kind, d in self.calls)

    def close(self) -> None:
        self.closing = True

    def is_closing(self) -> bool:
        return self.closing

    def pause_reading(self) -> None: ...
    def resume_reading(self) -> None: ...

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"sockname": ("127.0.0.1", 8080), "peername": ("127.0.0.1", 40000)}.get(name, default)


def connect(app: App, **config: Any) -> tuple[HttpProtocol, Recording]:
    cfg = uvicorn.Config(
        app, log_level="critical", access_log=False, lifespan="off", proxy_headers=False, **config
    )
    cfg.load()
    state = ServerState()
    state.default_headers = [(b"date", b"Wed, 02 Dec 2026 12:00:00 GMT"), *cfg.encoded_headers]
    proto = HttpProtocol(config=cfg, server_state=state, app_state={})
    transport = Recording()
    proto.connection_made(transport)
    return proto, transport


def answer(body: bytes, headers: list[tuple[bytes, bytes]] | None = None) -> App:
    async def app(scope: dict, receive: Any, send: Any) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": headers if headers is not None else [(b"content-length", b"%d" % len(body))],
            }
        )
        await send({"type": "http.response.body", "body": body})

    return app


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


def exchange(app: App, data: bytes = b"") -> Recording:
    """What a connection to `app` writes after receiving `data` (GET /x by default)."""

    async def run() -> Recording:
        proto, transport = connect(app)
        proto.data_received(data or GET)
        await settle()
        return transport

    return asyncio.run(run())


GET = b"GET /x HTTP/1.1\r\nHost: a\r\n\r\n"


def test_a_small_answer_is_one_write_with_the_server_headers() -> None:
    transport = exchange(answer(b"hello"))
    assert [kind for kind, _ in transport.calls] == ["writelines"]
    head, _, body = transport.data().partition(b"\r\n\r\n")
    assert (
        head.startswith(b"HTTP/1.1 200 OK\r\n")
        and b"\r\nserver: uvicorn\r\n" in head
        and b"\r\ndate: " in head
    )
    assert b"content-length: 5" in head and body == b"hello"


def test_a_large_body_is_handed_on_uncopied_with_its_head() -> None:
    body = b"x" * 41_000
    [(kind, pieces)] = exchange(answer(body)).calls
    assert (
        kind == "writelines"
        and len(pieces) == 2
        and pieces[0].startswith(b"HTTP/1.1 200")
        and pieces[1] is body
    )


def test_a_streamed_body_without_a_length_is_chunked_and_the_head_leaves_with_the_first_piece() -> None:
    async def app(scope: dict, receive: Any, send: Any) -> None:
        await send(
            {"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]}
        )
        await send({"type": "http.response.body", "body": b"abc", "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": True})
        await send({"type": "http.response.body", "body": b"de"})

    transport = exchange(app)
    head, _, rest = transport.data().partition(b"\r\n\r\n")
    assert b"transfer-encoding: chunked" in head and rest == b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"
    assert transport.calls[0][1][0].startswith(b"HTTP/1.1 200")  # the head went out with the first chunk


def test_head_requests_get_no_body_bytes() -> None:
    data = exchange(answer(b"hello"), b"HEAD /x HTTP/1.1\r\nHost: a\r\n\r\n" + GET).data()
    first, second = data.split(b"HTTP/1.1 200 OK")[1:]
    assert first.endswith(b"content-length: 5\r\n\r\n")  # the head only, and then the next answer
    assert second.endswith(b"\r\n\r\nhello")


@pytest.mark.parametrize(
    "headers",
    [
        [(b"x-bad", b"a\r\nset-cookie: injected=1")],
        [(b"x-bad", b"line\nbreak")],
        [(b"x-bad", b"nul\x00")],
        [(b"bad name", b"v")],
        [(b"x-bad:", b"v")],
        [(b"", b"v")],
    ],
    ids=["crlf", "lf", "nul", "space-in-name", "colon-in-name", "empty-name"],
)
def test_a_header_that_would_break_the_head_is_refused_and_nothing_is_written(
    headers: list[tuple[bytes, bytes]],
) -> None:
    transport = exchange(answer(b"hi", [(b"content-length", b"2"), *headers]))
    assert transport.data() == b"" and transport.closing  # as uvicorn: the app's error closes the connection


def test_a_tab_in_a_header_value_is_allowed() -> None:
    assert (
        b"\r\nx-tab: a\tb\r\n"
        in exchange(answer(b"hi", [(b"content-length", b"2"), (b"x-tab", b"a\tb")])).data()
    )


def test_pipelined_requests_are_answered_in_order() -> None:
    async def app(scope: dict, receive: Any, send: Any) -> None:
        if scope["path"] == "/slow":
            await asyncio.sleep(0.02)
        body = scope["path"].encode()
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-length", b"%d" % len(body))],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def run() -> Recording:
        proto, transport = connect(app)
        proto.data_received(
            b"".join(b"GET /%s HTTP/1.1\r\nHost: a\r\n\r\n" % p for p in (b"slow", b"a", b"slow", b"b"))
        )
        for _ in range(100):
            await asyncio.sleep(0.01)
            if transport.data().endswith(b"/b"):
                break
        return transport

    data = asyncio.run(run()).data()
    assert [part.rsplit(b"\r\n\r\n", 1)[-1] for part in data.split(b"HTTP/1.1 200 OK")[1:]] == [
        b"/slow",
        b"/a",
        b"/slow",
        b"/b",
    ]


def test_a_body_that_arrives_later_is_waited_for_and_receive_then_waits_for_the_end() -> None:
    seen: list[dict] = []

    async def app(scope: dict, receive: Any, send: Any) -> None:
        body = b""
        while True:
            message = await receive()
            seen.append(message)
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-length", b"%d" % len(body))],
            }
        )
        await send({"type": "http.response.body", "body": body})
        seen.append(await receive())  # after the answer: the request is over

    async def run() -> Recording:
        proto, transport = connect(app)
        proto.data_received(b"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 6\r\n\r\nabc")
        await settle()
        assert transport.calls == []  # waiting for the rest of the body
        proto.data_received(b"def")
        await settle()
        return transport

    transport = asyncio.run(run())
    assert transport.data().endswith(b"\r\n\r\nabcdef")
    assert b"".join(m.get("body", b"") for m in seen[:-1]) == b"abcdef" and seen[-1] == {
        "type": "http.disconnect"
    }


def test_receive_after_the_whole_body_blocks_until_the_client_leaves() -> None:
    """ASGI: once the body is read, receive() waits for a disconnect (what a streaming
    response's disconnect listener relies on), it does not answer the body again."""
    events: list[str] = []

    async def app(scope: dict, receive: Any, send: Any) -> None:
        assert (await receive())["type"] == "http.request"
        events.append((await receive())["type"])

    async def run() -> None:
        proto, _ = connect(app)
        proto.data_received(GET)
        await settle()
        assert events == []
        proto.connection_lost(None)
        await settle()

    asyncio.run(run())
    assert events == ["http.disconnect"]


def test_the_keep_alive_timeout_closes_an_idle_connection_with_one_timer_per_idle_period() -> None:
    armed: list[float] = []

    async def run() -> tuple[bool, bool]:
        proto, transport = connect(answer(b"ok"), timeout_keep_alive=0.2)
        loop = asyncio.get_running_loop()
        real = loop.call_later

        def counting(delay: float, callback: Any, *args: Any) -> Any:
            if getattr(callback, "__self__", None) is proto:  # the protocol's timers, not asyncio.sleep's
                armed.append(delay)
            return real(delay, callback, *args)

        loop.call_later = counting  # type: ignore[method-assign]
        for _ in range(20):  # twenty answers in quick succession: one timer
            proto.data_received(GET)
            await settle()
        await asyncio.sleep(0.1)
        proto.data_received(GET)  # activity resets the idle period
        await settle()
        await asyncio.sleep(0.15)
        open_after_activity = not transport.closing
        await asyncio.sleep(0.3)
        return open_after_activity, transport.closing

    open_after_activity, closed_when_idle = asyncio.run(run())
    assert open_after_activity and closed_when_idle
    assert len(armed) <= 3  # the first timer, its re-arm after activity, and no more


def test_a_request_head_past_the_limit_is_refused_with_431(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(HttpProtocol, "head_limit", 1000)

    async def run() -> Recording:
        proto, transport = connect(answer(b"ok"))
        proto.data_received(b"GET /x HTTP/1.1\r\nHost: a\r\nX-Big: " + b"a" * 600)
        assert transport.calls == []
        proto.data_received(b"a" * 600)
        return transport

    transport = asyncio.run(run())
    assert transport.data().startswith(b"HTTP/1.1 431 ") and transport.closing


def test_an_exception_before_the_answer_is_a_500_and_the_connection_closes() -> None:
    async def app(scope: dict, receive: Any, send: Any) -> None:
        raise ValueError("boom")

    transport = exchange(app)
    assert transport.data().startswith(b"HTTP/1.1 500 ") and transport.data().endswith(
        b"\r\n\r\nInternal Server Error"
    )
    assert transport.closing


def test_answers_finished_in_one_turn_leave_together_at_its_end(monkeypatch: pytest.MonkeyPatch) -> None:
    """Three connections answered in the same turn of the loop: one outbox callback writes
    all three, after the turn, one write each."""
    flushes: list[int] = []
    real = _Outbox.flush

    def counting(outbox: _Outbox) -> None:
        flushes.append(len(outbox.waiting))
        real(outbox)

    monkeypatch.setattr(_Outbox, "flush", counting)

    async def run() -> list[Recording]:
        pairs = [connect(answer(b"hello")) for _ in range(3)]
        assert all(proto.outbox is pairs[0][0].outbox for proto, _ in pairs)  # one per event loop
        for proto, _ in pairs:
            proto.data_received(GET)
        await settle()
        return [transport for _, transport in pairs]

    transports = asyncio.run(run())
    assert flushes == [3]
    assert all(len(t.calls) == 1 and t.data().endswith(b"\r\n\r\nhello") for t in transports)


def test_what_waits_for_the_outbox_is_written_before_anything_else_and_before_a_close() -> None:
    async def run() -> tuple[Recording, Recording, Recording]:
        refused, refused_transport = connect(answer(b"ok"))
        refused.send_later([b"ANSWER"])
        refused.data_received(b"NOT HTTP AT ALL\r\n\r\n")  # a 400 from the protocol itself
        stopped, stopped_transport = connect(answer(b"ok"))
        stopped.send_later([b"ANSWER"])
        stopped.shutdown()  # idle: the server closes it now
        lost, lost_transport = connect(answer(b"ok"))
        lost.send_later([b"ANSWER"])
        lost_transport.closing = True
        lost.connection_lost(ConnectionResetError())
        await settle()
        return refused_transport, stopped_transport, lost_transport

    refused, stopped, lost = asyncio.run(run())
    assert refused.data().startswith(b"ANSWER" + b"HTTP/1.1 400 ") and refused.closing
    assert stopped.data() == b"ANSWER" and stopped.closing
    assert lost.data() == b""  # nowhere to go: dropped, not written to a dead socket


def test_a_websocket_upgrade_goes_to_uvicorns_websocket_protocol_when_one_is_installed() -> None:
    handed: list[Any] = []

    class WebSocketProtocol:  # stands for uvicorn's (websockets or wsproto)
        def __init__(self, config: Any, server_state: Any, app_state: Any) -> None:
            handed.append(self)
            self.data = b""

        def connection_made(self, transport: Any) -> None:
            self.transport = transport

        def data_received(self, data: bytes) -> None:
            self.data += data

    async def run() -> tuple[HttpProtocol, Recording]:
        proto, transport = connect(answer(b"not for websockets"))
        proto.config.ws_protocol_class = WebSocketProtocol
        transport.set_protocol = lambda protocol: handed.append(("set", protocol))  # type: ignore[attr-defined]
        proto.data_received(
            b"GET /ws?x=1 HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
            b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        await settle()
        return proto, transport

    proto, transport = asyncio.run(run())
    ws, (_, switched_to) = handed
    assert switched_to is ws and ws.transport is transport and transport.calls == []  # no HTTP answer
    assert ws.data.startswith(
        b"GET /ws?x=1 HTTP/1.1\r\nhost: a\r\nconnection: Upgrade\r\nupgrade: websocket\r\n"
    )
    assert proto not in proto.connections


def test_without_a_websocket_library_an_upgrade_request_is_answered_as_plain_http() -> None:
    async def run() -> Recording:
        proto, transport = connect(answer(b"plain"))
        proto.config.ws_protocol_class = None  # as without websockets or wsproto installed
        proto.data_received(
            b"GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n"
        )
        await settle()
        return transport

    assert asyncio.run(run()).data().endswith(b"\r\n\r\nplain")


def _read_response(sock: socket.socket, buf: bytes) -> tuple[bytes, bytes, bytes]:
    while b"\r\n\r\n" not in buf:
        buf += sock.recv(65536)
    head, _, rest = buf.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":")[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(rest) < length:
        rest += sock.recv(65536)
    return head, rest[:length], rest[length:]


def test_kept_alive_connection_gets_every_answer_whole() -> None:
    settings = Settings(scenario="demo", rate_limit=False)
    with MockServer(settings) as server:
        host, port = server.base_url.split("//")[1].split(":")
        path = f"/hubble/api/org/{settings.hubble_org_id}/devices?limit=10"
        request = (
            f"GET {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {settings.hubble_token}\r\n\r\n"
        ).encode()
        with socket.create_connection((host, int(port)), timeout=10) as sock:
            sock.sendall(request * 3)  # pipelined: three answers, in order, each complete
            buf = b""
            bodies = []
            for _ in range(3):
                head, body, buf = _read_response(sock, buf)
                assert head.startswith(b"HTTP/1.1 200")
                bodies.append(body)
            assert buf == b"" and all(
                body.startswith(b'{"devices":[') and body.endswith(b"}") for body in bodies
            )
