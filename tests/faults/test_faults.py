"""Every fault kind through a real uvicorn server (h11 and httptools), how rules match and
run out, what a bad rule or header gets, and what the journal shows."""

from __future__ import annotations

import logging
import socket

import httpx
import pytest

from mockserver.kernel.faults import Fault, FaultError, FaultRegistry, parse_header

from .conftest import Tiny


def raw_get(url: str, path: str, extra: str = "") -> tuple[bytes, BaseException | None]:
    """Send one HTTP/1.1 request on a plain socket; everything received and how it ended."""
    host, port = url.removeprefix("http://").split(":")
    received = b""
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n{extra}Connection: close\r\n\r\n".encode())
        try:
            while chunk := sock.recv(65536):
                received += chunk
        except OSError as exc:
            return received, exc
    return received, None


# -- status ----------------------------------------------------------------------------------
def test_status_rule_answers_with_the_apis_error_body(tiny: Tiny):
    tiny.runtime.faults.add({"kind": "status", "status": 503, "message": "down for maintenance"})
    r = tiny.client.get("/tiny/things")
    assert r.status_code == 503
    assert r.json() == {"code": 503, "description": "down for maintenance"}
    assert "retry-after" not in r.headers


def test_429_carries_retry_after_default_1_or_as_given(tiny: Tiny):
    r = tiny.client.get("/tiny/things", headers={"X-Mock-Fault": "status=429"})
    assert r.status_code == 429 and r.headers["retry-after"] == "1"
    assert r.json()["code"] == 429
    r = tiny.client.get("/tiny/things", headers={"X-Mock-Fault": "status=429; retry_after=7"})
    assert r.headers["retry-after"] == "7"


def test_an_answered_fault_carries_the_request_id_and_retry_after_only_where_documented(tiny: Tiny):
    r = tiny.client.get("/tiny/things", headers={"X-Mock-Fault": "status=503; retry_after=4", "X-Request-ID": "abc"})
    assert r.status_code == 503 and r.headers["retry-after"] == "4" and r.headers["x-request-id"] == "abc"
    r = tiny.client.get("/tiny/things", headers={"X-Mock-Fault": "status=500; retry_after=4"})
    assert "retry-after" not in r.headers and r.headers["x-request-id"]


def test_status_fault_on_a_post_with_a_body_keeps_the_connection_usable(tiny: Tiny):
    tiny.runtime.faults.add({"status": 500, "method": "post", "count": 1})
    assert tiny.client.post("/tiny/things", json={"name": "x" * 5000}).status_code == 500
    r = tiny.client.post("/tiny/things", json={"name": "ok"})  # same keep-alive connection
    assert r.status_code == 201 and r.json() == {"name": "ok"}


# -- latency -----------------------------------------------------------------------------------
def test_latency_delays_then_serves_normally(tiny: Tiny):
    tiny.runtime.faults.add({"kind": "latency", "latency_ms": 150})
    r = tiny.client.get("/tiny/things/a")
    assert r.status_code == 200 and r.json() == {"name": "a"}
    entry = tiny.journal()[0]
    assert entry["fault"]["kind"] == "latency" and entry["fault"]["latency_ms"] == 150
    assert entry["status"] == 200
    # the server's own measurement can only be longer than the sleep it was told to take
    assert entry["duration_ms"] >= 150


@pytest.mark.parametrize(
    "distribution,low,high",
    [
        ({"type": "fixed", "value": 40}, 0.040, 0.040),
        ({"type": "uniform", "lower": 10, "upper": 30}, 0.010, 0.030),
        ({"type": "lognormal", "median": 20, "sigma": 0.5}, 0.0, 10.0),
    ],
)
def test_latency_distributions_sample_in_range_and_repeat_for_a_seed(tiny: Tiny, distribution, low, high):
    a = Fault.from_dict({"distribution": distribution}, "fault-1", seed=3)
    b = Fault.from_dict({"distribution": distribution}, "fault-1", seed=3)
    samples = [a.delay_seconds() for _ in range(50)]
    assert samples == [b.delay_seconds() for _ in range(50)]
    assert all(low <= s <= high for s in samples)
    if distribution["type"] != "fixed":
        assert len(set(samples)) > 1
    tiny.runtime.faults.add({"distribution": distribution, "count": 1})
    assert tiny.client.get("/tiny/things").status_code == 200
    assert tiny.journal()[0]["fault"]["distribution"] == distribution


