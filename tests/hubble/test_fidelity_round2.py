"""Issue 12 (fidelity, round 2) on the Hubble side: each test names the documented behaviour
it holds the fake to and where that is written (seed file and line, or the vendor OpenAPI
path in ../shared/reference/hubble-openapi.yaml)."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import httpx
import pytest
from hubble_helpers import T0, client_for, read_all, start_server
from test_packets import LOCATION, _adv, register, sdk_ctr_adv, transmit

from mockserver.contracts.client import format_report, violations_from_journal
from mockserver.testing import MockServer

DAY = 86400
HOUR = 3600


@pytest.fixture
def api(server: MockServer) -> Iterator[httpx.Client]:
    """The module's own frozen, empty server (conftest `server`), reset for each test."""
    server.reset("hubble")
    with client_for(server) as client:
        yield client


# -- 9. start/end filter on the time the network received the packet ------------------------------


def test_start_and_end_filter_on_the_time_the_network_received_the_packet(server: MockServer, api: httpx.Client) -> None:
    """Vendor OpenAPI, components/parameters/startQueryParam and endQueryParam: "This
    timestamp corresponds to when the packet was received by the network". An ingested
    packet heard 36 h ago does not match `start = now - 1 day`, however recently it reached
    the fake."""
    (device,) = register(server, api, "AES-256-CTR")
    key = base64.b64decode(device["key"])
    now = server.now()
    heard = now - 36 * HOUR
    raw = sdk_ctr_adv(key, int(heard) // DAY, 3, b"old")
    response = api.post("/packets", json={"ble_locations": [{"location": LOCATION, "adv": [_adv(raw, heard)]}]})
    assert response.json() == {"accepted": 1, "decoded": 1}
    transmit(server, [device["device_id"]], count=1)  # one heard now
    recent, _ = read_all(api, {"start": int(now - DAY)})
    assert [p["device"]["timestamp"] for p in recent] == [now]
    both, _ = read_all(api, {"start": int(now - 2 * DAY)})
    assert sorted(p["device"]["timestamp"] for p in both) == [heard, now]
    window, pages = read_all(api, {"start": int(now - 2 * DAY), "end": int(now - DAY)})
    assert [p["device"]["timestamp"] for p in window] == [heard]  # arrived now, heard inside the window
    assert pages[-1].headers["Continuation-Token"] == ""
    by_device = api.get("/packets", params={"device_id": device["device_id"], "start": int(now - DAY)}).json()["packets"]
    assert [p["device"]["timestamp"] for p in by_device] == [now]


# -- 10. arrival order and the clock across a clock reset ------------------------------------------


@pytest.fixture
def resettable() -> Iterator[MockServer]:
    server = start_server(clock="frozen", clock_start=T0, scenario="empty")
    try:
        yield server
    finally:
        server.stop()


def test_a_clock_reset_keeps_arrivals_and_device_reads_consistent(resettable: MockServer) -> None:
    """Vendor OpenAPI, GET /api/org/{org_id}/packets, "Device Filtering": without `end` a
    device read "will page until the current time". After `POST /_mock/clock {"reset": true}`
    a packet that arrives is still found by the read the SDK makes (device_id, no end)."""
    server = resettable
    with client_for(server) as api:
        (device,) = register(server, api, "NONE")
        transmit(server, [device["device_id"]], count=1)
        server.advance(3 * DAY)
        transmit(server, [device["device_id"]], count=1)  # arrives while the clock is ahead
        server.reset_clock()
        assert server.now() == T0
        transmit(server, [device["device_id"]], count=1)  # arrives after the reset
        got = api.get("/packets", params={"device_id": device["device_id"]}).json()["packets"]
        assert len(got) == 3
        arrivals = sorted(float(p["rx"]) for p in server.runtime.store.table("hubble.packets").values())
        assert max(arrivals) <= server.now()  # nobody arrived in the clock's future


# -- 2-5. rate limits -------------------------------------------------------------------------------


class FakeTime:
    """Stands in for the limiter's real time, so a test can 'wait' without sleeping."""

    def __init__(self) -> None:
        self.mono = 1000.0
        self.wall = 1_700_000_000.0

    def sleep(self, seconds: float) -> None:
        self.mono += seconds
        self.wall += seconds


@pytest.fixture
def limited() -> Iterator[tuple[MockServer, FakeTime]]:
    server = start_server(clock="frozen", clock_start=T0, scenario="empty", rate_limit=True)
    fake = FakeTime()
    server.runtime.limiter._monotonic = lambda: fake.mono
    server.runtime.limiter._wall = lambda: fake.wall
    try:
        yield server, fake
    finally:
        server.stop()


def test_buckets_drain_in_real_time_under_a_frozen_clock(limited: tuple[MockServer, FakeTime]) -> None:
    """Seed 000_a182babbb3e0b5b1.txt lines 29-30: on a 429 wait `Retry-After` seconds. A
    client that waits that long in real time gets through, whatever the sandbox clock does."""
    server, fake = limited
    with client_for(server) as api:
        codes = [api.get("/devices").status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        refused = api.get("/devices")
        assert refused.headers["Retry-After"] == "1"
        fake.sleep(int(refused.headers["Retry-After"]))  # the sandbox clock stays frozen
        assert api.get("/devices").status_code == 200
        [api.get("/devices") for _ in range(3)]
        server.advance(60)  # moving the sandbox clock drains them too
        assert api.get("/devices").status_code == 200


def test_ratelimit_reset_is_a_unix_timestamp(limited: tuple[MockServer, FakeTime]) -> None:
    """Seed 000_a182babbb3e0b5b1.txt line 28: `X-RateLimit-Reset: 1640000000`, a Unix time."""
    server, fake = limited
    with client_for(server) as api:
        first = api.get("/devices")
        assert first.headers["X-RateLimit-Limit"] == "3" and first.headers["X-RateLimit-Remaining"] == "2"
        assert int(first.headers["X-RateLimit-Reset"]) == fake.wall + 1  # one request drains in 1/3 s
        [api.get("/devices") for _ in range(2)]
        assert int(api.get("/devices").headers["X-RateLimit-Reset"]) == fake.wall + 1


def test_a_429_from_the_organization_limit_describes_that_limit(limited: tuple[MockServer, FakeTime]) -> None:
    """Seed 000 lines 25-28: the headers "indicate your current rate limit status"; the README
    (rate limits) has 3/s per endpoint and 15/s per organization. A 429 the organization
    limit caused reports that limit (15), not the endpoint's (3)."""
    server, _ = limited
    with client_for(server) as api:
        paths = ["/devices", "/users", "/webhooks", "/invitations", "/key"]
        for path in paths:
            assert [api.get(path).status_code for _ in range(3)] == [200, 200, 200]
        refused = api.get("/billing/invoices")
        assert refused.status_code == 429
        assert refused.headers["X-RateLimit-Limit"] == "15" and refused.headers["X-RateLimit-Remaining"] == "0"
        assert refused.headers["Retry-After"] == "1"


def test_the_packets_429_carries_a_continuation_token(limited: tuple[MockServer, FakeTime]) -> None:
    """Vendor OpenAPI, GET /api/org/{org_id}/packets, responses '429': headers
    `Continuation-Token` and `Retry-After`. The token resumes where the client stood."""
    server, fake = limited
    with client_for(server) as api:
        (device,) = register(server, api, "NONE")
        transmit(server, [device["device_id"]], count=2)
        for _ in range(3):
            assert api.get("/packets").status_code == 200
        refused = api.get("/packets")
        assert refused.status_code == 429 and refused.headers["Retry-After"]
        token = refused.headers["Continuation-Token"]
        assert token
        fake.sleep(1)
        resumed = api.get("/packets", headers={"Continuation-Token": token})
        assert resumed.status_code == 200 and len(resumed.json()["packets"]) == 2
        next_token = resumed.headers["Continuation-Token"]
        for _ in range(2):
            api.get("/packets", headers={"Continuation-Token": next_token})
        again = api.get("/packets", headers={"Continuation-Token": next_token})
        assert again.status_code == 429 and again.headers["Continuation-Token"] == next_token


# -- 1. unknown query parameters and misspelt headers ---------------------------------------------


def test_unknown_query_parameters_are_answered_but_recorded(server: MockServer, api: httpx.Client) -> None:
    """Vendor OpenAPI, GET /api/org/{org_id}/packets takes `start`, `end`, `device_id`,
    `filter_tags` (and the `Continuation-Token` header), nothing else. The real API ignores
    the rest and answers; the fake answers too, but the journal and `mockserver contracts
    client` name each unknown parameter and the header that looks like a misspelling."""
    server.call("DELETE", "/requests")
    r = api.get("/packets", params={"start_time": int(server.now() - DAY), "platform_tag": "_env:sandbox", "limit": 1},
                headers={"Continuation-Tokn": "x"})
    assert r.status_code == 200
    (entry,) = server.requests(violations="true")
    problems = {v["location"]: v["message"] for v in entry["violations"]}
    assert {"query.start_time", "query.platform_tag", "query.limit", "header.continuation-tokn"} == set(problems)
    assert "did you mean `continuation-token`" in problems["header.continuation-tokn"]
    assert "takes: device_id, end, filter_tags, start" in problems["query.start_time"]
    ok = api.get("/packets", params={"start": int(server.now() - DAY)}, headers={"X-Request-ID": "mine"})
    assert ok.status_code == 200 and len(server.requests(violations="true")) == 1  # documented: nothing recorded
    report = format_report(["client"], 0, violations_from_journal(server.requests(violations="true"), server.requests()))
    assert "1 request(s) broke the spec" in report and "query.platform_tag: unknown query parameter" in report


# -- 13. the metrics error names the limit that applies -------------------------------------------


def test_hourly_metrics_error_advises_the_real_limit(server: MockServer, api: httpx.Client) -> None:
    """README (metrics): hourly buckets allow up to 15 days (365 buckets). A request for 16
    days of hours is refused with advice that works: `days <= 15`, not `days <= 1`."""
    assert api.get("/packet_metrics", params={"days": 15, "time_interval": "hour"}).status_code == 200
    refused = api.get("/packet_metrics", params={"days": 16, "time_interval": "hour"})
    assert refused.status_code == 400
    assert "days <= 15" in refused.json()["description"]
