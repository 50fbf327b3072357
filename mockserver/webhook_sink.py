"""A real HTTP receiver for webhook tests: records every request, answers from a script.

    with WebhookSink() as sink:
        sink.script(500, 500, 200)            # the next answers, then `default_status`
        sink.script({"status": 200, "delay": 2.0}, {"disconnect": True})
        ... point a webhook at sink.url ...
        sink.wait_for(3)                      # blocks until 3 requests arrived (or times out)
        sink.requests[0].json(), sink.requests[0].headers["X-Request-ID"]
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class ReceivedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    received_at: float = field(default_factory=time.time)

    def json(self) -> Any:
        return json.loads(self.body)

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        for key, value in self.headers.items():
            if key.lower() == lowered:
                return value
        return None


class WebhookSink:
    def __init__(self, default_status: int = 200, host: str = "127.0.0.1") -> None:
        self.default_status = default_status
        self.requests: list[ReceivedRequest] = []
        self._script: deque[dict[str, Any]] = deque()
        self._lock = threading.Condition()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - silence
                return

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                record = ReceivedRequest(self.command, self.path, dict(self.headers.items()), body)
                with sink._lock:
                    step = sink._script.popleft() if sink._script else {"status": sink.default_status}
                    sink.requests.append(record)
                    sink._lock.notify_all()
                if step.get("delay"):
                    time.sleep(float(step["delay"]))
                if step.get("disconnect"):
                    try:
                        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                    except OSError:
                        pass
                    self.close_connection = True
                    self.connection.close()
                    return
                status = int(step.get("status", sink.default_status))
                payload = step.get("body")
                data = (payload if isinstance(payload, bytes) else json.dumps(payload if payload is not None else {"ok": status < 400}).encode())
                self.send_response(status)
                for key, value in (step.get("headers") or {}).items():
                    self.send_header(key, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_POST = do_PUT = do_GET = do_PATCH = do_DELETE = _handle  # noqa: N815

        self._server = ThreadingHTTPServer((host, 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="webhook-sink", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/hook"

    def start(self) -> WebhookSink:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> WebhookSink:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def script(self, *steps: int | dict[str, Any]) -> None:
        """Queue the next answers: a status code, or {"status", "delay", "disconnect", "body", "headers"}."""
        with self._lock:
            for step in steps:
                self._script.append({"status": step} if isinstance(step, int) else dict(step))

    def clear(self) -> None:
        with self._lock:
            self.requests.clear()
            self._script.clear()

    def wait_for(self, count: int, timeout: float = 10.0) -> list[ReceivedRequest]:
        """Block until at least `count` requests arrived; raises TimeoutError otherwise."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while len(self.requests) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"expected {count} webhook requests, got {len(self.requests)}")
                self._lock.wait(left)
            return list(self.requests)
