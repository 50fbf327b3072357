"""The request journal stays bounded in bytes as well as entries, whatever clients send:
header values, the header block and bodies are kept as excerpts, and an entry says what
was cut. Through a real server and socket, read back through the control plane."""

from __future__ import annotations

import gc
import tracemalloc

import httpx
import pytest

from mockserver.kernel import journal as journal_mod
from mockserver.kernel.journal import Journal
from mockserver.testing import MockServer

ORG_PATH = "/api/v2/org/{org}/devices"


@pytest.fixture(scope="module")
def server():
    with MockServer(scenario="empty", rate_limit=False) as srv:
        yield srv


def test_big_headers_and_bodies_are_cut_and_marked(server: MockServer) -> None:
    creds = server.credentials()["hubble"]
    server.clear_requests()
    big_value = "v" * 3000  # over the per-value limit
    headers = {"Authorization": f"Bearer {creds['token']}", "X-Big-1": big_value, "X-Big-2": big_value,
               "X-Big-3": big_value, "X-Big-4": big_value}  # fmt: skip  (12 KB: over the header-block limit)
    body = b'{"n_devices": 1, "encryption": "AES-256-CTR", "names": ["' + b"n" * 200_000 + b'"]}'
    with httpx.Client(trust_env=False, timeout=30) as client:
        r = client.post(server.hubble_url + ORG_PATH.format(org=creds["org_id"]), content=body,
                        headers={**headers, "Content-Type": "application/json"})  # fmt: skip
    assert r.status_code == 400  # the name is too long for the spec: answered, and journaled
    entry = server.requests(api="hubble", limit=1)[0]
    assert set(entry["truncated"]) >= {"request.headers", "request.body"}
    kept = entry["request"]["headers"]
    assert all(len(v) <= journal_mod.HEADER_VALUE_LIMIT for v in kept.values())
    assert sum(len(k) + len(v) for k, v in kept.items()) <= journal_mod.HEADERS_LIMIT
    assert kept["authorization"].startswith("Bearer ")  # what fits is kept as sent
    assert entry["request"]["body"].endswith("...")
    assert len(entry["request"]["body"]) <= journal_mod.BODY_LIMIT + 3
    assert entry["violations"]  # the checks themselves saw the whole body


def test_small_requests_are_kept_whole(server: MockServer) -> None:
    creds = server.credentials()["hubble"]
    server.clear_requests()
    with httpx.Client(trust_env=False, timeout=30) as client:
        r = client.get(server.hubble_url + f"/api/org/{creds['org_id']}/devices",
                       headers={"Authorization": f"Bearer {creds['token']}", "X-Note": "hello"})  # fmt: skip
    assert r.status_code == 200
    entry = server.requests(api="hubble", limit=1)[0]
    assert "truncated" not in entry
    assert entry["request"]["headers"]["x-note"] == "hello"
    assert entry["response"]["headers"]["X-Request-ID"] == r.headers["x-request-id"]
    assert entry["response"]["body"] == r.text


def test_journal_memory_stays_within_its_byte_budget(server: MockServer) -> None:
    """1,200 requests with a 7 KB header each: with whole headers kept the journal would hold
    more than 8 MB; excerpts and a 512 KB budget hold it to that budget."""
    journal = server.runtime.journal
    saved = journal.max_bytes
    journal.max_bytes = 512 * 1024
    server.clear_requests()
    value = "h" * 7000
    body = b'{"n_devices": 1, "encryption": "AES-256-CTR"}'
    url = server.hubble_url + ORG_PATH.format(org=server.credentials()["hubble"]["org_id"])
    try:
        gc.collect()
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        with httpx.Client(trust_env=False, timeout=30) as client:
            for _ in range(1200):
                client.post(url, content=body, headers={"X-Big": value, "Content-Type": "application/json"})
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
        journal.max_bytes = saved
    assert grown < 4 * 1024 * 1024, f"the server kept {grown / 2**20:.1f} MiB"
    assert journal.total >= 1200
    assert journal.bytes <= 512 * 1024
    entries = server.requests(api="hubble")
    assert 0 < len(entries) < 1200  # the byte budget, not the entry limit, pushed the oldest out
    assert entries[0]["status"] == 401 and "request.headers" in entries[0]["truncated"]


def test_byte_budget_keeps_violations_ring_separately() -> None:
    journal = Journal(limit=100, violation_limit=100, max_bytes=20_000, violation_max_bytes=50_000)
    bad = {"api": "x", "path": "/p", "query": "", "violations": [{"location": "body", "message": "bad"}],
           "request": {"headers": [(b"a", b"b")], "body": b"x" * 1500}}  # fmt: skip
    journal.record(dict(bad, request=dict(bad["request"])))
    for i in range(200):
        journal.record({"api": "x", "path": f"/ok/{i}", "query": "", "request": {"headers": [], "body": b"y" * 1000}})
    assert journal.bytes <= 20_000 + 50_000
    assert len(journal.entries()) < 100  # bytes, not the count of 100, bound the main ring
    assert journal.entries(violations=True)[0]["request"]["body"] == "x" * 1500  # still there
    journal.clear()
    assert journal.bytes == 0 and journal.entries() == []
