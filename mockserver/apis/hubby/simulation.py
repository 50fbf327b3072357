"""The traveler's world, under /_mock/hubby/: what Hubby would see happen after a booking.

    PUT|GET|DELETE /webhook                 where a partner's events go
        PUT {"url": "http://...", "partner_api_key"?: "...", "webhook_api_key"?: "..."}
    GET|POST       /partners                list partners; add one {"name", "api_key"?, "secret"?, ...}
    GET            /events                  every state change (?type=, ?booking=, ?partner=)
    POST /promo-codes/{code}/redeem         {"external_user_id"?, "destination"? (destinationless codes)}
    POST /esims/{iccid}/install             the traveler installs the eSIM
    POST /esims/{iccid}/remove              ... or removes it (it can be installed again)
    POST /esims/{iccid}/activate            {"package_id"?}: arrival; the oldest queued package starts
    POST /esims/{iccid}/consume             {"bytes": N} or {"percent": P} (of the allowance), {"package_id"?}
    POST /advance                           {"seconds"|"minutes"|"hours"|"days": N}: time passes
                                            (the same as POST /_mock/clock {"advance_seconds": N})

A step the state does not allow (activating on an eSIM that is not installed, redeeming a
code twice) answers 409 with the reason; unknown codes and ICCIDs answer 404.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import urlparse

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ...control.common import ControlError, json_body
from ...kernel.errors import ApiError
from ...scenarios import ScenarioError

if TYPE_CHECKING:
    from ...kernel.runtime import Runtime
    from .models import HubbyBackend


def control_routes(runtime: Runtime) -> list[Route]:
    def model() -> HubbyBackend:
        return cast("HubbyBackend", runtime.backends["hubby"])  # the runtime holds backends untyped

    def endpoint(fn: Callable[[Request], Awaitable[Any]], status: int = 200) -> Callable[[Request], Awaitable[Response]]:
        async def run(request: Request) -> Response:
            try:
                result = await fn(request)
            except ApiError as err:
                raise ControlError(err.status, err.detailed_message()) from None
            except ScenarioError as err:
                raise ControlError(409, str(err)) from None
            runtime.store.flush()
            return JSONResponse(result, status_code=status)

        return run

    async def body_of(request: Request) -> dict[str, Any]:
        data = await json_body(request, required=False)
        if not isinstance(data, dict):
            raise ControlError(400, "expected a JSON object")
        return data

    def partner_for(ref: Any) -> dict[str, Any]:
        if ref is not None and not isinstance(ref, str):
            raise ControlError(400, "partner_api_key must be a string")
        partner = model().partner_ref(ref)
        if partner is None:
            raise ControlError(404, f"no partner with API key (or id) {ref!r}")
        return partner

    def webhook_view(p: dict[str, Any]) -> dict[str, Any]:
        return {"partner": p["id"], "partner_api_key": p["api_key"], "url": p.get("webhook_url"),
                "webhook_api_key": (p.get("webhook_api_key") or p["api_key"]) if p.get("webhook_url") else None,
                "scenario_events": p.get("scenario_events", True)}  # fmt: skip

    async def webhook(request: Request) -> Any:
        m = model()
        if request.method == "GET":
            ref = request.query_params.get("partner_api_key")
            partners = [partner_for(ref)] if ref else list(m.partners.values())
            return {"webhooks": [webhook_view(p) for p in partners]}
        data = await body_of(request)
        partner = partner_for(data.get("partner_api_key") or request.query_params.get("partner_api_key"))
        if request.method == "DELETE":
            engine = runtime.webhooks
            if engine is not None:
                for msg in engine.messages(api="hubby", endpoint_id=partner["id"]):
                    engine.cancel(msg["id"], "the partner's webhook URL was removed")
            return webhook_view(m.set_webhook(partner, None))
        url = data.get("url")
        parsed = urlparse(url) if isinstance(url, str) else None
        if parsed is None or parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ControlError(400, f"url must be an absolute http(s) URL, got {url!r}")
        key = data.get("webhook_api_key")
        if key is not None and (not isinstance(key, str) or not key):
            raise ControlError(400, "webhook_api_key must be a non-empty string")
        scenario_events = data.get("scenario_events", True)
        if not isinstance(scenario_events, bool):
            raise ControlError(400, "scenario_events must be true or false")
        return webhook_view(m.set_webhook(partner, url, key, scenario_events))

    async def partners(request: Request) -> Any:
        m = model()
        if request.method == "GET":
            return {"partners": [_partner_view(p) for p in m.partners.values()]}
        data = await body_of(request)
        try:
            partner = m.add_partner(data)
        except ScenarioError as err:
            conflict = "already" in str(err)
            raise ControlError(409 if conflict else 400, str(err)) from None
        return _partner_view(partner)

    async def events(request: Request) -> Any:
        q = request.query_params
        rows = [
            e for e in model().events.values()
            if (not q.get("type") or e["type"] == q["type"])
            and (not q.get("booking") or e["booking"] == q["booking"])
            and (not q.get("partner") or e["partner"] == q["partner"])
        ]  # fmt: skip
        return {"events": rows}

    async def redeem(request: Request) -> Any:
        data = await body_of(request)
        m = model()
        result = m.redeem_promo_code(request.path_params["code"], _opt_str(data, "external_user_id"), _opt_str(data, "destination"))
        return {"promo_code": m.promo_view(m.promo_codes[result["promo_code"]]), "esim": m.esim_view(m.esims[result["esim"]])}

    def esim_step(action: str) -> Callable[[Request], Awaitable[Any]]:
        async def step(request: Request) -> Any:
            data = await body_of(request)
            m = model()
            iccid = request.path_params["iccid"]
            if action == "install":
                m.install_esim(iccid)
            elif action == "remove":
                m.remove_esim(iccid)
            elif action == "activate":
                m.activate_package(iccid, _opt_str(data, "package_id"))
            else:
                nbytes, percent = data.get("bytes"), data.get("percent")
                if (nbytes is None) == (percent is None):
                    raise ControlError(400, 'send {"bytes": N} or {"percent": P}, one of them')
                value = nbytes if nbytes is not None else percent
                if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                    raise ControlError(400, "bytes and percent must be non-negative numbers")
                if nbytes is not None and not isinstance(nbytes, int):
                    raise ControlError(400, "bytes must be an integer")
                m.consume(iccid, nbytes=nbytes, percent=percent, package_id=_opt_str(data, "package_id"))
            return {"esim": m.esim_view(m.esims[iccid])}

        return step

    async def advance(request: Request) -> Any:
        data = await body_of(request)
        units = {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86400}
        seconds = 0.0
        for unit, factor in units.items():
            value = data.get(unit)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise ControlError(400, f"{unit} must be a non-negative number")
            seconds += float(value) * factor
        try:
            fired = await runtime.move_clock(by=seconds)
        except ValueError as exc:
            raise ControlError(400, str(exc)) from None
        return {**runtime.clock.snapshot(), "advanced_seconds": seconds, "timers_fired": fired}

    return [
        Route("/webhook", endpoint(webhook), methods=["GET", "PUT", "DELETE"]),
        Route("/partners", endpoint(partners), methods=["GET"]),
        Route("/partners", endpoint(partners, 201), methods=["POST"]),
        Route("/events", endpoint(events), methods=["GET"]),
        Route("/promo-codes/{code}/redeem", endpoint(redeem), methods=["POST"]),
        Route("/esims/{iccid}/install", endpoint(esim_step("install")), methods=["POST"]),
        Route("/esims/{iccid}/remove", endpoint(esim_step("remove")), methods=["POST"]),
        Route("/esims/{iccid}/activate", endpoint(esim_step("activate")), methods=["POST"]),
        Route("/esims/{iccid}/consume", endpoint(esim_step("consume")), methods=["POST"]),
        Route("/advance", endpoint(advance), methods=["POST"]),
    ]


def _opt_str(data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        raise ControlError(400, f"{key} must be a string")
    return value or None


def _partner_view(p: dict[str, Any]) -> dict[str, Any]:
    keys = ("id", "name", "api_key", "secret", "is_active", "webhook_url", "cutoff_days", "about_to_depart_hours")
    return {k: p.get(k) for k in keys}
