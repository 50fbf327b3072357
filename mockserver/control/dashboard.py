"""The dashboard at /_mock/ui (its files: `ui_files`) and the paged JSON it reads.

Everything the page shows comes from the routes below, which sit behind the admin token
like the rest of /_mock (below /_mock):

| call | answer |
|---|---|
| `GET /requests/page` | one page of journal summaries, newest first, with the number of matches |
| `GET /requests/{seq}` | one whole journal entry (headers masked unless `?reveal=1`) |
| `GET /webhooks/deliveries/page` | one page of webhook message summaries and counts per state |
| `GET /webhooks/deliveries/{id}` | one whole message with its attempts (headers masked unless `?reveal=1`) |
| `GET /clock/timers` | the clock and the next pending timers, in words |
| `POST /clock/next-timer` | move the clock to the next pending timer (it fires) |
| `GET /state/summary` | seed, scenario and each API's tables with their row counts |
| `GET /state/tables/{name}` | one page of a table's rows (secret fields masked unless `?reveal=1`) |

Paging is done here. The journal hands out a rendered copy of each entry it returns, so a
requests page asks it for the entries shown and counts the rest without rendering; a
deliveries page is one pass over the message table; neither sends the whole on the wire.
"""

from __future__ import annotations

import re
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .. import apis as registered
from ..kernel.runtime import Runtime
from . import timers_view
from .common import ControlError
from .masking import mask_entry, mask_fields, mask_message
from .ui_files import PUBLIC_PATHS, ui_routes

__all__ = ["PUBLIC_PATHS", "dashboard_routes"]

MAX_PAGE = 500
_STATUS = re.compile(r"^([1-5])(\d\d|xx)$", re.IGNORECASE)


def dashboard_routes(rt: Runtime) -> list[Route]:
    """Routes to put in front of the control plane's own (they add paths, change none)."""

    async def requests_page(request: Request) -> Response:
        q = request.query_params
        offset, limit = _paging(q)
        status = _status_filter(q.get("status"))
        filters = {
            "api": q.get("api") or None,
            "method": q.get("method") or None,
            "path": q.get("path") or None,
            "operation_id": q.get("operation_id") or None,
        }
        violations = q.get("violations") in ("1", "true")
        latest = rt.journal.entries(limit=1)
        # the journal renders a copy of each entry it returns: ask it for the page only, and
        # count the matches without rendering them
        items = rt.journal.entries(**filters, status=status, violations=violations, limit=offset + limit)[offset:]
        total = rt.journal.count(**filters, status=status, violations=violations)
        return JSONResponse(
            {
                "total": total,
                "offset": offset,
                "limit": limit,
                "latest_seq": latest[0].get("seq") if latest else None,
                "recorded": rt.journal.total,
                "items": [_request_summary(e) for e in items],
            }
        )

    async def request_detail(request: Request) -> Response:
        seq = request.path_params["seq"]
        latest = rt.journal.entries(limit=1)
        # sequence numbers only grow, so entry `seq` is at most latest - seq places from the newest
        depth = latest[0]["seq"] - seq + 1 if latest and latest[0].get("seq", 0) >= seq > 0 else 0
        entry = next((e for e in rt.journal.entries(limit=depth) if e.get("seq") == seq), None) if depth else None
        if entry is None:
            raise ControlError(404, f"no journal entry {seq} (it may have been cleared or pushed out of the journal)")
        return JSONResponse(entry if _reveal(request) else mask_entry(entry))

    async def deliveries_page(request: Request) -> Response:
        assert rt.webhooks is not None
        q = request.query_params
        offset, limit = _paging(q)
        state = q.get("state") or None
        matching = rt.webhooks.messages(
            api=q.get("api") or None,
            endpoint_id=q.get("endpoint") or None,
            event_type=q.get("event_type") or None,
        )
        counts: dict[str, int] = {}
        for message in matching:
            counts[message.get("state", "")] = counts.get(message.get("state", ""), 0) + 1
        if state is not None:
            matching = [m for m in matching if m.get("state") == state]
        return JSONResponse(
            {
                "total": len(matching),
                "offset": offset,
                "limit": limit,
                "states": counts,
                "items": [_message_summary(m) for m in matching[offset : offset + limit]],
            }
        )

    async def delivery_detail(request: Request) -> Response:
        assert rt.webhooks is not None
        message = rt.webhooks.get(request.path_params["message_id"])
        if message is None:
            raise ControlError(404, f"no webhook message {request.path_params['message_id']!r}")
        return JSONResponse(message if _reveal(request) else mask_message(message))

    async def clock_timers(request: Request) -> Response:
        limit = _int(request.query_params.get("limit"), "limit", 20, 1, MAX_PAGE)
        return JSONResponse(
            {
                **rt.clock.snapshot(),
                "timers_pending": rt.timers.pending(),
                "timers": timers_view.upcoming(rt, limit),
            }
        )

    async def next_timer(request: Request) -> Response:
        await rt.timers.drain()  # an attempt in flight may schedule an earlier retry
        due = rt.timers.next_due()
        if due is None:
            raise ControlError(409, "no timer is pending: nothing to advance to")
        fired = await rt.move_clock(to=max(due, rt.clock.now()))
        return JSONResponse({**rt.clock.snapshot(), "timers_fired": fired, "timers_pending": rt.timers.pending()})

    async def state_summary(request: Request) -> Response:
        main_tables = {api.name: api.main_tables for api in registered.REGISTRY}
        apis = {}
        for name in rt.backends:
            tables = []
            for table in rt.store.tables(f"{name}."):
                short = table.name[len(name) + 1 :]
                tables.append({"name": table.name, "short": short, "count": len(table), "main": short in main_tables.get(name, ())})
            tables.sort(key=lambda t: (not t["main"], t["short"]))
            apis[name] = {"tables": tables}
        messages = rt.store.tables("webhooks.")
        return JSONResponse(
            {
                "seed": rt.settings.seed,
                "scenario": rt.settings.scenario,
                "apis": apis,
                "webhooks": [{"name": t.name, "count": len(t)} for t in messages],
            }
        )

    async def state_table(request: Request) -> Response:
        name = request.path_params["name"]
        owner = name.partition(".")[0]
        table = next((t for t in rt.store.tables(name) if t.name == name), None)
        if table is None or (owner not in rt.backends and owner != "webhooks"):
            raise ControlError(404, f"no state table {name!r}; GET /_mock/state/summary lists them")
        offset, limit = _paging(request.query_params)
        keys = list(table.keys())[offset : offset + limit]
        reveal = _reveal(request)
        rows = [{"key": k, "value": table.get(k) if reveal else mask_fields(table.get(k))} for k in keys]
        return JSONResponse({"name": name, "total": len(table), "offset": offset, "limit": limit, "rows": rows})

    return [
        *ui_routes(),
        Route("/requests/page", requests_page),
        Route("/requests/{seq:int}", request_detail),
        Route("/webhooks/deliveries/page", deliveries_page),
        Route("/webhooks/deliveries/{message_id}", delivery_detail),
        Route("/clock/timers", clock_timers),
        Route("/clock/next-timer", next_timer, methods=["POST"]),
        Route("/state/summary", state_summary),
        Route("/state/tables/{name}", state_table),
    ]


