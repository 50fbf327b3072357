"""Our HTTP protocol (`http_protocol.HttpProtocol`, which `server_protocol.server_protocol` gives
uvicorn: a head limit, one write per response) keeps uvicorn's HTTP semantics, over a real
server on 127.0.0.1: pipelining, HEAD, HTTP/1.0, `Connection: close`, `Expect: 100-continue`, large bodies,
handlers that suspend, clients that leave, exceptions, shutdown, and the h11 fallback."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

pytest.importorskip("httptools")


from mockserver.settings import Settings  # noqa: E402
from mockserver.testing import MockServer, ServerThread  # noqa: E402

S = Settings()
DEVICES = f"/hubble/api/org/{S.hubble_org_id}/devices?limit=10"
AUTH = f"Authorization: Bearer {S.hubble_token}\r\n"


def get(path: str = DEVICES, *, version: str = "1.1", method: str = "GET", extra: str = "") -> bytes:
    return f"{method} {path} HTTP/{version}\r\nHost: x\r\n{AUTH}{extra}\r\n".encode()


def read_response(sock: socket.socket, buf: bytes = b"", *, head_only: bool = False) -> tuple[bytes, bytes, bytes]:
    """(head, body, what follows) of one response with a Content-Length."""
    while b"\r\n\r\n" not in buf:
        data = sock.recv(65536)
        assert data, f"connection closed after {buf!r}"
        buf += data
    head, _, rest = buf.partition(b"\r\n\r\n")
    if head_only:
        return head, b"", rest
    length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:"))
    while len(rest) < length:
        data = sock.recv(65536)
        assert data, "connection closed mid-body"
        rest += data
    return head, rest[:length], rest[length:]


def closed_by_server(sock: socket.socket) -> bool:
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True


@pytest.fixture(scope="module")
def server() -> Iterator[MockServer]:
    with MockServer(scenario="demo", rate_limit=False, http="httptools") as running:
        yield running


def connect(server: MockServer) -> socket.socket:
    return socket.create_connection(("127.0.0.1", server.port), timeout=10)


def test_keep_alive_serves_one_request_after_another(server: MockServer) -> None:
    with connect(server) as sock:
        for _ in range(5):
            sock.sendall(get())
            head, body, rest = read_response(sock)
            assert head.startswith(b"HTTP/1.1 200") and body.startswith(b'{"devices":[') and rest == b""
            assert b"connection: close" not in head.lower()


def test_pipelined_requests_are_answered_in_order_even_when_the_first_suspends(server: MockServer) -> None:
    slow = get(extra="X-Mock-Fault: latency=200\r\n")
    missing = get(f"/hubble/api/org/{S.hubble_org_id}/devices/not-a-device-id")  # a 400
    with connect(server) as sock:
        sock.sendall(slow + missing + get())
        statuses = []
        buf = b""
        for _ in range(3):
            head, _, buf = read_response(sock, buf)
            statuses.append(head.split(b" ")[1])
        assert statuses == [b"200", b"400", b"200"] and buf == b""


def test_a_suspended_request_does_not_hold_up_other_connections(server: MockServer) -> None:
    with connect(server) as slow, connect(server) as fast:
        slow.sendall(get(extra="X-Mock-Fault: latency=1000\r\n"))
        started = time.monotonic()
        fast.sendall(get())
        head, _, _ = read_response(fast)
        assert head.startswith(b"HTTP/1.1 200") and time.monotonic() - started < 0.9
        head, body, _ = read_response(slow)
        assert head.startswith(b"HTTP/1.1 200") and body.startswith(b'{"devices":[')


def test_head_gets_the_head_and_no_body(server: MockServer) -> None:
    with connect(server) as sock:
        sock.sendall(get("/bumblebee/webhooks", method="HEAD"))
        head, _, rest = read_response(sock, head_only=True)
        assert head.startswith(b"HTTP/1.1 405") and b"content-length: " in head.lower()
        sock.sendall(get())  # no body came between the two answers
        head, body, _ = read_response(sock, rest)
        assert head.startswith(b"HTTP/1.1 200") and body.startswith(b'{"devices":[')


@pytest.mark.parametrize("request_bytes", [get(version="1.0"), get(extra="Connection: close\r\n")], ids=["http/1.0", "connection-close"])
def test_the_connection_closes_after_the_answer_when_asked(server: MockServer, request_bytes: bytes) -> None:
    with connect(server) as sock:
        sock.sendall(request_bytes)
        head, body, rest = read_response(sock)
        assert head.startswith(b"HTTP/1.1 200") and b"\r\nconnection: close" in head.lower()
        assert body.startswith(b'{"devices":[') and rest == b""
        assert closed_by_server(sock)


def test_expect_100_continue_gets_a_go_ahead_before_the_body(server: MockServer) -> None:
    body = b'{"url": "http://127.0.0.1:1/hook"}'
    with connect(server) as sock:
        sock.sendall(
            b"POST /bumblebee/webhooks HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Expect: 100-continue\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n"
        )
        head, _, rest = read_response(sock, head_only=True)
        assert head == b"HTTP/1.1 100 Continue" and rest == b""
        sock.sendall(body)
        head, answer, _ = read_response(sock, rest)
        assert head.startswith(b"HTTP/1.1 400") and b"data_types" in answer  # the body was read and validated


def test_a_body_over_a_mebibyte_to_an_api_mount_is_refused_without_a_deadlock(server: MockServer) -> None:
    body = b" " * (3 * 1024 * 1024)
    with connect(server) as sock:
        sock.sendall(
            b"POST /bumblebee/webhooks HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n"
        )
        sender = threading.Thread(target=_send_quietly, args=(sock, body), daemon=True)
        sender.start()
        head, answer, _ = read_response(sock)
        sender.join(10)
        assert head.startswith(b"HTTP/1.1 413"), head
    with connect(server) as sock:  # and the server goes on
        sock.sendall(get())
        assert read_response(sock)[0].startswith(b"HTTP/1.1 200")


def _send_quietly(sock: socket.socket, data: bytes) -> None:
    try:
        sock.sendall(data)
    except OSError:
        pass  # the server may close once it has answered


def test_a_client_that_leaves_mid_request_does_not_disturb_the_server(server: MockServer) -> None:
    with connect(server) as sock:  # a body promised and never sent
        sock.sendall(b"POST /bumblebee/webhooks HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{")
    with connect(server) as sock:  # gone during a delay
        sock.sendall(get(extra="X-Mock-Fault: latency=300\r\n"))
    time.sleep(0.5)
    with connect(server) as sock:
        sock.sendall(get())
        assert read_response(sock)[0].startswith(b"HTTP/1.1 200")


class TinyApp:
    """Answers its path; /boom raises, /sleep-boom raises after a suspension, /held waits."""

    def __init__(self) -> None:
        self.suspended = threading.Event()

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            return
        path = scope["path"]
        if path == "/boom":
            raise ValueError("boom")
        if path in ("/sleep-boom", "/held"):
            await asyncio.sleep(0.05)
            if path == "/sleep-boom":
                raise ValueError("boom after a suspension")
            self.suspended.set()
            await asyncio.sleep(0.5)
        body = path.encode()
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


@pytest.fixture
def tiny() -> Iterator[tuple[ServerThread, TinyApp]]:
    app = TinyApp()
    with ServerThread(app, http="httptools", log_level="critical") as running:
        yield running, app


def exchange(port: int, request: bytes) -> tuple[bytes, bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        head, body, _ = read_response(sock)
        return head, body


@pytest.mark.parametrize("path", ["/boom", "/sleep-boom"])
def test_an_exception_in_the_app_is_a_500_as_uvicorn_answers(tiny: tuple[ServerThread, TinyApp], path: str) -> None:
    server, _ = tiny
    head, body = exchange(server.port, get(path))
    assert head.startswith(b"HTTP/1.1 500") and b"connection: close" in head and body == b"Internal Server Error"


def test_shutdown_waits_for_a_suspended_request(tiny: tuple[ServerThread, TinyApp]) -> None:
    server, app = tiny
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(get("/held"))
        assert app.suspended.wait(5)
        stopper = threading.Thread(target=server.stop)
        stopper.start()
        head, body, _ = read_response(sock)
        stopper.join(10)
    assert head.startswith(b"HTTP/1.1 200") and body == b"/held"


def test_the_h11_fallback_serves_the_api() -> None:
    with MockServer(scenario="demo", rate_limit=False, http="h11") as running, connect(running) as sock:
        sock.sendall(get() + get())
        head, _, rest = read_response(sock)
        assert head.startswith(b"HTTP/1.1 200")
        assert read_response(sock, rest)[0].startswith(b"HTTP/1.1 200")