def test_lognormal_median_is_about_the_median():
    fault = Fault.from_dict({"distribution": {"type": "lognormal", "median": 100, "sigma": 0.8}}, "f", seed=1)
    samples = sorted(fault.delay_seconds() for _ in range(2001))
    assert 0.08 < samples[1000] < 0.125


# -- connection faults: on the socket ----------------------------------------------------------
def test_reset_sends_an_rst(tiny: Tiny):
    tiny.runtime.faults.add({"kind": "reset", "path": "^/things$"})
    received, error = raw_get(tiny.url, "/tiny/things")
    assert received == b""
    assert isinstance(error, ConnectionResetError)
    with pytest.raises((httpx.ReadError, httpx.RemoteProtocolError)) as info:
        tiny.client.get("/tiny/things")
    assert "reset" in str(info.value).lower() or isinstance(info.value, httpx.ReadError)


def test_empty_closes_cleanly_without_a_byte(tiny: Tiny):
    received, error = raw_get(tiny.url, "/tiny/things", "X-Mock-Fault: kind=empty\r\n")
    assert (received, error) == (b"", None)
    with pytest.raises(httpx.RemoteProtocolError, match="without sending a response"):
        tiny.client.get("/tiny/things", headers={"X-Mock-Fault": "empty"})


def test_empty_after_a_request_body_is_still_a_clean_close(tiny: Tiny):
    tiny.runtime.faults.add({"kind": "empty", "method": "POST"})
    with pytest.raises(httpx.RemoteProtocolError, match="without sending a response"):
        tiny.client.post("/tiny/things", json={"name": "y" * 20000})


def test_truncated_promises_more_than_it_sends(tiny: Tiny):
    received, error = raw_get(tiny.url, "/tiny/things", "X-Mock-Fault: truncated\r\n")
    assert error is None
    head, _, body = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length"))
    assert 0 < len(body) < length
    with pytest.raises(httpx.RemoteProtocolError):
        tiny.client.get("/tiny/things", headers={"X-Mock-Fault": "kind=truncated"})


@pytest.mark.parametrize("kind", ["reset", "empty", "truncated"])
def test_server_keeps_serving_and_logs_no_error_after_a_dropped_connection(tiny: Tiny, kind, caplog):
    caplog.set_level(logging.INFO)
    for _ in range(3):
        raw_get(tiny.url, "/tiny/things", f"X-Mock-Fault: kind={kind}\r\n")
    assert tiny.client.get("/tiny/things").status_code == 200
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR and r.name.startswith("uvicorn")]
    assert errors == []
    entry = [e for e in tiny.journal() if e.get("fault")][0]
    assert entry["fault"]["kind"] == kind and entry["status"] is None


# -- matching ------------------------------------------------------------------------------------
def test_rules_match_by_api_operation_path_and_method(tiny: Tiny):
    faults = tiny.runtime.faults
    faults.add({"status": 502, "api": "other"})
    faults.add({"status": 503, "operation_id": "get-thing", "path": "/things/b"})
    faults.add({"status": 504 - 96, "method": "POST", "api": "tiny"})  # 408
    assert tiny.client.get("/tiny/things").status_code == 200
    assert tiny.client.get("/other/things").status_code == 502
    assert tiny.client.get("/tiny/things/a").status_code == 200
    assert tiny.client.get("/tiny/things/bb").status_code == 503
    assert tiny.client.post("/tiny/things", json={}).status_code == 408
    assert tiny.client.post("/other/things", json={}).status_code == 502  # first matching rule wins


def test_count_runs_out_and_the_rule_disappears(tiny: Tiny):
    fault = tiny.runtime.faults.add({"status": 500, "count": 2})
    assert [tiny.client.get("/tiny/things").status_code for _ in range(3)] == [500, 500, 200]
    assert fault.hits == 2 and tiny.runtime.faults.rules == []


def test_probability_is_deterministic_for_a_seed(tiny: Tiny):
    tiny.runtime.faults.clear()
    tiny.runtime.faults.add({"status": 500, "probability": 0.5})
    codes = [tiny.client.get("/tiny/things").status_code for _ in range(40)]
    assert 5 < codes.count(500) < 35
    again = FaultRegistry(seed=7)
    again.add({"status": 500, "probability": 0.5})
    replay = [500 if again.match("tiny", "list-things", "GET", "/things", {}) else 200 for _ in range(40)]
    assert replay == codes


