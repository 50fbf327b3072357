"""The webhook delivery engine against real HTTP receivers on 127.0.0.1.

Every test drives a frozen clock, so retry times are asserted exactly; no test asserts a
wall-clock duration. The receiver is a tiny asyncio HTTP/1.1 server in the test's own event
loop that records each request and answers from a script: a status, a hang, a reset, garbage
or a close.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import socket
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from mockserver.apis.bumblebee.webhooks import POLICY as BUMBLEBEE
from mockserver.apis.hubble.webhooks import POLICY as HUBBLE
from mockserver.apis.hubby.webhooks import POLICY as HUBBY
from mockserver.kernel.clock import Clock, Timers
from mockserver.kernel.ids import Ids
from mockserver.kernel.store import Store
from mockserver.webhooks import MESSAGES_TABLE, RetryPolicy, WebhookEngine

DEFAULT_POLICIES = {"hubble": HUBBLE, "hubby": HUBBY, "bumblebee": BUMBLEBEE}

pytestmark = pytest.mark.timeout(120)

T0 = 1_767_225_600.0  # 2026-01-01T00:00:00Z


# -- a scripted receiver -----------------------------------------------------------------------
@dataclass
class Reply:
    status: int = 200
    body: bytes = b"ok"
    headers: dict[str, str] = field(default_factory=dict)
    wait: asyncio.Event | None = None  # answer only once this is set


HANG, RESET, GARBAGE, CLOSE = "hang", "reset", "garbage", "close"

Script = Callable[[dict[str, Any]], Any]


class Receiver:
    def __init__(self, script: Script | None = None) -> None:
        self.script: Script = script or (lambda req: Reply())
        self.requests: list[dict[str, Any]] = []
        self.release = asyncio.Event()  # ends every HANG
        self.in_flight = 0
        self.max_in_flight = 0
        self._tasks: dict[asyncio.Task, asyncio.StreamWriter] = {}
        self._server: asyncio.Server | None = None
        self.port = 0

    async def __aenter__(self) -> Receiver:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.release.set()
        assert self._server is not None
        self._server.close()
        for writer in list(self._tasks.values()):
            writer.transport.abort()  # handlers see EOF and return
        if self._tasks:
            _, late = await asyncio.wait(list(self._tasks), timeout=5)
            for task in late:
                task.cancel()

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks[task] = writer
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                lines = head.decode("latin-1").split("\r\n")
                method, target, _ = lines[0].split(" ", 2)
                raw_headers = [tuple(line.split(": ", 1)) for line in lines[1:] if line]
                headers = {k.lower(): v for k, v in raw_headers}
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                request = {
                    "method": method,
                    "path": target,
                    "headers": headers,
                    "raw_headers": raw_headers,
                    "body": body,
                }
                self.requests.append(request)
                self.in_flight += 1
                self.max_in_flight = max(self.max_in_flight, self.in_flight)
                try:
                    if not await self._answer(request, writer):
                        return
                finally:
                    self.in_flight -= 1
        finally:
            self._tasks.pop(task, None)
            writer.close()

    async def _answer(self, request: dict[str, Any], writer: asyncio.StreamWriter) -> bool:
        """Answer one request; False when the connection is finished."""
        action = self.script(request)
        if inspect.isawaitable(action):
            action = await action
        request["reply"] = action
        if action == HANG:
            await self.release.wait()
            return False
        if action == RESET:
            sock = writer.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            writer.transport.abort()
            return False
        if action == GARBAGE:
            writer.write(b"\x00\x01 this is not HTTP at all\r\n\r\n")
            await writer.drain()
            return False
        if action == CLOSE:
            return False
        assert isinstance(action, Reply)
        if action.wait is not None:
            await action.wait.wait()
        out = [f"HTTP/1.1 {action.status} X", f"Content-Length: {len(action.body)}"]
        out += [f"{k}: {v}" for k, v in action.headers.items()]
        writer.write(("\r\n".join(out) + "\r\n\r\n").encode() + action.body)
        await writer.drain()
        return True


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (connection refused)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


# -- engine wiring -----------------------------------------------------------------------------
TEST_POLICY = RetryPolicy(delays=[60.0], timeout=0.5)


def build(
    policies: dict[str, RetryPolicy] | None = None,
    path: Path | None = None,
    start: float = T0,
    **kwargs: Any,
) -> WebhookEngine:
    clock = Clock("frozen", start=start)
    timers = Timers(clock)
    store = Store(path)
    if path is not None:
        store.load()
    ids = Ids(7, store, "webhooks")
    merged = {**DEFAULT_POLICIES, "test": TEST_POLICY, **(policies or {})}
    return WebhookEngine(clock, timers, store, ids, merged, **kwargs)


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def ats(engine: WebhookEngine, mid: str) -> list[float]:
    return [a["at"] for a in engine.get(mid)["attempts"]]


# -- tests -------------------------------------------------------------------------------------
def test_exact_body_bytes_and_headers_on_every_attempt() -> None:
    async def main() -> None:
        replies = iter([Reply(503, b"busy"), Reply(200, b"thanks")])
        async with Receiver(lambda req: next(replies)) as rx:
            engine = build()
            await engine.start()
            body = {
                "data_type": "battery_level/update",
                "data": {"recorded_at": "2021-01-01T13:00:00.000+01:00", "percentage": 90},
                "node": {"id": "Ref001", "sigfox_id": "123ABC"},
                "note": "caf\u00e9 \u2713",
                "ratio": 0.1,
            }
            msg = engine.enqueue(
                "bumblebee",
                "wh-1",
                rx.url("/hook?tenant=a"),
                body,
                {"X-Request-ID": "msg-1", "Authorize": "Bearer s3cret"},
                event_type="battery_level/update",
                message_id="msg-1",
                meta={"org": "o1"},
            )
            assert msg["state"] == "pending" and msg["next_attempt_at"] == T0 and msg["attempts"] == []
            assert engine.store.table(MESSAGES_TABLE)["msg-1"]["created_at"] == T0
            body["note"] = "mutated after enqueue"  # the engine keeps its own copy
            await engine.timers.advance(0)
            await engine.timers.advance(60)
            await engine.stop()

        expected = json.dumps({**body, "note": "caf\u00e9 \u2713"}, separators=(",", ":")).encode()
        assert [r["body"] for r in rx.requests] == [expected, expected]
        for req in rx.requests:
            assert req["method"] == "POST" and req["path"] == "/hook?tenant=a"
            assert req["headers"]["content-type"] == "application/json"
            assert req["headers"]["user-agent"] == "Bumblebee v0.11.0 webhooks"
            assert req["headers"]["x-request-id"] == "msg-1"
            assert req["headers"]["authorize"] == "Bearer s3cret"
            assert req["headers"]["content-length"] == str(len(expected))
        rec = engine.get("msg-1")
        assert rec["state"] == "sent" and rec["next_attempt_at"] is None and rec["last_error"] is None
        assert rec["meta"] == {"org": "o1"} and rec["event_type"] == "battery_level/update"
        first, second = rec["attempts"]
        assert (first["number"], first["at"], first["status"], first["error"]) == (1, T0, 503, "HTTP 503")
        assert first["response_excerpt"] == "busy"
        assert (second["number"], second["at"], second["status"], second["error"]) == (2, T0 + 60, 200, None)
        assert second["response_excerpt"] == "thanks" and second["latency_ms"] >= 0

    run(main())


def test_caller_content_type_and_user_agent_win() -> None:
    async def main() -> None:
        async with Receiver() as rx:
            engine = build()
            engine.enqueue(
                "hubby",
                "e",
                rx.url(),
                [1, 2, 3],
                {"content-type": "application/vnd.hubby+json", "User-Agent": "custom/1"},
                event_type="esim.installed",
            )
            await engine.timers.advance(0)
            await engine.stop()
        names = [k.lower() for k, _ in rx.requests[0]["raw_headers"]]
        assert names.count("content-type") == 1 and names.count("user-agent") == 1
        assert rx.requests[0]["headers"]["content-type"] == "application/vnd.hubby+json"
        assert rx.requests[0]["headers"]["user-agent"] == "custom/1"
        assert rx.requests[0]["body"] == b"[1,2,3]"

    run(main())


def test_bumblebee_schedule_step_by_step() -> None:
    async def main() -> None:
        async with Receiver(
            lambda req: Reply(503, b'{"error":"down"}', {"Content-Type": "application/json"})
        ) as rx:
            engine = build()
            mid = engine.enqueue("bumblebee", "wh", rx.url(), {"a": 1}, {}, event_type="x")["id"]
            expected = [T0, T0 + 60, T0 + 360, T0 + 1260, T0 + 4860, T0 + 15660]
            await engine.timers.advance(0)
            assert ats(engine, mid) == expected[:1]
            for k in range(1, 6):
                rec = engine.get(mid)
                assert rec["state"] == "failed" and rec["next_attempt_at"] == expected[k]
                await engine.timers.run_until(expected[k] - 1)
                assert len(engine.get(mid)["attempts"]) == k  # not a second early
                await engine.timers.run_until(expected[k])
                assert ats(engine, mid) == expected[: k + 1]
            rec = engine.get(mid)
            assert rec["state"] == "canceled" and rec["next_attempt_at"] is None
            assert rec["last_error"] == "HTTP 503 (gave up after 6 attempts)"
            assert [a["number"] for a in rec["attempts"]] == [1, 2, 3, 4, 5, 6]
            assert all(a["error_message"] == "down" for a in rec["attempts"])
            await engine.timers.advance(10 * 86400)
            assert len(rx.requests) == 6
            await engine.stop()

    run(main())


def test_one_advance_runs_three_hours_of_retries_in_order() -> None:
    async def main() -> None:
        async with Receiver(lambda req: Reply(500)) as rx:
            engine = build()
            hubble = engine.enqueue(
                "hubble", "w", rx.url("/hubble"), {"packets": []}, {}, event_type="packets"
            )
            bee = engine.enqueue("bumblebee", "w", rx.url("/bee"), {"x": 1}, {}, event_type="x")
            fired = await engine.timers.advance(10800)
            assert fired == 9 + 5
            assert ats(engine, hubble["id"]) == [
                T0,
                T0 + 30,
                T0 + 90,
                T0 + 210,
                T0 + 450,
                T0 + 930,
                T0 + 1890,
                T0 + 3810,
                T0 + 7650,
            ]
            assert engine.get(hubble["id"])["state"] == "canceled"
            assert ats(engine, bee["id"]) == [T0, T0 + 60, T0 + 360, T0 + 1260, T0 + 4860]
            assert engine.get(bee["id"])["state"] == "failed"
            assert engine.get(bee["id"])["next_attempt_at"] == T0 + 15660
            assert engine.clock.now() == T0 + 10800
            # the receiver saw them in time order
            paths = [r["path"] for r in rx.requests]
            assert paths.count("/hubble") == 9 and paths.count("/bee") == 5
            await engine.stop()

    run(main())


def test_hubby_retries_every_non_2xx_three_times_then_drops() -> None:
    async def main() -> None:
        async with Receiver(lambda req: Reply(404, b"nope")) as rx:
            engine = build()
            mid = engine.enqueue("hubby", "p", rx.url(), {"event": "esim.installed"}, {}, event_type="e")[
                "id"
            ]
            await engine.timers.advance(86400)
            rec = engine.get(mid)
            assert ats(engine, mid) == [T0, T0 + 60, T0 + 360, T0 + 2160]
            assert rec["state"] == "canceled"
            assert rec["last_error"] == "HTTP 404 (gave up after 4 attempts)"
            assert "error_message" not in rec["attempts"][0]  # only Bumblebee keeps error bodies
            assert len(rx.requests) == 4
            await engine.stop()

    run(main())


def test_policy_schedules() -> None:
    assert BUMBLEBEE.delays == [60, 300, 900, 3600, 10800] and BUMBLEBEE.max_attempts == 6
    assert BUMBLEBEE.cancel_on_4xx and BUMBLEBEE.store_error_body and BUMBLEBEE.error_excerpt_limit == 750
    assert HUBBY.delays == [60, 300, 1800] and not HUBBY.cancel_on_4xx
    assert HUBBLE.delays == [30, 60, 120, 240, 480, 960, 1920, 3840] and HUBBLE.timeout == 30
    assert not any(p.follow_redirects for p in (HUBBLE, HUBBY, BUMBLEBEE))


def test_bumblebee_4xx_cancels_at_once_and_5xx_retries() -> None:
    def script(req: dict[str, Any]) -> Reply:
        json_ct = {"Content-Type": "application/json; charset=utf-8"}
        if req["path"] == "/gone":
            return Reply(410, b'{"error": "node unknown to us"}', json_ct)
        if req["path"] == "/plain4xx":
            return Reply(400, b"bad request", {"Content-Type": "text/plain"})
        return Reply(502, b'{"error": {"code": 7}}', json_ct)

    async def main() -> None:
        async with Receiver(script) as rx:
            engine = build()
            gone = engine.enqueue("bumblebee", "w", rx.url("/gone"), {}, {}, event_type="x")["id"]
            plain = engine.enqueue("bumblebee", "w", rx.url("/plain4xx"), {}, {}, event_type="x")["id"]
            flaky = engine.enqueue("bumblebee", "w", rx.url("/bad-gateway"), {}, {}, event_type="x")["id"]
            await engine.timers.advance(0)
            g, p, f = engine.get(gone), engine.get(plain), engine.get(flaky)
            assert g["state"] == "canceled" and g["next_attempt_at"] is None
            assert g["last_error"] == "HTTP 410 (a 4xx answer cancels delivery)"
            assert g["attempts"][0]["error_message"] == "node unknown to us"
            assert p["state"] == "canceled" and p["attempts"][0]["error_message"] is None
            assert f["state"] == "failed" and f["next_attempt_at"] == T0 + 60
            assert f["attempts"][0]["error_message"] == '{"code":7}'
            await engine.timers.advance(60)
            assert len(engine.get(gone)["attempts"]) == 1 and len(engine.get(flaky)["attempts"]) == 2
            await engine.stop()

    run(main())


def test_error_message_truncated_to_750_and_excerpt_to_500() -> None:
    async def main() -> None:
        long_error = "E" * 2000
        reply = Reply(500, json.dumps({"error": long_error}).encode(), {"Content-Type": "application/json"})
        async with Receiver(lambda req: reply) as rx:
            engine = build()
            mid = engine.enqueue("bumblebee", "w", rx.url(), {}, {}, event_type="x")["id"]
            success = engine.enqueue("bumblebee", "w", rx.url("/ok"), {}, {}, event_type="x")["id"]
            rx.script = lambda req: (
                Reply(200, b'{"error": "ignored on 2xx"}') if req["path"] == "/ok" else reply
            )
            await engine.timers.advance(0)
            attempt = engine.get(mid)["attempts"][0]
            assert attempt["error_message"] == "E" * 750
            assert len(attempt["response_excerpt"]) == 500
            assert attempt["response_excerpt"] == reply.body.decode()[:500]
            assert engine.get(success)["attempts"][0]["error_message"] is None
            await engine.stop()

    run(main())


def test_failure_kinds_are_failed_attempts_with_reasons() -> None:
    def script(req: dict[str, Any]) -> Any:
        return {
            "/hang": HANG,
            "/reset": RESET,
            "/garbage": GARBAGE,
            "/close": CLOSE,
            "/redirect": Reply(302, b"", {"Location": "http://example.invalid/next"}),
            "/teapot": Reply(418, b"short and stout"),
        }[req["path"]]

    async def main() -> None:
        async with Receiver(script) as rx:
            engine = build()
            urls = {
                name: rx.url(f"/{name}")
                for name in ("hang", "reset", "garbage", "close", "redirect", "teapot")
            }
            urls["refused"] = f"http://127.0.0.1:{closed_port()}/hook"
            urls["bad-url"] = "not a url"
            mids = {
                name: engine.enqueue("test", name, url, {"n": name}, {}, event_type="x")["id"]
                for name, url in urls.items()
            }
            await engine.timers.advance(0)
            reasons = {}
            for name, mid in mids.items():
                rec = engine.get(mid)
                assert rec["state"] == "failed", (name, rec)
                assert rec["next_attempt_at"] == T0 + 60
                (attempt,) = rec["attempts"]
                assert attempt["at"] == T0 and rec["last_error"] == attempt["error"]
                reasons[name] = (attempt["status"], attempt["error"])
            assert reasons["hang"] == (None, "timeout after 0.5s")
            assert reasons["refused"] == (None, "connection refused")
            assert reasons["reset"] == (None, "connection reset")
            assert reasons["close"] == (None, "connection closed without a response")
            assert reasons["garbage"][0] is None and reasons["garbage"][1].startswith("invalid HTTP response")
            assert reasons["redirect"] == (302, "redirect to http://example.invalid/next not followed")
            assert reasons["teapot"] == (418, "HTTP 418")
            assert reasons["bad-url"][0] is None and reasons["bad-url"][1].startswith("invalid URL")
            # everyone recovers on the retry except the closed port
            rx.script = lambda req: Reply(200)
            await engine.timers.advance(60)
            states = {name: engine.get(mid)["state"] for name, mid in mids.items()}
            assert states == {
                **{name: "sent" for name in mids},
                "refused": "canceled",
                "bad-url": "canceled",
            }
            await engine.stop()

    run(main())


def test_redirect_followed_when_policy_says_so() -> None:
    def script(req: dict[str, Any]) -> Reply:
        if req["path"] == "/old":
            return Reply(307, b"", {"Location": "/new"})
        return Reply(201, b"created")

    async def main() -> None:
        async with Receiver(script) as rx:
            engine = build({"test": TEST_POLICY.with_(follow_redirects=True)})
            mid = engine.enqueue("test", "w", rx.url("/old"), {"k": "v"}, {}, event_type="x")["id"]
            await engine.timers.advance(0)
            rec = engine.get(mid)
            assert rec["state"] == "sent" and rec["attempts"][0]["status"] == 201
            assert [r["path"] for r in rx.requests] == ["/old", "/new"]
            assert rx.requests[1]["body"] == b'{"k":"v"}'  # 307 keeps method and body
            await engine.stop()

    run(main())


def test_thousand_messages_flaky_receiver_nothing_lost() -> None:
    async def main() -> None:
        engine = build({"short": RetryPolicy(delays=[1.0] * 10, timeout=10)})
        counter = {"n": 0}

        def script(req: dict[str, Any]) -> Reply:
            counter["n"] += 1
            if engine.clock.now() < T0 + 3 and counter["n"] % 2:
                return Reply(503, b"flaky")
            return Reply(200)

        async with Receiver(script) as rx:
            for i in range(1000):
                engine.enqueue("short", f"ep{i % 7}", rx.url(), {"seq": i}, {}, event_type="x")
            await engine.timers.advance(0)
            assert 0 < len(engine.messages(api="short", state="failed")) < 1000
            for _ in range(10):
                if not engine.messages(api="short", state="failed"):
                    break
                await engine.timers.advance(1)
            await engine.stop()

        records = engine.messages(api="short")
        assert len(records) == 1000 and {m["state"] for m in records} == {"sent"}
        ok = [json.loads(r["body"])["seq"] for r in rx.requests if r["reply"].status == 200]
        assert sorted(ok) == list(range(1000))
        assert all(sum(a["status"] == 200 for a in m["attempts"]) == 1 for m in records)
        stats = engine.stats("short")
        assert stats["messages"] == stats["sent"] == stats["successful_attempts"] == 1000
        assert stats["attempts"] == len(rx.requests) > 1000
        assert stats["failed"] == stats["canceled"] == stats["pending"] == 0
        assert max(len(m["attempts"]) for m in records) <= 4  # recovered by T0+3

    run(main())


def test_hung_receiver_does_not_stall_healthy_one_background_loop() -> None:
    async def main() -> None:
        hung_release = asyncio.Event()

        def script(req: dict[str, Any]) -> Reply:
            if req["path"] == "/hung":
                return Reply(200, b"late", wait=hung_release)
            return Reply(200, b"fast")

        async with Receiver(script) as rx:
            engine = build({"test": TEST_POLICY.with_(timeout=60)})
            healthy_done = asyncio.Event()
            engine.add_listener(lambda m: healthy_done.set() if m["endpoint_id"] == "healthy" else None)
            engine.timers.start()
            await engine.start()
            hung = engine.enqueue("test", "hung", rx.url("/hung"), {}, {}, event_type="x")["id"]
            healthy = engine.enqueue("test", "healthy", rx.url("/ok"), {}, {}, event_type="x")["id"]
            await asyncio.wait_for(healthy_done.wait(), timeout=30)
            assert engine.get(healthy)["state"] == "sent"
            # the hung receiver has the request but has not answered: still in flight
            assert "/hung" in [r["path"] for r in rx.requests]
            assert engine.get(hung)["state"] == "pending" and engine.get(hung)["attempts"] == []
            hung_release.set()
            await engine.timers.drain()
            assert engine.get(hung)["state"] == "sent"
            await engine.timers.stop()
            await engine.stop()

    run(main())


def test_same_instant_batch_is_concurrent_under_advance() -> None:
    async def main() -> None:
        healthy_seen = asyncio.Event()

        async def script(req: dict[str, Any]) -> Reply:
            if req["path"] == "/slow":
                await healthy_seen.wait()  # answers only after the healthy one was delivered
                return Reply(200)
            return Reply(200)

        order: list[str] = []

        def listener(m: dict[str, Any]) -> None:
            order.append(m["endpoint_id"])
            if m["endpoint_id"] == "healthy":
                healthy_seen.set()

        async with Receiver(script) as rx:
            engine = build({"test": TEST_POLICY.with_(timeout=60)})
            engine.add_listener(listener)
            engine.enqueue("test", "slow", rx.url("/slow"), {}, {}, event_type="x")
            engine.enqueue("test", "healthy", rx.url("/fast"), {}, {}, event_type="x")
            await engine.timers.advance(0)
            assert order == ["healthy", "slow"]
            assert {m["state"] for m in engine.messages()} == {"sent"}
            await engine.stop()

    run(main())


def test_in_flight_requests_are_bounded() -> None:
    async def main() -> None:
        async def script(req: dict[str, Any]) -> Reply:
            await asyncio.sleep(0.005)
            return Reply(200)

        async with Receiver(script) as rx:
            engine = build(max_in_flight=4)
            for i in range(40):
                engine.enqueue("test", "w", rx.url(), {"i": i}, {}, event_type="x")
            await engine.timers.advance(0)
            await engine.stop()
        assert len(rx.requests) == 40 and rx.max_in_flight <= 4
        assert engine.stats("test")["sent"] == 40

    run(main())


def test_a_dead_receiver_with_a_backlog_leaves_slots_for_the_others() -> None:
    async def main() -> None:
        stuck = asyncio.Event()
        async with Receiver(lambda req: Reply(200, wait=stuck)) as dead, Receiver() as alive:
            engine = build(max_in_flight=4, per_origin_in_flight=2)
            alive_done = asyncio.Event()
            engine.add_listener(lambda m: alive_done.set() if m["endpoint_id"] == "alive" else None)
            engine.timers.start()
            backlog = [
                engine.enqueue("test", "dead", dead.url(), {"i": i}, {}, event_type="x")["id"]
                for i in range(20)
            ]
            engine.enqueue("test", "alive", alive.url(), {}, {}, event_type="x")
            await asyncio.wait_for(alive_done.wait(), timeout=30)
            assert len(alive.requests) == 1
            assert len(dead.requests) <= 2  # only its own per-origin slots are taken
            assert all(engine.get(mid)["state"] == "pending" for mid in backlog)
            stuck.set()
            await engine.timers.drain()
            assert all(engine.get(mid)["state"] == "sent" for mid in backlog)
            assert dead.max_in_flight <= 2
            await engine.timers.stop()
            await engine.stop()

    run(main())


def test_persisted_messages_are_retried_after_restart(tmp_path: Path) -> None:
    db = tmp_path / "state.db"

    async def main() -> None:
        async with Receiver(lambda req: Reply(503)) as rx:
            first = build(path=db)
            failed = first.enqueue("bumblebee", "w", rx.url("/a"), {"n": 1}, {}, event_type="x")["id"]
            await first.timers.advance(0)
            never_tried = first.enqueue("bumblebee", "w", rx.url("/b"), {"n": 2}, {}, event_type="x")["id"]
            assert first.get(failed)["state"] == "failed" and first.get(never_tried)["state"] == "pending"
            first.store.flush()
            await first.stop()
            first.store.close()

            # a new process: same file, a clock 10 s later, no timers yet
            rx.script = lambda req: Reply(200)
            second = build(path=db, start=T0 + 10)
            assert second.get(failed)["next_attempt_at"] == T0 + 60
            assert second.timers.pending() == 0
            assert second.reschedule_from_state() == 2
            await second.timers.advance(0)  # the overdue never-tried one goes at once
            assert second.get(never_tried)["state"] == "sent"
            assert second.get(never_tried)["attempts"][0]["at"] == T0 + 10
            assert second.get(failed)["state"] == "failed"
            await second.timers.advance(50)
            rec = second.get(failed)
            assert rec["state"] == "sent" and ats(second, failed) == [T0, T0 + 60]
            assert [a["number"] for a in rec["attempts"]] == [1, 2]
            # ids carry on without collisions after the restart
            third = second.enqueue("bumblebee", "w", rx.url("/c"), {}, {}, event_type="x")["id"]
            assert third not in (failed, never_tried)
            second.store.flush()
            await second.stop()
            second.store.close()
            assert [r["path"] for r in rx.requests] == ["/a", "/b", "/a"]

    run(main())


def test_snapshot_restore_then_reschedule() -> None:
    async def main() -> None:
        async with Receiver(lambda req: Reply(500)) as rx:
            engine = build()
            mid = engine.enqueue("hubby", "p", rx.url(), {"e": 1}, {}, event_type="e")["id"]
            await engine.timers.advance(0)
            snap = json.loads(json.dumps(engine.store.snapshot("webhooks.")))
            rx.script = lambda req: Reply(200)
            await engine.timers.advance(60)
            assert engine.get(mid)["state"] == "sent"
            engine.store.restore(snap, "webhooks.")
            assert engine.get(mid)["state"] == "failed"
            assert engine.reschedule_from_state() == 1
            await engine.timers.advance(0)  # T0+60 is already past: overdue retry runs now
            rec = engine.get(mid)
            assert rec["state"] == "sent" and ats(engine, mid) == [T0, T0 + 60]
            await engine.stop()

    run(main())


def test_resend_starts_a_new_cycle_and_keeps_attempts() -> None:
    async def main() -> None:
        async with Receiver(lambda req: Reply(404)) as rx:
            engine = build()
            mid = engine.enqueue("bumblebee", "w", rx.url(), {"x": 1}, {}, event_type="x")["id"]
            await engine.timers.advance(0)
            assert engine.get(mid)["state"] == "canceled"
            await engine.timers.advance(100)
            rx.script = lambda req: Reply(500)
            rec = engine.resend(mid)
            assert rec["state"] == "pending" and rec["next_attempt_at"] == T0 + 100
            await engine.timers.advance(0)
            rec = engine.get(mid)
            assert [(a["number"], a["at"]) for a in rec["attempts"]] == [(1, T0), (1, T0 + 100)]
            assert rec["state"] == "failed" and rec["next_attempt_at"] == T0 + 160
            rx.script = lambda req: Reply(204, b"")
            await engine.timers.advance(60)
            assert engine.get(mid)["state"] == "sent"
            assert len(rx.requests) == 3 and len(set(r["body"] for r in rx.requests)) == 1
            with pytest.raises(KeyError):
                engine.resend("missing")
            await engine.stop()

    run(main())


def test_resend_of_a_scheduled_message_replaces_its_timer() -> None:
    async def main() -> None:
        async with Receiver(lambda req: Reply(500)) as rx:
            engine = build()
            mid = engine.enqueue("hubby", "w", rx.url(), {}, {}, event_type="x")["id"]
            await engine.timers.advance(0)
            assert engine.get(mid)["next_attempt_at"] == T0 + 60
            await engine.timers.advance(10)
            engine.resend(mid)
            await engine.timers.advance(0)
            await engine.timers.advance(60)  # only the new cycle's retry at T0+70 runs
            assert ats(engine, mid) == [T0, T0 + 10, T0 + 70]
            assert engine.timers.pending() == 1
            await engine.stop()

    run(main())


def test_cancel_and_clear() -> None:
    async def main() -> None:
        async with Receiver(lambda req: Reply(500)) as rx:
            engine = build()
            a = engine.enqueue("hubby", "w", rx.url(), {}, {}, event_type="x")["id"]
            b = engine.enqueue("bumblebee", "w", rx.url(), {}, {}, event_type="x")["id"]
            c = engine.enqueue("hubble", "w", rx.url(), {}, {}, event_type="x")["id"]
            await engine.timers.advance(0)
            assert engine.cancel(a, "endpoint deleted")["state"] == "canceled"
            assert engine.get(a)["last_error"] == "endpoint deleted"
            assert engine.clear(api="bumblebee") == 1 and engine.get(b) is None
            await engine.timers.advance(86400)
            assert len(engine.get(a)["attempts"]) == 1
            assert len(engine.get(c)["attempts"]) == 9
            assert len(rx.requests) == 3 + 8
            assert engine.clear() == 2 and engine.messages() == []
            await engine.stop()

    run(main())


def test_messages_newest_first_filters_and_stats() -> None:
    async def main() -> None:
        async with Receiver(lambda req: Reply(200) if req["path"] == "/ok" else Reply(500)) as rx:
            engine = build()
            ids = []
            for i in range(5):
                path = "/ok" if i % 2 == 0 else "/bad"
                ids.append(
                    engine.enqueue(
                        "hubble",
                        f"ep{i % 2}",
                        rx.url(path),
                        {"i": i},
                        {},
                        event_type="packets" if i < 4 else "other",
                    )["id"]
                )
                await engine.timers.advance(1)
            assert [m["id"] for m in engine.messages()] == ids[::-1]
            assert [m["id"] for m in engine.messages(limit=2)] == ids[:2:-1]
            assert [m["id"] for m in engine.messages(endpoint_id="ep1")] == [ids[3], ids[1]]
            assert [m["id"] for m in engine.messages(state="sent")] == [ids[4], ids[2], ids[0]]
            assert [m["id"] for m in engine.messages(event_type="other")] == [ids[4]]
            assert engine.messages(api="hubby") == []
            s = engine.stats("hubble")
            assert (s["messages"], s["sent"], s["failed"], s["canceled"], s["pending"]) == (5, 3, 2, 0, 0)
            assert s["successful_attempts"] == 3 and s["attempts"] == len(rx.requests)
            assert engine.stats("hubble", endpoint_id="ep0")["sent"] == 3
            assert engine.stats("hubble", since=T0 + 2, until=T0 + 3)["messages"] == 1
            assert engine.stats("bumblebee")["messages"] == 0
            await engine.stop()

    run(main())


def test_enqueue_contract() -> None:
    async def main() -> None:
        engine = build()
        with pytest.raises(ValueError):
            engine.enqueue("nope", "w", "http://127.0.0.1:1/", {}, {}, event_type="x")
        with pytest.raises(TypeError):
            engine.enqueue("hubby", "w", "http://127.0.0.1:1/", {"when": object()}, {}, event_type="x")
        assert engine.messages() == []
        first = engine.enqueue(
            "hubby", "w", "http://127.0.0.1:1/", {"a": 1}, {}, event_type="x", message_id="m"
        )
        again = engine.enqueue(
            "hubby", "w", "http://127.0.0.1:1/", {"a": 2}, {}, event_type="x", message_id="m"
        )
        assert again is first and engine.timers.pending() == 1
        generated = engine.enqueue("hubby", "w", "http://127.0.0.1:1/", {}, {}, event_type="x")["id"]
        # deterministic ids: the same seed gives the same id
        assert build().enqueue("hubby", "w", "http://x/", {}, {}, event_type="x")["id"] == generated
        engine.clear()

    run(main())


def test_listener_errors_do_not_break_delivery() -> None:
    async def main() -> None:
        seen: list[str] = []

        async def good(m: dict[str, Any]) -> None:
            seen.append(m["state"])

        def bad(m: dict[str, Any]) -> None:
            raise RuntimeError("listener bug")

        async with Receiver(lambda req: Reply(500)) as rx:
            engine = build()
            engine.add_listener(bad)
            engine.add_listener(good)
            engine.enqueue("hubby", "w", rx.url(), {}, {}, event_type="x")
            await engine.timers.advance(3600)
            assert seen == ["failed", "failed", "failed", "canceled"]
            engine.remove_listener(good)
            await engine.stop()

    run(main())


def test_attempt_outcomes_reach_disk_without_a_request(tmp_path: Path) -> None:
    db = tmp_path / "state.db"

    async def main() -> None:
        async with Receiver() as rx:
            engine = build(path=db)
            mid = engine.enqueue("hubby", "w", rx.url(), {"n": 1}, {}, event_type="x")["id"]
            engine.store.flush()  # what the API mount does before answering
            await engine.timers.advance(0)
            await engine.stop()  # writes the attempt's outcome if the periodic flush has not yet
        reopened = Store(db)
        reopened.load()
        rec = reopened.table(MESSAGES_TABLE)[mid]
        assert rec["state"] == "sent" and len(rec["attempts"]) == 1
        reopened.close()
        engine.store.close()

    run(main())


def test_a_given_transport_is_used_instead_of_sockets() -> None:
    import httpx

    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(202, text="queued")

    async def main() -> None:
        engine = build(transport=httpx.MockTransport(handler))
        await engine.start()
        mid = engine.enqueue("hubble", "w", "http://receiver.invalid/x", {"a": [1]}, {}, event_type="x")["id"]
        await engine.timers.advance(0)
        await engine.stop()
        rec = engine.get(mid)
        assert rec["state"] == "sent" and rec["attempts"][0]["response_excerpt"] == "queued"
        assert seen[0].content == b'{"a":[1]}' and seen[0].headers["user-agent"] == HUBBLE.user_agent

    run(main())


def test_an_attempt_in_flight_across_a_clear_is_not_recorded_on_the_new_message() -> None:
    """A reset reuses message ids; the old attempt's outcome must not land on the new one."""

    async def main() -> None:
        gate = asyncio.Event()

        async def slow(req):  # the old receiver answers only after the reset
            await gate.wait()
            return Reply(500, b"OLD RECEIVER")

        async with Receiver(slow) as old_rx, Receiver(lambda req: Reply(200)) as new_rx:
            engine = build()
            first = engine.enqueue("hubby", "w", old_rx.url(), {}, {}, event_type="x", message_id="m-1")["id"]
            advance = asyncio.ensure_future(engine.timers.advance(0))
            while not old_rx.requests:
                await asyncio.sleep(0.01)
            engine.clear()
            again = engine.enqueue("hubby", "w", new_rx.url(), {}, {}, event_type="x", message_id="m-1")["id"]
            assert again == first
            gate.set()
            await advance
            await engine.timers.advance(0)
            attempts = engine.get(again)["attempts"]
            assert [a["status"] for a in attempts] == [200]
            await engine.stop()

    run(main())
