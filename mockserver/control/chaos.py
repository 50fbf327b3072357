"""`/_mock/webhooks/chaos`: read, set and turn off the opt-in webhook delivery chaos
(`mockserver.webhooks.chaos`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..webhooks.chaos import ChaosConfigError
from .common import ControlError, json_body

if TYPE_CHECKING:
    from ..kernel.runtime import Runtime


def chaos_route(rt: Runtime) -> Route:
    async def chaos(request: Request) -> Response:
        assert rt.webhooks is not None and rt.webhooks.chaos is not None
        engine_chaos = rt.webhooks.chaos
        if request.method == "DELETE":
            engine_chaos.clear()
        elif request.method in ("PUT", "POST"):
            data = await json_body(request)
            try:
                engine_chaos.configure(data)
            except ChaosConfigError as exc:
                raise ControlError(400, str(exc)) from None
        return JSONResponse(engine_chaos.describe())

    return Route("/webhooks/chaos", chaos, methods=["GET", "PUT", "POST", "DELETE"])