def test_header_overrides_rules_for_one_request(tiny: Tiny):
    tiny.runtime.faults.add({"status": 500})
    r = tiny.client.get("/tiny/things", headers={"X-Mock-Fault": "status=418"})
    assert r.status_code == 418
    assert tiny.runtime.faults.rules[0].hits == 0


# -- validation --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "rule,needle",
    [
        ({}, "kind must be one of"),
        ({"kind": "explode"}, "kind must be one of"),
        ({"kind": "status"}, "status between 400 and 599"),
        ({"status": 200}, "status between 400 and 599"),
        ({"status": "503"}, "status between 400 and 599"),
        ({"kind": "reset", "status": 500}, "status only applies"),
        ({"kind": "latency"}, "needs latency_ms or distribution"),
        ({"latency_ms": -5}, "latency_ms must be"),
        ({"latency_ms": "slow"}, "latency_ms must be"),
        ({"distribution": {"type": "gamma"}}, "distribution.type"),
        ({"distribution": {"type": "uniform", "lower": 30, "upper": 10}}, "lower must not exceed"),
        ({"distribution": {"type": "uniform", "lower": 1}}, "distribution.upper"),
        ({"distribution": {"type": "fixed", "value": 1, "sigma": 2}}, "takes ['value']"),
        ({"status": 500, "count": 0}, "count must be"),
        ({"status": 500, "count": 1.5}, "count must be"),
        ({"status": 500, "probability": 1.5}, "probability"),
        ({"status": 500, "probability": 0}, "probability"),
        ({"status": 500, "path": "(unclosed"}, "regular expression"),
        ({"status": 500, "method": "FETCH"}, "method must be"),
        ({"status": 500, "api": 3}, "api must be a string"),
        ({"status": 500, "bogus": 1}, "unknown fields ['bogus']"),
        ({"kind": "empty", "retry_after": 3}, "retry_after only applies"),
        ([1], "JSON object"),
    ],
)
def test_a_bad_rule_is_refused_with_the_reason(rule, needle):
    with pytest.raises(FaultError) as info:
        FaultRegistry().add(rule)
    assert needle in str(info.value)


def test_every_problem_of_a_rule_is_named_at_once():
    with pytest.raises(FaultError) as info:
        FaultRegistry().add({"kind": "status", "status": 99, "count": -1, "probability": 3})
    text = str(info.value)
    assert "status between" in text and "count" in text and "probability" in text


def test_a_bad_header_is_a_400_in_the_apis_shape(tiny: Tiny):
    r = tiny.client.get("/tiny/things", headers={"X-Mock-Fault": "status=200"})
    assert r.status_code == 400
    assert "X-Mock-Fault" in r.json()["description"] and "status between" in r.json()["description"]


def test_header_parsing():
    assert parse_header("status=429; retry_after=7") == {"status": 429, "retry_after": 7}
    assert parse_header("latency=12.5") == {"latency_ms": 12.5}
    assert parse_header("reset") == {"kind": "reset"}


def test_journal_shows_the_rule_that_fired(tiny: Tiny):
    rule = tiny.runtime.faults.add({"status": 503, "operation_id": "get-thing", "count": 2})
    tiny.client.get("/tiny/things/q")
    entry = tiny.journal()[0]
    assert entry["operation_id"] == "get-thing" and entry["status"] == 503
    assert entry["fault"]["id"] == rule.id and entry["fault"]["kind"] == "status"
    assert entry["fault"]["status"] == 503


def test_in_process_a_connection_fault_reaches_the_caller_as_an_error():
    from starlette.applications import Starlette
    from starlette.routing import Mount

    from mockserver.kernel.faults import FaultDisconnect
    from mockserver.kernel.runtime import Runtime
    from mockserver.settings import Settings

    from .conftest import make_app

    runtime = Runtime(Settings(rate_limit=False))
    app = Starlette(routes=[Mount("/tiny", app=make_app(runtime))])
    transport = httpx.ASGITransport(app=app)

    async def go() -> None:
        async with httpx.AsyncClient(transport=transport, base_url="http://mock") as client:
            assert (await client.get("/tiny/things", headers={"X-Mock-Fault": "status=503"})).status_code == 503
            with pytest.raises(FaultDisconnect):
                await client.get("/tiny/things", headers={"X-Mock-Fault": "reset"})

    import asyncio

    asyncio.run(go())
    assert runtime.journal.entries()[0]["fault"]["kind"] == "reset"
