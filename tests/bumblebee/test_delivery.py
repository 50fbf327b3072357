"""Delivery as Bumblebee documents it, against real receivers on 127.0.0.1: subscriptions,
custom headers, X-Request-ID, 2XX sent / 4XX canceled / 5XX retried at t0, +1 min, +5 min,
+15 min, +1 h, +3 h then canceled, the receiver's error message (4XX/5XX only, 750
characters), the message log and resend, and receivers that misbehave.

Retry times are asserted on a frozen server clock advanced step by step; nothing here
asserts a wall-clock duration."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest

from mockserver.testing import WebhookSink

from .conftest import WEBHOOK_TIMEOUT
from .helpers import create_webhook, messages, report, wait_attempts, wait_until

GEO, TEMPERATURE, BATTERY, SENSOR, SIGFOX = (
    "geo_location/create",
    "temperature/create",
    "battery_level/update",
    "sensor_value/create",
    "sigfox_message_info/create",
)
SCHEDULE = [0, 60, 360, 1260, 4860, 15660]  # attempt k starts this long after the message is created


def _ts(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def _one_message(
    bumblebee: Any, control: Any, sink_url: str, data_type: str = TEMPERATURE, **hook: Any
) -> tuple[dict, str]:
    created = create_webhook(bumblebee.client, sink_url, [data_type], **hook)
    result = report(control, "Ref001", data_type=data_type)
    event = next(e for e in result["events"] if e["data_type"] == data_type)
    return created, event["messages"][0]["id"]


def _log(bumblebee: Any, hook: dict, **params: Any) -> list[dict[str, Any]]:
    return messages(bumblebee.client, hook["id"], **params)


# -- who gets what ---------------------------------------------------------------------------
def test_subscriptions_decide_who_gets_what(bumblebee: Any, control: Any, webhook_sink: Any) -> None:
    client = bumblebee.client
    hooks = {
        "geo": create_webhook(client, webhook_sink.url + "?to=geo", [GEO]),
        "temp": create_webhook(client, webhook_sink.url + "?to=temp", [TEMPERATURE, BATTERY]),
        "info": create_webhook(client, webhook_sink.url + "?to=info", [SIGFOX]),
        "off": create_webhook(
            client, webhook_sink.url + "?to=off", [GEO, TEMPERATURE, SIGFOX], enabled=False
        ),
        "sensor": create_webhook(client, webhook_sink.url + "?to=sensor", [SENSOR]),
    }
    report(control, "Ref001", data_types=[GEO, TEMPERATURE])
    webhook_sink.wait_for(3)
    for name in ("geo", "temp", "info"):
        wait_attempts(client, hooks[name]["id"], 1, total=1)
    got = sorted((r.path.split("=")[1], r.json()["data_type"]) for r in webhook_sink.requests)
    assert got == [("geo", GEO), ("info", SIGFOX), ("temp", TEMPERATURE)]
    assert _log(bumblebee, hooks["off"]) == [] and _log(bumblebee, hooks["sensor"]) == []


def test_custom_headers_follow_the_webhook(
    bumblebee: Any, control: Any, webhook_sink: Any, mock_clock: Any
) -> None:
    webhook_sink.script(500)
    hook, message_id = _one_message(
        bumblebee, control, webhook_sink.url, headers={"Authorization": "Basic dTpw"}
    )
    webhook_sink.wait_for(1)
    wait_attempts(bumblebee.client, hook["id"], 1)
    assert webhook_sink.requests[0].header("Authorization") == "Basic dTpw"
    with WebhookSink() as other:
        patched = bumblebee.client.patch(
            f"/webhooks/{hook['id']}", json={"url": other.url, "headers": {"X-Key": "k2"}}
        )
        assert patched.status_code == 200
        mock_clock.advance(60)  # the retry goes to the webhook as it is now
        [retry] = other.wait_for(1)
    assert retry.header("X-Key") == "k2" and retry.header("Authorization") is None
    assert retry.header("X-Request-ID") == message_id
    assert retry.header("User-Agent") == "Bumblebee v0.11.0 webhooks"
    assert _log(bumblebee, hook)[0]["state"] == "sent"


def test_disabled_webhooks_get_no_new_messages_but_retries_run(
    bumblebee: Any, control: Any, webhook_sink: Any, mock_clock: Any
) -> None:
    webhook_sink.script(500)
    hook, message_id = _one_message(bumblebee, control, webhook_sink.url)
    wait_attempts(bumblebee.client, hook["id"], 1)
    bumblebee.client.patch(f"/webhooks/{hook['id']}", json={"enabled": False})
    report(control, "Ref001", data_type=TEMPERATURE)
    mock_clock.advance(60)
    log = _log(bumblebee, hook)
    assert [m["id"] for m in log] == [message_id]
    assert log[0]["state"] == "sent" and len(log[0]["attempts"]) == 2


def test_deleting_a_webhook_drops_its_messages(
    bumblebee: Any, control: Any, webhook_sink: Any, mock_clock: Any
) -> None:
    webhook_sink.script(500)
    hook, message_id = _one_message(bumblebee, control, webhook_sink.url)
    wait_attempts(bumblebee.client, hook["id"], 1)
    assert bumblebee.client.delete(f"/webhooks/{hook['id']}").status_code == 204
    mock_clock.advance(3600)
    assert len(webhook_sink.requests) == 1
    assert all(d["id"] != message_id for d in bumblebee.deliveries())


# -- outcomes ----------------------------------------------------------------------------------
def test_5xx_is_retried_on_the_documented_schedule_then_canceled(
    bumblebee: Any, control: Any, webhook_sink: Any, mock_clock: Any
) -> None:
    webhook_sink.default_status = 503
    hook, message_id = _one_message(bumblebee, control, webhook_sink.url)
    webhook_sink.wait_for(1)
    [msg] = wait_attempts(bumblebee.client, hook["id"], 1)
    t0 = _ts(msg["created_at"])
    assert msg["state"] == "failed"
    assert msg["status_message"] == "HTTP 503"
    assert _ts(msg["next_attempt_at"]) == pytest.approx(t0 + 60, abs=1e-3)

    for k in range(1, 6):
        gap = SCHEDULE[k] - SCHEDULE[k - 1]
        mock_clock.advance(gap - 1)
        assert len(webhook_sink.requests) == k, f"attempt {k + 1} came early"
        mock_clock.advance(1)
        assert len(webhook_sink.requests) == k + 1, f"attempt {k + 1} is missing"
        [msg] = _log(bumblebee, hook)
        assert len(msg["attempts"]) == k + 1
        if k < 5:
            assert msg["state"] == "failed"
            assert _ts(msg["next_attempt_at"]) == pytest.approx(t0 + SCHEDULE[k + 1], abs=1e-3)

    assert msg["state"] == "canceled"
    assert msg["next_attempt_at"] is None
    assert msg["status_message"] == "HTTP 503 (gave up after 6 attempts)"
    assert [_ts(a["at"]) - t0 for a in msg["attempts"]] == pytest.approx(SCHEDULE, abs=1e-3)
    assert all(a["status"] == 503 and a["reason"] == "HTTP 503" for a in msg["attempts"])
    [record] = [d for d in bumblebee.deliveries() if d["id"] == message_id]
    assert [a["at"] - record["created_at"] for a in record["attempts"]] == pytest.approx(SCHEDULE, abs=1e-6)

    # the same message every time: one X-Request-ID, the same body
    assert {r.header("X-Request-ID") for r in webhook_sink.requests} == {message_id}
    assert len({r.body for r in webhook_sink.requests}) == 1
    mock_clock.advance(86400)
    assert len(webhook_sink.requests) == 6
    assert _log(bumblebee, hook, state="canceled")[0]["id"] == message_id


@pytest.mark.parametrize("status", [400, 404, 410, 422, 429])
def test_4xx_cancels_at_once(
    bumblebee: Any, control: Any, webhook_sink: Any, mock_clock: Any, status: int
) -> None:
    webhook_sink.script({"status": status, "body": {"error": "Unknown asset"}})
    hook, message_id = _one_message(bumblebee, control, webhook_sink.url)
    [msg] = wait_attempts(bumblebee.client, hook["id"], 1)
    assert msg["state"] == "canceled"
    assert msg["next_attempt_at"] is None
    assert msg["attempts"][0]["status"] == status
    assert msg["attempts"][0]["error"] == "Unknown asset"
    assert msg["status_message"] == f"HTTP {status}: Unknown asset (a 4xx answer cancels delivery)"
    mock_clock.advance(4 * 3600)
    assert len(webhook_sink.requests) == 1


def test_a_retry_that_succeeds_marks_the_message_sent(
    bumblebee: Any, control: Any, webhook_sink: Any, mock_clock: Any
) -> None:
    webhook_sink.script({"status": 500, "body": {"error": "Database unavailable"}}, 502, 204)
    hook, _ = _one_message(bumblebee, control, webhook_sink.url)
    [msg] = wait_attempts(bumblebee.client, hook["id"], 1)
    assert msg["status_message"] == "HTTP 500: Database unavailable"
    mock_clock.advance(60)
    [msg] = _log(bumblebee, hook)
    assert (msg["state"], msg["status_message"]) == ("failed", "HTTP 502")
    mock_clock.advance(300)
    [msg] = _log(bumblebee, hook)
    assert msg["state"] == "sent"
    assert msg["status_message"] is None and msg["next_attempt_at"] is None
    assert [a["status"] for a in msg["attempts"]] == [500, 502, 204]
    assert [a["error"] for a in msg["attempts"]] == ["Database unavailable", None, None]
    assert msg["attempts"][2]["reason"] is None


@pytest.mark.parametrize(
    ("answer", "stored"),
    [
        ({"status": 500, "body": {"error": "x" * 1000}}, "x" * 750),
        ({"status": 400, "body": {"error": "é" * 800}}, "é" * 750),
        ({"status": 503, "body": {"error": "short"}}, "short"),
        ({"status": 503, "body": {"message": "no error node"}}, None),
        ({"status": 200, "body": {"error": "not an error on a 2XX"}}, None),
        ({"status": 201, "body": {"error": "x" * 1000}}, None),
    ],
)
def test_the_receivers_error_message_is_kept_only_for_4xx_and_5xx(
    bumblebee: Any, control: Any, webhook_sink: Any, answer: dict, stored: str | None
) -> None:
    webhook_sink.script(answer)
    hook, _ = _one_message(bumblebee, control, webhook_sink.url)
    [msg] = wait_attempts(bumblebee.client, hook["id"], 1)
    assert msg["attempts"][0]["error"] == stored
    if stored is not None:
        assert msg["status_message"].startswith(f"HTTP {answer['status']}: {stored}")


# -- the message log ---------------------------------------------------------------------------
def test_message_log_is_newest_first_and_filters_by_state(
    bumblebee: Any, control: Any, webhook_sink: Any, mock_clock: Any
) -> None:
    hook = create_webhook(bumblebee.client, webhook_sink.url, [TEMPERATURE])
    webhook_sink.script(200, 404, 500)
    ids = []
    for n in range(3):
        result = report(control, "Ref001", data_type=TEMPERATURE)
        ids.append(result["events"][1]["messages"][0]["id"])
        wait_attempts(bumblebee.client, hook["id"], 1, total=n + 1)
        mock_clock.advance(10)
    log = _log(bumblebee, hook)
    assert [m["id"] for m in log] == ids[::-1]
    assert [m["state"] for m in log] == ["failed", "canceled", "sent"]
    created = [_ts(m["created_at"]) for m in log]
    assert created == sorted(created, reverse=True) and created[0] > created[-1]
    assert [m["id"] for m in _log(bumblebee, hook, state="sent")] == [ids[0]]
    assert [m["id"] for m in _log(bumblebee, hook, state="canceled")] == [ids[1]]
    assert [m["id"] for m in _log(bumblebee, hook, state="failed")] == [ids[2]]
    assert _log(bumblebee, hook, state="pending") == []
    assert [m["id"] for m in _log(bumblebee, hook, limit=2)] == [ids[2], ids[1]]
    for m in log:
        assert m["webhook_id"] == hook["id"] and m["data_type"] == TEMPERATURE
        assert m["payload"]["data_type"] == TEMPERATURE


def test_resend_delivers_again_with_the_same_id(bumblebee: Any, control: Any, webhook_sink: Any) -> None:
    webhook_sink.script(404)
    hook, message_id = _one_message(bumblebee, control, webhook_sink.url)
    [msg] = wait_attempts(bumblebee.client, hook["id"], 1)
    assert msg["state"] == "canceled"
    with WebhookSink() as fixed:
        bumblebee.client.patch(
            f"/webhooks/{hook['id']}", json={"url": fixed.url, "headers": {"X-Fixed": "1"}}
        )
        response = bumblebee.client.post(f"/webhooks/{hook['id']}/messages/{message_id}/resend")
        assert response.status_code == 202
        queued = response.json()
        assert queued["id"] == message_id and queued["state"] == "pending"
        assert queued["status_message"] is None and len(queued["attempts"]) == 1
        [again] = fixed.wait_for(1)
        assert again.header("X-Request-ID") == message_id and again.header("X-Fixed") == "1"
        assert again.body == webhook_sink.requests[0].body
        [msg] = wait_attempts(bumblebee.client, hook["id"], 2)
        assert msg["state"] == "sent" and [a["status"] for a in msg["attempts"]] == [404, 200]
        # a sent message can be sent again too
        assert (
            bumblebee.client.post(f"/webhooks/{hook['id']}/messages/{message_id}/resend").status_code == 202
        )
        fixed.wait_for(2)
        wait_attempts(bumblebee.client, hook["id"], 3)
        assert fixed.requests[1].header("X-Request-ID") == message_id


# -- receivers that misbehave ------------------------------------------------------------------
@pytest.fixture
def garbage_server() -> Iterator[str]:
    """Answers every connection with bytes that are not HTTP, then closes it."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except (TimeoutError, OSError):
                continue
            with conn:
                try:
                    conn.settimeout(2)
                    conn.recv(65536)
                    conn.sendall(b"\x00\xffthis is not HTTP at all\r\n\r\n")
                except OSError:
                    pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}/hook"
    finally:
        stop.set()
        thread.join(timeout=5)
        server.close()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("kind", ["garbage", "hang", "reset", "redirect", "refused"])
