"""`mockserver proxy --api hubble --target URL`: a validating proxy for a real API.

Every request is forwarded to the target unchanged (method, path, query string, headers
but the hop-by-hop ones, body bytes) and the target's answer is returned unchanged (status,
headers, body bytes, compressed or not). On the side, both directions are checked against
the spec (`kernel.spec`, the compiled validator the fake itself uses) and every difference is
logged as drift, one JSON line each: schema violations, undocumented status codes, content
types, fields and headers, required headers missing, operations the spec does not have.

    GET    /_proxy/drift     what was found so far ({"requests": N, "drift": [...]})
    DELETE /_proxy/drift     forget it
    GET    /_proxy/health    {"status": "ok"}

The proxy stands in the client's path, so it bounds what a client can make it hold: a
request head over `server_protocol.TRANSPORT_HEAD_LIMIT` is cut off by the transport (431), and a
body over `max_body_bytes` is answered 413 by the proxy itself, logged as drift and not
forwarded (a Content-Length over the limit is refused before any of the body is read).
"""

from __future__ import annotations

import gzip
import json
import sys
import threading
import time
import zlib
from collections import deque
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

import httpx
from starlette.datastructures import Headers

from ..kernel.api import BodyTooLarge, read_body
from ..kernel.spec import NoRoute, Spec
from ..server_protocol import uvicorn_options
from . import validation
from .target import HarnessError, profile

HOP_BY_HOP = {
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer", "trailers",
    "transfer-encoding", "upgrade", "host", "content-length",
}
MAX_DRIFT = 5000
DEFAULT_MAX_BODY = 67_108_864  # bytes of one request body the proxy holds (as the control plane)


