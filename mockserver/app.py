"""create_app(settings) -> the Starlette app: one mount per API plus the control plane."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount

from . import apis
from .control.routes import control_app
from .guard import GuardedApp
from .kernel.errors import ApiError
from .kernel.ids import Ids
from .kernel.runtime import Runtime
from .scenarios import load_scenario
from .settings import Settings
from .webhooks import WebhookEngine
from .webhooks.chaos import Chaos


def create_app(settings: Settings | None = None, scenario: dict[str, Any] | None = None) -> Starlette:
    """`scenario`: already loaded (the CLI checks it before building anything); default: load
    `settings.scenario`."""
    with _collector_paused():
        return _build_app(settings, scenario)


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Building the app makes hundreds of thousands of objects that live as long as the
    server (specs, compiled schemas, seeded rows) and next to no garbage: the cyclic garbage
    collector, triggered by the allocations alone, would walk them over and over while they
    are made (~0.3 s of a 1.7 s cold start of the `large` scenario). It is paused while the
    app is built; the caller's setting comes back after, and the next collection finds any
    cycle left behind."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _build_app(settings: Settings | None, scenario: dict[str, Any] | None) -> Starlette:
    settings = settings or Settings.from_env()
    runtime = Runtime(settings)
    runtime.scenario = scenario if scenario is not None else load_scenario(settings.scenario)
    registry = apis.REGISTRY  # read once: every part below serves the same APIs
    runtime.webhooks = webhooks = WebhookEngine(
        runtime.clock,
        runtime.timers,
        runtime.store,
        Ids(settings.seed, runtime.store, "webhooks"),
        {
            api.name: api.retry_policy.with_(timeout=settings.webhook_timeout)
            for api in registry
            if api.retry_policy is not None
        },
        flush_interval=None,  # the listener below flushes each attempt at once; no second, delayed flush
    )
    # an attempt recorded by a timer (no request around it) is on disk at once, so a pending
    # retry survives a kill (--state)
    runtime.webhooks.add_listener(lambda _record: runtime.store.flush())
    runtime.webhooks.chaos = Chaos(settings.seed)
    runtime.webhooks.chaos.configure(settings.webhook_chaos)  # off unless configured
    api_apps: dict[str, Any] = {api.mount_path: api.mount(runtime) for api in registry}  # the guard hands API requests straight to them
    mounts = [Mount(prefix, app=app) for prefix, app in api_apps.items()]
    mounts.append(Mount("/_mock", app=control_app(runtime)))
    runtime.start_state()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        runtime.loop = asyncio.get_running_loop()
        await webhooks.start()
        runtime.timers.start()
        flusher = asyncio.create_task(_flush_every(runtime, 0.25)) if runtime.store.persistent else None
        try:
            yield
        finally:
            if flusher is not None:
                flusher.cancel()
            await runtime.timers.stop()
            await webhooks.stop()
            runtime.store.close()

    async def not_found(request: Request, exc: Exception) -> Response:
        """A path no mount takes (e.g. one with a newline, which Starlette's mount patterns
        do not match) still gets a 404 in the error shape of the API it was meant for, with the
        `X-Request-ID` every response of that API carries."""
        path = request.url.path
        api = apis.api_at(path, registry)
        if api is not None:
            body = api.render_error(ApiError(404, f"no such endpoint: {request.method} {path}"))
            request_id = request.headers.get("x-request-id") or runtime.next_request_id()
            return JSONResponse(body, status_code=404, headers={"X-Request-ID": request_id})
        return JSONResponse({"error": f"no such endpoint: {request.method} {path}"}, status_code=404)

    app = GuardedApp(routes=mounts, lifespan=lifespan, exception_handlers={404: not_found})
    renderers: dict[str, Callable[[ApiError], Any]] = {api.mount_path: api.render_error for api in registry}
    app.guard_with(max_header_bytes=settings.max_header_bytes, seed=settings.seed, renderers=renderers, mounts=api_apps)
    app.state.runtime = runtime
    return app


async def _flush_every(runtime: Runtime, seconds: float) -> None:
    """With --state, what timers change outside any request (an event a timer enqueues) is
    on disk within `seconds`; requests, control calls and webhook attempts flush at once."""
    while True:
        await asyncio.sleep(seconds)
        try:
            runtime.store.flush()
        except Exception:  # a full disk must not stop the server; the rows stay dirty
            logging.getLogger("mockserver").exception("flushing state failed")
