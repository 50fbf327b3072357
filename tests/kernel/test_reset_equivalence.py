"""A reset gives exactly the state of a fresh server with the same seed and scenario.

A reset puts back only the rows a test wrote (kernel/store.py `capture`/`rewind`) and re-seeds
only when the clock moved; these tests hold it to the promise by comparing the whole state
(every table, every row, in order) and what the APIs answer after:
(a) a fresh start, (b) heavy use of every API then a reset, (c) a clock advance then a reset
(the state of a fresh server started at that later time), then a clock reset and a reset
(the fresh state again), for the demo and empty scenarios, and (a), (b) and a reset after a
clock advance for the large one.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest

from mockserver.testing import HubbySigner, MockServer
from mockserver.testing.plugin import BumblebeeApi, HubbleApi, HubbyApi, _client

T0 = 1_764_000_000.0  # 2025-11-24, a Monday: no month end or DST change within the advance
ADVANCE = 3 * 3600 + 17.5


def _dead_url() -> str:
    """A loopback URL nothing listens on: webhook attempts fail and retries get scheduled."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/hook"


def _tables(server: MockServer) -> bytes:
    """The whole state, order-sensitive (orjson keeps insertion order), less the clock's
    own saved position (a server whose clock was moved records where it is; the clock is
    compared on its own)."""
    tables = server.snapshot()["tables"]
    tables.pop("kernel.clock", None)
    return orjson.dumps(tables)


def _reads(server: MockServer) -> dict[str, Any]:
    """What the APIs answer from their indexes (not only the tables)."""
    creds = server.credentials()
    org = creds["hubble"]["org_id"]
    out: dict[str, Any] = {}
    with _client(base_url=creds["hubble"]["base_url"], headers={"Authorization": f"Bearer {creds['hubble']['token']}"}) as c:
        out["devices"] = c.get(f"/api/org/{org}/devices").json()
        out["packets"] = c.get(f"/api/org/{org}/packets", params={"start": int(server.now()) - 7 * 86400}).json()
        out["keys"] = c.get(f"/api/org/{org}/key").json()
    signer = HubbySigner(creds["hubby"]["api_key"], creds["hubby"]["secret"], clock_ms=server.runtime.clock.now_ms)
    with _client(base_url=creds["hubby"]["base_url"], auth=signer) as c:
        out["bookings"] = c.get("/bookings").json()
    with _client(base_url=creds["bumblebee"]["base_url"]) as c:
        out["bb_webhooks"] = c.get("/webhooks").json()
    out["deliveries"] = server.deliveries()
    out["timers"] = server.clock()["timers_pending"]
    return out


def _heavy_use(server: MockServer) -> None:
    """Write through every API and the simulations; each step must succeed."""
    creds = server.credentials()
    dead = _dead_url()
    with _client(base_url=creds["hubble"]["base_url"], headers={"Authorization": f"Bearer {creds['hubble']['token']}"}) as c:
        hubble = HubbleApi(server, c)
        org = hubble.org_path()
        devices = hubble.add_devices(3, names=["a", "b", "c"])
        hubble.add_webhook(dead, name="dead")
        hubble.transmit([d["device_id"] for d in devices], count=2)
        existing = hubble.devices()
        first = existing[0]["id"]
        assert c.patch(f"{org}/devices/{first}", json={"set_name": "renamed"}).status_code < 400
        assert c.delete(f"{org}/devices/{existing[1]['id']}").status_code < 400
        key = c.post(f"{org}/key", json={"name": "temp", "scopes": ["read-devices"]})
        assert key.status_code < 400, key.text
        assert c.patch(org, json={"set_name": "Changed Org"}).status_code < 400
        assert c.post(f"{org}/invitations", json={"invitee_email": "new@example.com", "role": "member"}).status_code < 400
    signer = HubbySigner(creds["hubby"]["api_key"], creds["hubby"]["secret"], clock_ms=server.runtime.clock.now_ms)
    with _client(base_url=creds["hubby"]["base_url"], auth=signer) as c:
        hubby = HubbyApi(server, c, signer)
        server.call("PUT", "/hubby/webhook", json={"url": dead})
        booking = hubby.create_booking(communication_options={"should_send_message": False})["data"][0]
        hubby.create_booking(booking_id="SECOND-1")
        gone = c.delete(f"/bookings/{booking['id']}")
        assert gone.status_code < 400, gone.text
    with _client(base_url=creds["bumblebee"]["base_url"]) as c:
        bumblebee = BumblebeeApi(server, c)
        bumblebee.add_webhook(dead)
        node = bumblebee.add_node()
        bumblebee.report(node["id"])
    server.wait_idle()
    assert server.deliveries(), "the heavy use should have left webhook messages behind"


