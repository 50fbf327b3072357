"""The /_mock control plane: health, credentials, reset, clock, journal, state, faults,
webhook deliveries, and each API's world simulation (`/_mock/<api>/...`)."""

from __future__ import annotations

import hmac
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .. import apis
from ..kernel.faults import FaultError, validate_rule
from ..kernel.runtime import Runtime
from ..kernel.spec import dumps
from .chaos import chaos_route
from .common import ControlError, json_body
from .dashboard import PUBLIC_PATHS, dashboard_routes

# the clock stays where every API can still render its times (and a year later): a date-time
# in year 10000 has no ISO 8601 / RFC 3339 form


def credentials(runtime: Runtime) -> dict[str, Any]:
    """The server's base URL, then each API's base URL and sandbox credentials under its
    name, then the control plane's."""
    s = runtime.settings
    base = s.base_url
    out: dict[str, Any] = {"base_url": base}
    for api in apis.REGISTRY:
        out[api.name] = api.credentials_for(s)
    out["control"] = {"base_url": f"{base}/_mock", "admin_token_required": bool(s.admin_token)}
    return out


async def restore_state(rt: Runtime, data: Any) -> None:
    """PUT /_mock/state once the body is parsed (`MockServer.restore` calls it in-process,
    without sending MiBs through a socket)."""
    try:
        await rt.timers.drain()
        rt.restore(data)
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise ControlError(400, f"not a state document: {exc}") from exc
    rt.save_clock()