def _request_summary(entry: dict[str, Any]) -> dict[str, Any]:
    fault = entry.get("fault")
    return {
        "seq": entry.get("seq"),
        "id": entry.get("id"),
        "at": entry.get("at"),
        "api": entry.get("api"),
        "method": entry.get("method"),
        "path": entry.get("path"),
        "query": entry.get("query") or "",
        "operation_id": entry.get("operation_id"),
        "status": entry.get("status"),
        "duration_ms": entry.get("duration_ms"),
        "violations": len(entry.get("violations") or ()) + len(entry.get("response_violations") or ()),
        "fault": fault.get("kind") if isinstance(fault, dict) else None,
    }


def _message_summary(message: dict[str, Any]) -> dict[str, Any]:
    attempts = message.get("attempts") or []
    last = attempts[-1] if attempts else None
    return {
        "id": message.get("id"),
        "api": message.get("api"),
        "endpoint_id": message.get("endpoint_id"),
        "url": message.get("url"),
        "event_type": message.get("event_type"),
        "state": message.get("state"),
        "created_at": message.get("created_at"),
        "next_attempt_at": message.get("next_attempt_at"),
        "attempts": len(attempts),
        "last_attempt": None
        if last is None
        else {k: last.get(k) for k in ("at", "status", "latency_ms", "error")},
        "last_error": message.get("last_error"),
    }


def _paging(q: Any) -> tuple[int, int]:
    return _int(q.get("offset"), "offset", 0, 0, None), _int(q.get("limit"), "limit", 50, 1, MAX_PAGE)


def _int(value: str | None, name: str, default: int, low: int, high: int | None) -> int:
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise ControlError(400, f"{name} must be an integer") from None
    if number < low or (high is not None and number > high):
        raise ControlError(400, f"{name} must be between {low} and {high}" if high else f"{name} must be at least {low}")
    return number


class StatusClass(int):
    """A status filter for the journal's `status=` that equals every code of its class:
    StatusClass(4) == 404 and == 429. An int subclass, so Python asks it first whichever
    side of `==` or `!=` it is on, and the journal filters before it copies an entry."""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, int) and not isinstance(other, bool) and int(other) // 100 == int(self)

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    __hash__ = int.__hash__


def _status_filter(value: str | None) -> int | None:
    """None, a code (`404`), or a class (`4xx`)."""
    if not value:
        return None
    match = _STATUS.match(value.strip())
    if match is None:
        raise ControlError(400, "status must be a code such as 404 or a class such as 4xx")
    if match.group(2).lower() == "xx":
        return StatusClass(int(match.group(1)))
    return int(value)


def _reveal(request: Request) -> bool:
    return request.query_params.get("reveal") in ("1", "true")
