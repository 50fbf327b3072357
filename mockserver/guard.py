"""The door in front of every mount: oversized request heads, and request ids.

Two layers bound what a request head may cost:

- `RequestGuard` (ASGI, ahead of the mounts) answers 431 when the request line and headers
  together exceed `settings.max_header_bytes`, in the error shape of the API the path
  belongs to, before anything (the journal included) keeps a copy; it also gives every
  response an `X-Request-ID` (the API mounts set their own; this covers the control plane
  and paths outside any mount). A request for a path under an API mount goes straight to
  that mount's app, with the scope Starlette's `Mount` would give it, instead of through
  Starlette's exception middleware and router (a walk over every route per request).
- below it, the HTTP protocol `server_protocol.py` gives uvicorn (`http_protocol.py`) stops
  reading a head at `TRANSPORT_HEAD_LIMIT` bytes, so a 64 MB header is never buffered whole.
"""

from __future__ import annotations

import hashlib
import itertools
import uuid
from collections.abc import Callable
from typing import Any

from starlette.applications import Starlette

from .kernel.errors import ApiError
from .kernel.spec import dumps

Renderer = Callable[[ApiError], Any]


class RequestGuard:
    """ASGI middleware: 431 for oversized heads, X-Request-ID on every response."""

    def __init__(
        self, app: Any, *, max_header_bytes: int, seed: int, renderers: dict[str, Renderer],
        mounts: dict[str, Any] | None = None,
    ) -> None:  # fmt: skip
        self.app = app
        self.limit = max_header_bytes
        self.renderers = renderers  # mount prefix -> the API's error renderer
        self.mounts = mounts or {}  # mount prefix -> the API's ASGI app (the same one the router mounts)
        self._seed = seed
        self._ids = itertools.count(1)

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = scope.get("headers") or ()
        size = len(scope.get("raw_path") or b"") + len(scope.get("query_string") or b"")
        for name, value in headers:
            size += len(name) + len(value) + 4
        path = scope.get("path", "")
        mount = self._mount_of(path)
        if size > self.limit:
            await self._refuse(scope, send, mount, size)
            return
        if mount is not None and "\n" not in path:
            # the API mount takes it (Starlette's mount patterns match anything but a
            # newline) and sets X-Request-ID on every answer itself
            api = self.mounts.get(mount)
            root = scope.get("root_path", "")
            if api is not None and path != mount and not root:
                await api(_mounted(scope, mount, api), receive, send)
            else:
                await self.app(scope, receive, send)
            return

        async def send_with_id(message: dict) -> None:
            # the control plane, and whatever no mount takes
            if message["type"] == "http.response.start":
                raw = list(message.get("headers") or ())
                if not any(name.lower() == b"x-request-id" for name, _ in raw):
                    raw.append((b"x-request-id", self._request_id(headers).encode("latin-1")))
                    message = {**message, "headers": raw}
            await send(message)

        await self.app(scope, receive, send_with_id)

    def _mount_of(self, path: str) -> str | None:
        for prefix in self.renderers:
            if path == prefix or path.startswith(prefix + "/"):
                return prefix
        return None

    def _request_id(self, headers: Any) -> str:
        for name, value in headers:
            if name == b"x-request-id" and value:
                return value.decode("latin-1")
        n = next(self._ids)  # its own sequence: the APIs' seeded request ids stay as they were
        digest = hashlib.sha256(f"{self._seed}:outside:{n}".encode()).digest()
        return str(uuid.UUID(bytes=digest[:16], version=4))

    async def _refuse(self, scope: dict, send: Callable, mount: str | None, size: int) -> None:
        message = (
            f"the request line and headers are {size} bytes; this server takes at most {self.limit} "
            "(MOCKSERVER_MAX_HEADER_BYTES)"
        )
        err = ApiError(431, message)
        body = dumps(self.renderers[mount](err) if mount is not None else {"error": message})
        request_id = self._request_id(())  # not the client's: it is part of what was too large
        await send({
            "type": "http.response.start",
            "status": 431,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"x-request-id", request_id.encode()),
                (b"connection", b"close"),
            ],
        })  # fmt: skip
        await send({"type": "http.response.body", "body": body})


class GuardedApp(Starlette):
    """The Starlette app with the `RequestGuard` in front of its whole stack, so a request
    for an API mount goes from the server straight to the guard and on to the mount; the
    control plane and every other path continue through Starlette as usual (its error
    middleware, router and exception handlers)."""

    guard: RequestGuard | None = None

    def guard_with(self, **options: Any) -> None:
        """Put a RequestGuard (keyword arguments: its options) in front of this app."""
        app = self

        async def starlette(scope: dict, receive: Callable, send: Callable) -> None:
            await Starlette.__call__(app, scope, receive, send)

        self.guard = RequestGuard(starlette, **options)

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:  # type: ignore[override]
        guard = self.guard
        if guard is None:
            await super().__call__(scope, receive, send)
        else:
            await guard(scope, receive, send)


def _mounted(scope: dict, prefix: str, app: Any) -> dict:
    """The scope Starlette's `Mount(prefix, app)` hands its app for a path under `prefix`
    (at the top level: no root path above it), updated in place as Starlette's router does."""
    scope.update({
        "path_params": dict(scope.get("path_params") or {}),
        "app_root_path": scope.get("app_root_path", ""),
        "root_path": prefix,
        "endpoint": app,
    })  # fmt: skip
    return scope
