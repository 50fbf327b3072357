"""Item 3 (the part outside the journal) and item 8: a request head over the limit is a 431
in the error shape of the API it was meant for, a head far past it is cut off by the
transport before it is buffered whole, control-plane bodies have a size limit, and every
answer (a 404 outside any mount included) carries X-Request-ID. Real sockets throughout."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import httpx
import pytest

from mockserver.server_protocol import TRANSPORT_HEAD_LIMIT
from mockserver.testing import MockServer

from .conftest import Door

LIMIT = 32_768  # the default max_header_bytes


def big(n: int) -> str:
    return "x" * n


def test_an_oversized_header_is_a_431_in_each_apis_shape(door: Door):
    headers = {"X-Padding": big(LIMIT + 1)}
    hubble = door.http.get(f"/hubble/api/org/{door.org}/devices", headers={**door.hubble_headers(), **headers})
    assert hubble.status_code == 431, hubble.text
    assert hubble.json()["code"] == 431 and hubble.json()["name"] == "Request Header Fields Too Large"
    assert "MOCKSERVER_MAX_HEADER_BYTES" in hubble.json()["description"]
    hubby = door.http.get("/hubby/api/bookings", headers=headers)
    assert hubby.status_code == 431 and hubby.json()["success"] is False, hubby.text
    bumblebee = door.http.get("/bumblebee/webhooks", headers=headers)
    assert bumblebee.status_code == 431 and "error" in bumblebee.json(), bumblebee.text
    control = door.http.get("/_mock/health", headers=headers)
    assert control.status_code == 431 and "error" in control.json(), control.text
    for r in (hubble, hubby, bumblebee, control):
        assert r.headers.get("x-request-id")


def test_a_long_query_string_counts_too(door: Door):
    r = door.http.get("/bumblebee/webhooks", params={"q": big(LIMIT)})
    assert r.status_code == 431, r.text


def test_a_header_under_the_limit_is_served(door: Door):
    r = door.http.get("/bumblebee/webhooks", headers={"X-Padding": big(LIMIT // 2)})
    assert r.status_code == 200, r.text


def test_a_refused_head_is_not_journaled(door: Door):
    door.server.clear_requests()
    door.http.get("/bumblebee/webhooks", headers={"X-Padding": big(LIMIT + 1)})
    assert door.server.requests() == []


def raw_exchange(port: int, head: bytes, payload: int) -> tuple[bytes, bool]:
    """Send a request head with a header value of `payload` bytes, then read what comes back
    until the server closes. Also says whether the whole head could be sent: a server that
    stops reading early makes the sender fail part-way."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(head)
        chunk = b"y" * 65536
        sent = 0
        complete = False
        try:
            while sent < payload:
                sock.sendall(chunk)
                sent += len(chunk)
            sock.sendall(b"\r\n\r\n")
            complete = True
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server stopped reading: what it answered is still in our receive buffer
        received = b""
        try:
            while True:
                data = sock.recv(65536)
                if not data:
                    break
                received += data
        except ConnectionResetError:
            pass
        return received, complete


@pytest.mark.parametrize("http", ["h11", "httptools"])
def test_a_huge_header_is_cut_off_by_the_transport(http: str):
    """64 MB of header: the server answers without buffering it whole (httptools: 431;
    h11: its own 400 past the same size) and keeps serving."""
    pytest.importorskip(http)
    with MockServer(scenario="empty", rate_limit=False, http=http) as server:
        head = b"GET /bumblebee/webhooks HTTP/1.1\r\nHost: x\r\nX-Padding: "
        received, complete = raw_exchange(server.port, head, 64 * 1024 * 1024)
        status = received.split(b"\r\n", 1)[0]
        assert status.startswith(b"HTTP/1.1 431" if http == "httptools" else b"HTTP/1.1 400"), received[:200]
        assert not complete, "the server read the whole 64 MB head"
        ok = httpx.get(f"{server.base_url}/bumblebee/webhooks", timeout=30, trust_env=False)
        assert ok.status_code == 200
    assert TRANSPORT_HEAD_LIMIT < 64 * 1024 * 1024


@pytest.fixture(scope="module")
def small_control() -> Iterator[MockServer]:
    with MockServer(scenario="empty", rate_limit=False, max_control_body_bytes=4096) as server:
        yield server


def test_a_control_body_over_the_limit_is_a_413(small_control: MockServer):
    with httpx.Client(base_url=small_control.base_url, timeout=30, trust_env=False) as http:
        r = http.post("/_mock/faults", content=b" " * 5000 + b"{}", headers={"Content-Type": "application/json"})
        assert r.status_code == 413 and "4096 bytes" in r.json()["error"], r.text

        def chunks() -> Iterator[bytes]:  # no Content-Length: the limit applies while reading
            for _ in range(10):
                yield b" " * 1000

        r = http.put("/_mock/state", content=chunks(), headers={"Content-Type": "application/json"})
        assert r.status_code == 413, r.text
        r = http.post("/_mock/faults", json={"kind": "status", "status": 503, "count": 1})
        assert r.status_code == 201, r.text  # a body under the limit is read as usual


def test_a_404_outside_any_mount_has_a_request_id(door: Door):
    r = door.http.get("/nowhere/at/all")
    assert r.status_code == 404 and r.headers.get("x-request-id"), r.headers
    again = door.http.get("/nowhere/at/all")
    assert again.headers["x-request-id"] != r.headers["x-request-id"]
    echoed = door.http.get("/nowhere", headers={"X-Request-ID": "trace-42"})
    assert echoed.headers["x-request-id"] == "trace-42"


def test_a_path_no_mount_pattern_takes_has_a_request_id(door: Door):
    """A newline in a path parameter: Starlette's mount patterns do not match it, so no API
    mount sees the request; the 404 in the API's shape still carries an id (found by the fuzz job)."""
    for path in ("/hubby/api/bookings/%0A", "/hubble/api/org/%0A/devices", "/bumblebee/webhooks/%0A"):
        r = door.http.get(path)
        assert r.status_code == 404 and r.headers.get("x-request-id"), (path, r.headers)


def test_control_plane_answers_carry_a_request_id(door: Door):
    for r in (door.http.get("/_mock/health"), door.http.get("/_mock/nothing-here"), door.http.post("/_mock/clock", content=b"{")):
        assert r.headers.get("x-request-id"), (r.status_code, r.headers)