class DriftLog:
    """Drift entries in memory (the newest MAX_DRIFT) and as JSON lines on a stream."""

    def __init__(self, stream: IO[str] | None = None) -> None:
        self.stream = stream
        self.entries: deque[dict[str, Any]] = deque(maxlen=MAX_DRIFT)
        self.requests = 0
        self.counts: dict[str, int] = {}
        self._lock = threading.Lock()

    def add(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self.entries.append(entry)
            key = f"{entry['direction']}.{entry['kind']}"
            self.counts[key] = self.counts.get(key, 0) + 1
            if self.stream is not None:
                self.stream.write(json.dumps(entry, sort_keys=True) + "\n")
                self.stream.flush()

    def clear(self) -> None:
        with self._lock:
            self.entries.clear()
            self.counts.clear()
            self.requests = 0

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {"requests": self.requests, "counts": dict(self.counts), "drift": list(self.entries)}


class ValidatingProxy:
    def __init__(
        self,
        api: str,
        target: str,
        *,
        spec_path: str | None = None,
        log: DriftLog | None = None,
        timeout: float = 60.0,
        transport: httpx.AsyncBaseTransport | None = None,
        max_body_bytes: int = DEFAULT_MAX_BODY,
    ) -> None:
        parts = urlsplit(target)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise HarnessError(f"not an http(s) target URL: {target!r}")
        self.api = api
        self.target = target.rstrip("/")
        if spec_path:
            from .schema import read_document

            self.spec = Spec(api, read_document(spec_path))
        else:
            self.spec = Spec.from_resource(api, profile(api).spec_resource)
        servers = self.spec.document.get("servers") or []
        server_path = urlsplit(str(servers[0].get("url", ""))).path.rstrip("/") if servers else ""
        # the client's base URL may carry the spec's own prefix ("/hubby/api", "/api")
        self.prefixes = tuple(dict.fromkeys(["", server_path, "/api"]))
        self.log = log or DriftLog(sys.stderr)
        self.timeout = timeout
        self.max_body_bytes = max_body_bytes
        self._transport = transport
        self._client: httpx.AsyncClient | None = None

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        path = scope["path"]
        if path.startswith("/_proxy/"):
            await self._control(scope, send)
            return
        method = scope["method"]
        body = await _read_body(receive, scope, self.max_body_bytes)
        if body is None:
            self.log.requests += 1
            detail = f"request body over {self.max_body_bytes} bytes: refused by the proxy, not forwarded"
            self._record([validation.Drift("request", "body-too-large", detail)], method, path, 413)
            payload = json.dumps({"error": f"mockserver proxy: {detail} (--max-body-bytes)"}).encode()
            await _respond(send, 413, [(b"content-type", b"application/json"), (b"connection", b"close")], payload)
            return
        raw_query = scope.get("query_string", b"").decode("latin-1")
        headers = Headers(scope=scope)
        self.log.requests += 1
        found = match = None
        matched = validation.match(self.spec, method, path, self.prefixes)
        if isinstance(matched, NoRoute):
            detail = (f"{method} is not documented on {path} (documented: {', '.join(matched.allowed)})"
                      if matched.allowed else f"{method} {path} is not in the spec")
            found = [validation.Drift("request", "undocumented-operation", detail)]
        else:
            op, raw_params = matched
            match = op
            found = validation.check_request(self.spec, op, raw_params, headers, raw_query, body)
        self._record(found, method, path, None)
        try:
            status, out_headers, raw_body = await self._forward(method, path, raw_query, scope, body)
        except httpx.HTTPError as exc:
            reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            self._record([validation.Drift("upstream", "unreachable", reason)], method, path, 502)
            payload = json.dumps({"error": f"mockserver proxy: the target did not answer: {reason}"}).encode()
            await _respond(send, 502, [(b"content-type", b"application/json")], payload)
            return
        if match is not None:
            decoded = _decode(raw_body, out_headers)
            if decoded is None:
                drift = [validation.Drift("response", "not-validated", "compressed with an encoding the proxy cannot read", match.operation_id)]
            else:
                lowered = [(k.lower(), v) for k, v in out_headers]
                drift = validation.check_response(self.spec, match, status, Headers(raw=lowered), decoded)
            self._record(drift, method, path, status)
        await _respond(send, status, out_headers, raw_body)

    def _record(self, found: list[validation.Drift], method: str, path: str, status: int | None) -> None:
        for d in found:
            self.log.add({
                "at": round(time.time(), 3), "direction": d.direction, "kind": d.kind, "operation": d.operation,
                "method": method, "path": path, "status": status, "detail": d.detail,
            })

    async def _forward(self, method: str, path: str, raw_query: str, scope: dict, body: bytes) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        if self._client is None:
            self._client = httpx.AsyncClient(transport=self._transport, timeout=self.timeout, trust_env=False,
                                             follow_redirects=False)
        url = self.target + path + (f"?{raw_query}" if raw_query else "")
        headers = [(k, v) for k, v in scope["headers"] if k.decode("latin-1").lower() not in HOP_BY_HOP]
        request = self._client.build_request(method, httpx.URL(url), headers=headers, content=body)
        response = await self._client.send(request, stream=True)
        try:
            raw = b"".join([chunk async for chunk in response.aiter_raw()])
        finally:
            await response.aclose()
        out = [(k, v) for k, v in response.headers.raw if k.decode("latin-1").lower() not in HOP_BY_HOP]
        out.append((b"content-length", str(len(raw)).encode()))
        return response.status_code, out, raw

    async def _control(self, scope: dict, send: Any) -> None:
        path, method = scope["path"], scope["method"]
        if path == "/_proxy/drift" and method == "GET":
            status, data = 200, self.log.snapshot()
        elif path == "/_proxy/drift" and method == "DELETE":
            self.log.clear()
            status, data = 200, {"cleared": True}
        elif path == "/_proxy/health":
            status, data = 200, {"status": "ok", "target": self.target}
        else:
            status, data = 404, {"error": "unknown proxy endpoint"}
        await _respond(send, status, [(b"content-type", b"application/json")], json.dumps(data).encode())

    async def _lifespan(self, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self._client is not None:
                    await self._client.aclose()
                    self._client = None
                await send({"type": "lifespan.shutdown.complete"})
                return


async def _read_body(receive: Any, scope: dict, limit: int) -> bytes | None:
    """The whole request body, or None when it is (or says it will be) over `limit` bytes."""
    declared = next((v for k, v in scope["headers"] if k.lower() == b"content-length"), None)
    if declared is not None and declared.strip().isdigit() and int(declared) > limit:
        return None
    try:
        return await read_body(receive, limit)
    except BodyTooLarge:
        return None


async def _respond(send: Any, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _decode(raw: bytes, headers: list[tuple[bytes, bytes]]) -> bytes | None:
    encoding = next((v.decode("latin-1").strip().lower() for k, v in headers if k.lower() == b"content-encoding"), "")
    if encoding in ("", "identity"):
        return raw
    try:
        if encoding == "gzip":
            return gzip.decompress(raw)
        if encoding == "deflate":
            try:
                return zlib.decompress(raw)
            except zlib.error:
                return zlib.decompress(raw, -zlib.MAX_WBITS)
        if encoding == "br":
            import brotli  # type: ignore[import-not-found]

            return brotli.decompress(raw)
    except Exception:
        return None
    return None


def server_config(proxy: ValidatingProxy, host: str, port: int) -> Any:
    """The uvicorn configuration the proxy runs with: the sandbox's transport head limit."""
    import uvicorn

    return uvicorn.Config(proxy, host=host, port=port, log_level="warning", **uvicorn_options())


def serve(
    *, api: str, target: str, host: str = "127.0.0.1", port: int = 8081, spec_path: str | None = None,
    log_path: str | None = None, timeout: float = 60.0, max_body_bytes: int = DEFAULT_MAX_BODY,
) -> int:
    import uvicorn

    stream: IO[str] = open(log_path, "a", encoding="utf-8") if log_path else sys.stderr  # noqa: SIM115
    proxy = ValidatingProxy(api, target, spec_path=spec_path, log=DriftLog(stream), timeout=timeout,
                            max_body_bytes=max_body_bytes)
    _check_reachable(proxy.target)
    print(f"mockserver proxy: http://{host}:{port} -> {proxy.target} (validating against the {api} spec)", flush=True)
    if log_path:
        print(f"mockserver proxy: drift is appended to {Path(log_path).resolve()}", flush=True)
    try:
        uvicorn.Server(server_config(proxy, host, port)).run()
    finally:
        snap = proxy.log.snapshot()
        counts = ", ".join(f"{k} {v}" for k, v in sorted(snap["counts"].items())) or "none"
        print(f"mockserver proxy: {snap['requests']} requests proxied; drift: {counts}", file=sys.stderr)
        if log_path:
            stream.close()
    return 0


def _check_reachable(target: str) -> None:
    try:
        httpx.request("HEAD", target, timeout=5, trust_env=False)
    except httpx.HTTPError as exc:
        raise HarnessError(f"cannot reach the target {target}: {type(exc).__name__}: {exc}") from None
