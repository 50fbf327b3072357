"""The ceiling for bench_compare: bare Starlette on uvicorn answering a fixed JSON body.

Served exactly as `mockserver serve` serves its app (one uvicorn worker, same loop and HTTP
parser, log level warning, no access log), so the ratio mockserver / ceiling is the share of the
framework's throughput our pipeline keeps.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Mount, Route

BODY = b'{"devices":[],"total_devices":0}'


async def fixed(request) -> Response:  # noqa: ANN001 - a Starlette request
    return Response(BODY, media_type="application/json")


# one mount like mockserver's API mounts, and a catch-all route below it
app = Starlette(routes=[Mount("/hubble", routes=[Route("/{rest:path}", fixed)]), Route("/{rest:path}", fixed)])
