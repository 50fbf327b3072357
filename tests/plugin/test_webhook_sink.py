"""The webhook_sink receiver on its own: records, scripted answers, delays, disconnects."""

from __future__ import annotations

import threading

import httpx
import pytest

from mockserver.testing import WebhookSink


@pytest.fixture
def sink():
    with WebhookSink() as s:
        yield s


def test_records_method_path_headers_and_body(sink: WebhookSink):
    r = httpx.post(sink.url_for("/a/b?x=1"), json={"n": 1}, headers={"X-Thing": "yes"})
    assert r.status_code == 200 and r.json() == {"ok": True}
    got = sink.last
    assert (got.method, got.path) == ("POST", "/a/b?x=1")
    assert got.json() == {"n": 1} and got.header("x-thing") == "yes" and got.headers["X-THING"] == "yes"
    assert sink.bodies() == [{"n": 1}] and len(sink) == 1


def test_scripted_statuses_then_the_default(sink: WebhookSink):
    sink.script(500, {"status": 410, "body": {"error": "gone"}, "headers": {"Retry-After": "3"}}, {"status": 201, "body": "plain"})
    sink.default_status = 204
    with httpx.Client() as client:
        answers = [client.post(sink.url, content=b"{}") for _ in range(4)]
    assert [a.status_code for a in answers] == [500, 410, 201, 204]
    assert answers[1].json() == {"error": "gone"} and answers[1].headers["retry-after"] == "3"
    assert answers[2].text == "plain"
    assert len(sink.wait_for(4)) == 4


def test_disconnect_resets_and_close_ends_without_an_answer(sink: WebhookSink):
    sink.script({"disconnect": True}, {"close": True})
    with pytest.raises((httpx.ReadError, httpx.RemoteProtocolError)):
        httpx.post(sink.url, content=b"x")
    with pytest.raises(httpx.RemoteProtocolError, match="without sending a response"):
        httpx.post(sink.url, content=b"y")
    assert [r.body for r in sink.requests] == [b"x", b"y"]  # recorded before the step acts
    assert httpx.post(sink.url, content=b"z").status_code == 200


def test_a_delay_longer_than_the_senders_timeout_is_a_timeout(sink: WebhookSink):
    sink.script({"delay": 1.0})
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(sink.url, content=b"slow", timeout=0.2)
    assert sink.wait_for(1)[0].body == b"slow"


def test_wait_for_blocks_until_requests_arrive_or_times_out(sink: WebhookSink):
    timer = threading.Timer(0.05, lambda: httpx.post(sink.url, content=b"late"))
    timer.start()
    assert sink.wait_for(1, timeout=10)[0].body == b"late"
    with pytest.raises(TimeoutError, match="expected 2 webhook requests, got 1"):
        sink.wait_for(2, timeout=0.1)
    with pytest.raises(TimeoutError):
        sink.wait_until(lambda reqs: any(r.body == b"never" for r in reqs), timeout=0.1)


def test_clear_forgets_requests_and_script(sink: WebhookSink):
    sink.script(500)
    httpx.post(sink.url, content=b"1")
    sink.script(503)
    sink.clear()
    assert len(sink) == 0
    assert httpx.post(sink.url, content=b"2").status_code == 200


def test_a_sink_that_never_started_stops_cleanly():
    WebhookSink().stop()
