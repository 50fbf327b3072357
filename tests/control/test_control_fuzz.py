"""Malformed input to the control plane is a 400 that says why, never a 500 or a hang:
bodies that are not JSON (deep nesting, NaN, Infinity, numbers out of range), a clock moved
past what dates can show, and a hypothesis run of arbitrary JSON at every writing route."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mockserver.testing import MockServer

JSON = {"content-type": "application/json"}


@pytest.fixture(scope="module")
def server() -> Iterator[MockServer]:
    with MockServer(scenario="demo", rate_limit=False, strict=True) as server:
        yield server


@pytest.fixture(scope="module")
def client(server: MockServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"{server.base_url}/_mock", timeout=30) as c:
        yield c


WRITES = [
    ("POST", "/clock"),
    ("POST", "/faults"),
    ("PUT", "/state"),
    ("POST", "/bumblebee/assets"),
    ("POST", "/bumblebee/nodes"),
    ("PATCH", "/bumblebee/nodes/Ref001"),
    ("POST", "/bumblebee/nodes/Ref001/report"),
    ("POST", "/bumblebee/sigfox/ABC/report"),
    ("PATCH", "/bumblebee/settings"),
]
NOT_JSON = [
    (b"[" * 100_000, "nested too deeply"),
    (b'{"advance_seconds": NaN}', "NaN is not a JSON value"),
    (b'{"set": -Infinity}', "-Infinity is not a JSON value"),
    (b'{"set": 1e999}', "out of range"),
    (b'{"rssi": 1' + b"0" * 400 + b"}", "out of range"),
]


@pytest.mark.parametrize("method,path", WRITES)
@pytest.mark.parametrize("raw,needle", NOT_JSON, ids=["deep", "nan", "-inf", "1e999", "huge-int"])
def test_a_body_that_is_not_json_is_a_400(client: httpx.Client, method: str, path: str, raw: bytes, needle: str):
    r = client.request(method, path, content=raw, headers=JSON)
    assert r.status_code == 400, r.text
    assert "malformed JSON" in r.json()["error"] and needle in r.json()["error"]


@pytest.mark.parametrize(
    "body",
    [{"set": 1e300}, {"set": 253402300800}, {"advance_seconds": 1e308}, {"advance_seconds": 2**64 * 10**10}],
)
def test_the_clock_refuses_to_move_past_year_9998(client: httpx.Client, body: dict):
    before = client.get("/clock").json()["now"]
    r = client.post("/clock", json=body)
    assert r.status_code == 400 and "9998-12-31" in r.json()["error"], r.text
    assert client.get("/clock").json()["now"] < before + 3600  # it did not move


def test_huge_numbers_in_a_fault_rule_are_a_400(client: httpx.Client):
    for field in ("probability", "delay"):
        r = client.post("/faults", content=json.dumps({field: 10**320}), headers=JSON)
        assert r.status_code == 400, r.text
    assert client.get("/faults").json() == {"faults": []}


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=12,
)
FIELDS = ["mode", "set", "advance_seconds", "api", "status", "probability", "delay", "times", "timezone", "name",
          "latitude", "degrees", "percentage", "sent_at", "recorded_at", "snr", "rssi", "sequence", "message_number",
          "data_type", "data_types", "external_io", "acknowledgement", "unparsable", "sensor1_raw_value", "asset_id"]
bodies = json_values | st.dictionaries(st.sampled_from(FIELDS), json_values | st.integers(-(10**30), 10**30), max_size=4)


@settings(max_examples=60, deadline=None, database=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
@given(route=st.sampled_from([w for w in WRITES if w[1] != "/clock"]), body=bodies)
def test_arbitrary_json_never_makes_a_server_error(client: httpx.Client, route: tuple[str, str], body: object):
    method, path = route
    r = client.request(method, path, content=json.dumps(body), headers=JSON)
    assert r.status_code < 500, f"{method} {path} {body!r} -> {r.status_code} {r.text[:300]}"
    client.delete("/faults")
