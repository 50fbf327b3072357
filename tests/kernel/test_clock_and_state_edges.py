"""Edges of the clock, the rate limiter and state restore that a careless sequence of
control calls can reach."""

from __future__ import annotations

import asyncio

import pytest
from starlette.testclient import TestClient

from mockserver.app import create_app
from mockserver.kernel.clock import Clock, Timers
from mockserver.kernel.ratelimit import Limit, RateLimiter
from mockserver.settings import Settings


def test_two_concurrent_advances_add_up():
    async def scenario() -> float:
        clock = Clock("frozen", start=1000.0)
        timers = Timers(clock)

        async def slow() -> None:
            await asyncio.sleep(0.05)

        timers.call_at(1001.0, slow)
        await asyncio.gather(timers.advance(100), timers.advance(100))
        return clock.now()

    assert asyncio.run(scenario()) == 1200.0


def test_a_clock_moved_back_does_not_lock_the_rate_limiter():
    clock = Clock("frozen", start=10_000.0)
    limiter = RateLimiter(clock)
    bucket = [("k", Limit(3, 3.0))]
    assert [limiter.check(bucket).allowed for _ in range(4)] == [True, True, True, False]
    clock._jump(5_000.0)  # backwards, as a restore or a clock reset can do
    assert limiter.check(bucket).allowed is False  # still full right now...
    clock._jump(5_001.0)
    assert limiter.check(bucket).allowed is True  # ...but it drains from the new now


@pytest.fixture
def client():
    with TestClient(create_app(Settings(scenario="demo", strict=True, clock="frozen"))) as c:
        yield c


def test_a_rejected_state_document_changes_nothing(client):
    before = client.get("/_mock/state").json()
    r = client.put("/_mock/state", json={"tables": {"aaa.bad": [1]}})
    assert r.status_code == 400
    assert client.get("/_mock/state").json()["tables"] == before["tables"]


def test_a_clock_reset_after_a_big_jump_leaves_hubble_usable(client):
    creds = client.get("/_mock/credentials").json()["hubble"]
    url = f"/hubble/api/org/{creds['org_id']}/devices"
    headers = {"Authorization": f"Bearer {creds['token']}"}
    assert client.post("/_mock/clock", json={"advance_seconds": 365 * 86400}).status_code == 200
    codes = [client.get(url, headers=headers).status_code for _ in range(4)]
    assert codes[-1] == 429
    assert client.post("/_mock/clock", json={"reset": True, "mode": "frozen"}).status_code == 200
    assert client.get(url, headers=headers).status_code == 200


@pytest.mark.parametrize("body", [{"advance_seconds": 1e305}, {"set": 1e300}, {"advance_seconds": -1}])
def test_impossible_clock_moves_are_400(client, body):
    assert client.post("/_mock/clock", json=body).status_code == 400
    assert client.get("/_mock/clock").status_code == 200


def test_hubby_advance_is_bounded_like_the_clock(client):
    r = client.post("/_mock/hubby/advance", json={"days": 1e305})
    assert r.status_code == 400
    assert client.get("/_mock/clock").status_code == 200