def control_app(runtime: Runtime) -> ASGIApp:
    rt = runtime

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def creds(request: Request) -> Response:
        return JSONResponse(credentials(rt))

    async def reset(request: Request) -> Response:
        api = request.query_params.get("api")
        if api is not None and api not in rt.backends:
            raise ControlError(400, f"unknown api {api!r}; one of {sorted(rt.backends)}")
        await rt.timers.drain()
        rt.reset(api)
        if api is None and rt.webhooks is not None and rt.webhooks.chaos is not None:
            rt.webhooks.chaos.reseed()  # the same traffic after a reset meets the same chaos
        return JSONResponse({"reset": api or "all"})

    async def clock(request: Request) -> Response:
        if request.method == "POST":
            data = await json_body(request)
            if not isinstance(data, dict):
                raise ControlError(400, "expected a JSON object")
            unknown = sorted(set(data) - {"mode", "set", "advance_seconds", "reset"})
            if unknown:
                raise ControlError(400, f"unknown clock fields {unknown}; use mode, set, advance_seconds or reset")
            if "reset" in data and not isinstance(data["reset"], bool):
                raise ControlError(400, "reset must be true or false")
            fired = 0
            if data.get("reset"):
                rt.rewind_clock()
            if "mode" in data:
                if data["mode"] not in ("real", "frozen"):
                    raise ControlError(400, "mode must be 'real' or 'frozen'")
                rt.clock.set_mode(data["mode"])
            try:
                if "set" in data:
                    fired += await rt.move_clock(to=_number(data["set"], "set"))
                if "advance_seconds" in data:
                    fired += await rt.move_clock(by=_number(data["advance_seconds"], "advance_seconds"))
            except ValueError as exc:
                raise ControlError(400, str(exc)) from None
            rt.save_clock()
            return JSONResponse({**rt.clock.snapshot(), "timers_fired": fired, "timers_pending": rt.timers.pending()})
        return JSONResponse({**rt.clock.snapshot(), "timers_pending": rt.timers.pending()})

    async def requests(request: Request) -> Response:
        if request.method == "DELETE":
            rt.journal.clear()
            return JSONResponse({"cleared": True})
        q = request.query_params
        limit = _limit_param(q.get("limit"))
        status = _int_param(q.get("status"), "status")
        filters = {
            "api": q.get("api"),
            "method": q.get("method"),
            "path": q.get("path"),
            "operation_id": q.get("operation_id"),
            "status": status,
            "violations": q.get("violations") in ("1", "true"),
        }
        # total: how many retained entries match the filters (limit only shortens the list);
        # journal_size: everything retained, whatever the filters
        return JSONResponse({
            "total": rt.journal.count(**filters),
            "journal_size": rt.journal.total,
            "requests": rt.journal.entries(**filters, limit=limit),
        })

    async def deliveries(request: Request) -> Response:
        q = request.query_params
        assert rt.webhooks is not None
        messages = rt.webhooks.messages(
            api=q.get("api"),
            endpoint_id=q.get("endpoint"),
            state=q.get("state"),
            event_type=q.get("event_type"),
            limit=_limit_param(q.get("limit")),
        )
        return JSONResponse({"deliveries": messages})

    async def resend(request: Request) -> Response:
        assert rt.webhooks is not None
        message_id = request.path_params["message_id"]
        if rt.webhooks.get(message_id) is None:
            raise ControlError(404, f"no webhook message {message_id!r}")
        message = rt.webhooks.resend(message_id)
        rt.store.flush()
        return JSONResponse(message)

    async def state(request: Request) -> Response:
        if request.method == "PUT":
            await restore_state(rt, await json_body(request))
            return JSONResponse({"restored": True})
        # orjson: the demo state is 1.4 MiB of JSON, which the standard library takes ~20 ms to write
        return Response(dumps(rt.snapshot()), media_type="application/json")

    async def faults(request: Request) -> Response:
        if request.method == "DELETE":
            rt.faults.clear()
            return JSONResponse({"cleared": True})
        if request.method == "POST":
            data = await json_body(request)
            items = data if isinstance(data, list) else [data]
            names = [api.name for api in apis.REGISTRY]
            for index, item in enumerate(items):
                where = f"rule {index}: " if len(items) > 1 else ""
                try:
                    validate_rule(item)
                except FaultError as exc:
                    raise ControlError(400, f"invalid fault: {where}{exc}") from None
                if item.get("api") is not None and item["api"] not in names:
                    raise ControlError(400, f"invalid fault: {where}api must be one of {names}")
            added = [rt.faults.add(item).describe() for item in items]  # all or nothing
            return JSONResponse({"faults": added}, status_code=201)
        return JSONResponse({"faults": [f.describe() for f in rt.faults.rules]})

    routes: list[BaseRoute] = [
        Route("/health", health),
        Route("/credentials", creds),
        Route("/reset", reset, methods=["POST"]),
        Route("/clock", clock, methods=["GET", "POST"]),
        Route("/requests", requests, methods=["GET", "DELETE"]),
        Route("/webhooks/deliveries", deliveries),
        Route("/webhooks/deliveries/{message_id}/resend", resend, methods=["POST"]),
        chaos_route(rt),
        Route("/state", state, methods=["GET", "PUT"]),
        Route("/faults", faults, methods=["GET", "POST", "DELETE"]),
    ]
    routes[:0] = dashboard_routes(rt)  # the dashboard and its paged reads: new paths only
    for api in apis.REGISTRY:
        routes.append(Mount(f"/{api.name}", routes=api.control(rt)))

    async def on_control_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ControlError)
        return JSONResponse({"error": exc.message}, status_code=exc.status)

    inner = Starlette(routes=routes, exception_handlers={ControlError: on_control_error})
    inner.state.max_body_bytes = rt.settings.max_control_body_bytes
    token = rt.settings.admin_token

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await inner(scope, receive, send)
            return
        public = _below(scope) == "/health" or _below(scope) in PUBLIC_PATHS  # the dashboard shell holds no data
        if token and not public and not _authorized(scope, token):
            response = JSONResponse(
                {"error": "the control plane needs 'Authorization: Bearer <MOCKSERVER_ADMIN_TOKEN>'"},
                status_code=401,
                headers={"WWW-Authenticate": 'Bearer realm="mockserver control plane"'},
            )
            await response(scope, receive, send)
            return

        async def send_flushed(message: Message) -> None:
            if message["type"] == "http.response.start":
                rt.store.flush()  # whatever the control plane answered is on disk (with --state)
            await send(message)

        await inner(scope, receive, send_flushed)

    return app


def _below(scope: Scope) -> str:
    """The path below the /_mock mount."""
    path, root = scope.get("path", ""), scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root) else path


def _authorized(scope: Scope, token: str) -> bool:
    auth = b""
    for name, value in scope.get("headers") or ():
        if name.lower() == b"authorization":
            auth = value
    return hmac.compare_digest(auth, f"Bearer {token}".encode())


def _number(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ControlError(400, f"{name} must be a number")
    return float(value)


def _limit_param(value: str | None) -> int | None:
    """`limit` of a listing: 0 .. 1,000,000 (a negative or huge one is a 400, not a 500)."""
    limit = _int_param(value, "limit")
    if limit is not None and not 0 <= limit <= 1_000_000:
        raise ControlError(400, "limit must be an integer from 0 to 1000000")
    return limit


def _int_param(value: str | None, name: str) -> int | None:
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        raise ControlError(400, f"{name} must be an integer") from None