def test_misbehaving_receivers_are_failed_attempts_and_retried(
    bumblebee: Any, control: Any, webhook_sink: Any, mock_clock: Any, garbage_server: str, kind: str
) -> None:
    url = webhook_sink.url
    if kind == "garbage":
        url = garbage_server
    elif kind == "refused":
        url = f"http://127.0.0.1:{_closed_port()}/hook"
    elif kind == "hang":
        webhook_sink.script({"status": 200, "delay": WEBHOOK_TIMEOUT + 2})
    elif kind == "reset":
        webhook_sink.script({"disconnect": True})
    elif kind == "redirect":
        webhook_sink.script({"status": 302, "headers": {"Location": "http://127.0.0.1:9/elsewhere"}})
    hook, _ = _one_message(bumblebee, control, url)
    [msg] = wait_attempts(bumblebee.client, hook["id"], 1)
    attempt = msg["attempts"][0]
    assert msg["state"] == "failed"
    assert attempt["error"] is None and attempt["reason"]
    assert msg["status_message"] == attempt["reason"]
    t0 = _ts(msg["created_at"])
    assert _ts(msg["next_attempt_at"]) == pytest.approx(t0 + 60, abs=1e-3)
    reason = attempt["reason"]
    if kind == "garbage":
        assert attempt["status"] is None and "invalid HTTP response" in reason
    elif kind == "hang":
        assert attempt["status"] is None and reason == f"timeout after {WEBHOOK_TIMEOUT:g}s"
    elif kind == "reset":
        assert attempt["status"] is None
        assert reason in ("connection reset", "connection closed without a response")
    elif kind == "redirect":
        assert attempt["status"] == 302 and reason == "redirect to http://127.0.0.1:9/elsewhere not followed"
    else:
        assert attempt["status"] is None and reason == "connection refused"

    mock_clock.advance(60)  # retried per policy (the sink answers 200 this time)
    [msg] = _log(bumblebee, hook)
    assert len(msg["attempts"]) == 2
    assert msg["state"] == ("sent" if kind in ("hang", "reset", "redirect") else "failed")
    assert control.get("/health").json() == {"status": "ok"}  # the server is fine
    wait_until(lambda: bumblebee.client.get("/webhooks").status_code == 200, what="the API to answer")
