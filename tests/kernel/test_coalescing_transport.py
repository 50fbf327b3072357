"""Issue 10: the served protocol joins a response's head and body into one write. Bytes keep
their order, a close sends what waits first, an abort drops it; over a real socket every
answer arrives whole on a kept-alive connection."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

from mockserver.server_protocol import CoalescingTransport
from mockserver.settings import Settings
from mockserver.testing import MockServer


class FakeTransport:
    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.events: list[str] = []
        self.closing = False

    def write(self, data: bytes) -> None:
        self.writes.append(data)

    def writelines(self, lines: list[bytes]) -> None:  # one write of several pieces (uvloop: one writev)
        self.writes.append(b"".join(lines))

    def is_closing(self) -> bool:
        return self.closing

    def close(self) -> None:
        self.events.append("close")
        self.closing = True

    def abort(self) -> None:
        self.events.append("abort")
        self.closing = True

    def get_write_buffer_size(self) -> int:
        return 0

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 1)}.get(name, default)


def test_writes_in_one_loop_turn_leave_as_one_write() -> None:
    async def run() -> FakeTransport:
        fake = FakeTransport()
        t = CoalescingTransport(fake, asyncio.get_running_loop())
        t.write(b"HTTP/1.1 200 OK\r\n\r\n")
        t.write(b"")
        t.write(b"body")
        assert fake.writes == [] and t.get_write_buffer_size() == len(b"HTTP/1.1 200 OK\r\n\r\nbody")
        await asyncio.sleep(0)
        assert fake.writes == [b"HTTP/1.1 200 OK\r\n\r\nbody"]
        t.write(b"next")
        await asyncio.sleep(0)
        assert fake.writes[-1] == b"next"
        assert t.get_extra_info("peername") == ("127.0.0.1", 1)  # the rest is the transport's
        return fake

    assert len(asyncio.run(run()).writes) == 2


def test_head_and_body_leave_in_one_writelines_without_copying_the_body() -> None:
    """uvloop sends writelines' pieces with one writev: a large body is handed on as it is."""
    body = b"x" * 41_000
    handed: list[list[bytes]] = []

    class Recording(FakeTransport):
        def writelines(self, lines: list[bytes]) -> None:
            handed.append(list(lines))

    async def run() -> None:
        t = CoalescingTransport(Recording(), asyncio.get_running_loop())
        t.write(b"HTTP/1.1 200 OK\r\n\r\n")
        t.write(body)
        await asyncio.sleep(0)

    asyncio.run(run())
    assert len(handed) == 1 and handed[0][0] == b"HTTP/1.1 200 OK\r\n\r\n" and handed[0][1] is body


def test_close_flushes_first_and_abort_drops() -> None:
    async def run() -> tuple[FakeTransport, FakeTransport]:
        loop = asyncio.get_running_loop()
        closed, aborted = FakeTransport(), FakeTransport()
        a = CoalescingTransport(closed, loop)
        a.write(b"last words")
        a.close()
        b = CoalescingTransport(aborted, loop)
        b.write(b"never sent")
        b.abort()
        await asyncio.sleep(0)
        return closed, aborted

    closed, aborted = asyncio.run(run())
    assert closed.writes == [b"last words"] and closed.events == ["close"]
    assert aborted.writes == [] and aborted.events == ["abort"]


def _read_response(sock: socket.socket, buf: bytes) -> tuple[bytes, bytes, bytes]:
    while b"\r\n\r\n" not in buf:
        buf += sock.recv(65536)
    head, _, rest = buf.partition(b"\r\n\r\n")
    length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:"))
    while len(rest) < length:
        rest += sock.recv(65536)
    return head, rest[:length], rest[length:]


def test_kept_alive_connection_gets_every_answer_whole() -> None:
    settings = Settings(scenario="demo", rate_limit=False)
    with MockServer(settings) as server:
        host, port = server.base_url.split("//")[1].split(":")
        path = f"/hubble/api/org/{settings.hubble_org_id}/devices?limit=10"
        request = (f"GET {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {settings.hubble_token}\r\n\r\n").encode()
        with socket.create_connection((host, int(port)), timeout=10) as sock:
            sock.sendall(request * 3)  # pipelined: three answers, in order, each complete
            buf = b""
            bodies = []
            for _ in range(3):
                head, body, buf = _read_response(sock, buf)
                assert head.startswith(b"HTTP/1.1 200")
                bodies.append(body)
            assert buf == b"" and all(body.startswith(b'{"devices":[') and body.endswith(b"}") for body in bodies)
