"""A real HTTP receiver for webhook tests: records every request, answers from a script.

    with WebhookSink() as sink:
        sink.script(500, 500, 200)            # the next answers, then `default_status`
        sink.script({"status": 200, "delay": 2.0}, {"disconnect": True})
        ... point a webhook at sink.url ...
        sink.wait_for(3)                      # blocks until 3 requests arrived (or times out)
        sink.requests[0].json(), sink.requests[0].header("User-Agent")

A script step is a status code or a dict with any of:
    status   the answer's status (default: `default_status`)
    body     dict/list (sent as JSON), str or bytes (default {"ok": status < 400})
    headers  extra response headers
    delay    seconds to wait before answering (real time: the sender's timeout applies)
    disconnect  True: reset the connection (RST) without answering
    close    True: close the connection cleanly (FIN) without answering
Every request is recorded before it is answered, whatever the step does.
"""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx


@dataclass
class ReceivedRequest:
    method: str
    path: str
    headers: httpx.Headers  # case-insensitive
    body: bytes
    received_at: float = field(default_factory=time.time)

    def json(self) -> Any:
        return json.loads(self.body)

    def header(self, name: str) -> str | None:
        return self.headers.get(name)


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A sender that hung up (its timeout) is part of the game, not an error to print."""
        import sys  # noqa: PLC0415

        if isinstance(sys.exc_info()[1], OSError):
            return
        super().handle_error(request, client_address)


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
                record = ReceivedRequest(self.command, self.path, httpx.Headers(list(self.headers.items())), body)
                with sink._lock:
                    step: dict[str, Any] = sink._script.popleft() if sink._script else {"status": sink.default_status}
                    sink.requests.append(record)
                    sink._lock.notify_all()
                if step.get("delay"):
                    time.sleep(float(step["delay"]))
                if step.get("disconnect") or step.get("close"):
                    if step.get("disconnect"):
                        try:  # linger 0: close() sends an RST
                            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                        except OSError:
                            pass
                    self.close_connection = True
                    try:
                        self.connection.shutdown(socket.SHUT_RDWR) if step.get("close") else None
                    except OSError:
                        pass
                    self.connection.close()
                    return
                status = int(step.get("status", sink.default_status))
                payload = step.get("body")
                content_type = "application/json"
                if isinstance(payload, bytes):
                    data = payload
                    content_type = "application/octet-stream"
                elif isinstance(payload, str):
                    data = payload.encode()
                    content_type = "text/plain; charset=utf-8"
                else:
                    data = json.dumps(payload if payload is not None else {"ok": status < 400}).encode()
                self.send_response(status)
                for key, value in (step.get("headers") or {}).items():
                    self.send_header(key, value)
                extra = {k.lower() for k in (step.get("headers") or {})}
                if "content-type" not in extra:
                    self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_POST = do_PUT = do_GET = do_PATCH = do_DELETE = do_HEAD = _handle  # noqa: N815

        self._server = _QuietServer((host, 0), Handler)
        self._host = host
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, name="webhook-sink", daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._host, self._server.server_port
        return f"http://{host}:{port}/hook"

    def start(self) -> WebhookSink:
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread.is_alive():
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

    def __len__(self) -> int:
        return len(self.requests)

    @property
    def last(self) -> ReceivedRequest:
        with self._lock:
            if not self.requests:
                raise LookupError("the sink has received nothing yet")
            return self.requests[-1]

    def bodies(self) -> list[Any]:
        """Every request body so far, parsed as JSON."""
        with self._lock:
            return [r.json() for r in self.requests]

    def url_for(self, path: str) -> str:
        """A URL on this sink with another path (requests are recorded with their path)."""
        host, port = self._host, self._server.server_port
        return f"http://{host}:{port}/{path.lstrip('/')}"

    def wait_until(self, predicate: Any, timeout: float = 10.0) -> list[ReceivedRequest]:
        """Block until `predicate(requests)` is true; raises TimeoutError otherwise."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while not predicate(list(self.requests)):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"condition not met; the sink has {len(self.requests)} requests")
                self._lock.wait(left)
            return list(self.requests)

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