def _server(scenario: str, start: float = T0) -> MockServer:
    return MockServer(scenario=scenario, clock="frozen", clock_start=start, rate_limit=False).start()


@pytest.fixture(scope="module", params=["demo", "empty"])
def fresh(request: pytest.FixtureRequest) -> Iterator[tuple[str, MockServer, bytes, dict[str, Any]]]:
    server = _server(request.param)
    try:
        yield request.param, server, _tables(server), _reads(server)
    finally:
        server.stop()


def test_heavy_use_then_reset_is_the_fresh_state(fresh):
    _, server, tables, reads = fresh
    _heavy_use(server)
    assert _tables(server) != tables
    server.reset()
    assert _tables(server) == tables
    assert _reads(server) == reads


def test_each_api_reset_on_its_own_gives_the_fresh_state(fresh):
    _, server, tables, reads = fresh
    _heavy_use(server)
    for api in ("hubble", "hubby", "bumblebee"):
        server.reset(api)
    server.reset()  # the webhook messages and counters shared by the APIs
    assert _tables(server) == tables
    assert _reads(server) == reads


def test_clock_advance_reset_is_a_fresh_start_at_that_time_and_clock_reset_comes_back(fresh):
    scenario, server, tables, reads = fresh
    _heavy_use(server)
    server.advance(ADVANCE)
    server.reset()
    later = _server(scenario, T0 + ADVANCE)
    try:
        assert server.now() == later.now()
        assert _tables(server) == _tables(later)
        assert _reads(server) == _reads(later)
    finally:
        later.stop()
    server.reset_clock()
    assert server.now() == T0
    server.reset()
    assert _tables(server) == tables
    assert _reads(server) == reads


def test_the_large_scenario_resets_to_its_fresh_state():
    """One server (seeding the large scenario costs seconds; demo and empty cover the whole
    clock sequence): heavy use then reset gives the fresh state; after a clock advance the
    reset seeds again, and heavy use then reset gives that new state back."""
    server = _server("large")
    try:
        tables = _tables(server)
        _heavy_use(server)
        server.reset()
        assert _tables(server) == tables
        server.advance(ADVANCE)
        server.reset()
        moved = _tables(server)
        assert moved != tables  # seeded again at the later time
        _heavy_use(server)
        server.reset()
        assert _tables(server) == moved
    finally:
        server.stop()


def test_a_reset_with_state_on_disk_persists_the_fresh_state(tmp_path):
    """The rows a reset puts back reach the database: a restart shows the fresh state (the
    database keeps rows, not their order, so the comparison is by key; the answers match)."""
    path = tmp_path / "state.db"
    fresh_server = _server("demo")
    try:
        tables, reads = _tables(fresh_server), _reads(fresh_server)
    finally:
        fresh_server.stop()
    server = MockServer(scenario="demo", clock="frozen", clock_start=T0, rate_limit=False, state_path=str(path)).start()
    try:
        _heavy_use(server)
        server.reset()
        assert _tables(server) == tables
    finally:
        server.stop()
    restarted = MockServer(scenario="demo", clock="frozen", clock_start=T0, rate_limit=False, state_path=str(path)).start()
    try:
        assert _sorted(_tables(restarted)) == _sorted(tables)
        assert _reads(restarted) == reads
    finally:
        restarted.stop()


def _sorted(tables: bytes) -> bytes:
    return orjson.dumps(orjson.loads(tables), option=orjson.OPT_SORT_KEYS)


def test_with_the_real_clock_a_reset_restores_the_state_the_server_started_with():
    server = MockServer(scenario="demo", rate_limit=False).start()
    try:
        tables = _tables(server)
        _heavy_use(server)
        server.reset()
        assert _tables(server) == tables
        r = httpx.get(f"{server.base_url}/_mock/health")
        assert r.json() == {"status": "ok"}
    finally:
        server.stop()


def test_a_restored_snapshot_is_exact_and_a_reset_after_it_is_fresh(fresh):
    _, server, tables, reads = fresh
    _heavy_use(server)
    used = server.snapshot()
    server.reset()
    server.restore(used)  # back to the used state: every changed row put back, indexes too
    assert _tables(server) == orjson.dumps({k: v for k, v in used["tables"].items() if k != "kernel.clock"})
    server.restore(server.snapshot())  # the same document again changes nothing
    server.reset()
    assert _tables(server) == tables
    assert _reads(server) == reads


def test_a_reset_after_more_writes_than_a_table_remembers_seeds_again(fresh, monkeypatch):
    _, server, tables, reads = fresh
    monkeypatch.setattr("mockserver.kernel.store.MAX_TOUCHED", 3)
    _heavy_use(server)
    server.reset()
    assert _tables(server) == tables
    assert _reads(server) == reads
