"""Items 6 and 7: the X-Mock-Fault header honours the admin token, its values (and a rule's)
are bounded, a client that hangs up during an injected delay frees its request, and a
rule's path pattern cannot stall the server (RE2: linear-time matching)."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import httpx
import pytest

from mockserver.testing import MockServer

from .conftest import Door

ADMIN = "s3cret-admin"


@pytest.fixture(scope="module")
def guarded() -> Iterator[MockServer]:
    with MockServer(scenario="empty", rate_limit=False, strict=True, admin_token=ADMIN) as server:
        yield server


def test_the_fault_header_needs_the_admin_token_when_one_is_set(guarded: MockServer):
    with httpx.Client(base_url=guarded.base_url, timeout=30, trust_env=False) as http:
        for headers in ({}, {"X-Mock-Admin-Token": "wrong"}, {"Authorization": f"Bearer {ADMIN}"}):
            r = http.get("/bumblebee/webhooks", headers={"X-Mock-Fault": "status=503", **headers})
            assert r.status_code == 400 and "X-Mock-Admin-Token" in r.json()["error"], r.text
        r = http.get("/bumblebee/webhooks", headers={"X-Mock-Fault": "status=503", "X-Mock-Admin-Token": ADMIN})
        assert r.status_code == 503, r.text
        assert http.get("/bumblebee/webhooks").status_code == 200  # without the header: served as usual


@pytest.mark.parametrize(
    "header,needle",
    [
        ("latency=" + "9" * 400, "latency_ms"),
        ("latency=600001", "at most 600000"),
        ("status=429; retry_after=100000000", "retry_after must be at most"),
        ("status=503; count=99999999999999", "count must be at most"),
        ("status=503; message=" + "m" * 600, "longer than 500"),
        ("kind=latency; latency=1; path=(a)\\1", "RE2"),
    ],
)
def test_fault_header_values_are_bounded(door: Door, header: str, needle: str):
    r = door.http.get("/bumblebee/webhooks", headers={"X-Mock-Fault": header})
    assert r.status_code == 400 and needle in r.json()["error"], r.text


@pytest.mark.parametrize(
    "rule,needle",
    [
        ({"latency_ms": 10**20}, "latency_ms must be"),
        ({"latency_ms": 600_001}, "at most 600000"),
        ({"status": 503, "count": 10**12}, "count must be at most"),
        ({"status": 429, "retry_after": 10**9}, "retry_after must be at most"),
        ({"kind": "latency", "distribution": {"type": "lognormal", "median": 10**7, "sigma": 1}}, "median must be at most"),
        ({"kind": "latency", "distribution": {"type": "lognormal", "median": 10, "sigma": 50}}, "sigma must be at most"),
        ({"status": 503, "message": "m" * 1001}, "message is longer than 1000"),
        ({"status": 503, "path": "(?=a)"}, "RE2"),
        ({"status": 503, "path": "(a)\\1"}, "RE2"),
        ({"status": 503, "path": "a" * 501}, "path is longer than 500"),
    ],
)
def test_fault_rule_values_are_bounded(door: Door, rule: dict, needle: str):
    r = door.http.post("/_mock/faults", json=rule)
    assert r.status_code == 400 and needle in r.json()["error"], r.text
    assert door.http.get("/_mock/faults").json() == {"faults": []}


def test_a_pathological_path_pattern_cannot_stall_the_server(door: Door):
    """`(a+)+$` backtracks exponentially in Python's re: 40 characters held the server for
    30 s and more. RE2 answers at once, matched or not."""
    assert door.http.post("/_mock/faults", json={"status": 503, "path": "(a+)+$"}).status_code == 201
    with httpx.Client(base_url=door.server.base_url, timeout=10, trust_env=False) as quick:
        miss = quick.get("/bumblebee/webhooks/" + "a" * 40 + "!")
        assert miss.status_code == 404, miss.text  # no match: served normally
        hit = quick.get("/bumblebee/webhooks/" + "a" * 4000)
        assert hit.status_code == 503, hit.text


def test_a_client_that_hangs_up_during_a_delay_frees_its_request(door: Door):
    door.server.clear_requests()
    with socket.create_connection(("127.0.0.1", door.server.port), timeout=10) as sock:
        sock.sendall(b"GET /bumblebee/webhooks HTTP/1.1\r\nHost: x\r\nX-Mock-Fault: latency=600000\r\n\r\n")
        time.sleep(0.3)  # the request is in its delay
    deadline = time.monotonic() + 30
    entries: list[dict] = []
    while time.monotonic() < deadline and not entries:
        entries = [e for e in door.server.requests() if "closed the connection" in (e.get("error") or "")]
        time.sleep(0.1)
    assert entries, "the abandoned request was still held (no journal entry after 30 s of a 600 s delay)"
    assert entries[0]["fault"]["latency_ms"] == 600000 and "status" not in entries[0]
