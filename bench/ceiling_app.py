"""The ceiling for bench_compare: bare Starlette on uvicorn answering a fixed JSON body.

Served exactly as `mockserver serve` serves its app (one uvicorn worker, same loop and HTTP
parser, log level warning, no access log), so the ratio mockserver / ceiling is the share
of the framework's throughput our pipeline keeps.

A request with `x-ceiling-body-bytes: N` gets a fixed JSON body of N bytes instead: the
ceiling for answers as large as mockserver's (a page of 100 packets is ~30 KB, and on a
2-core machine encoding, sending and reading those bytes costs the server, the kernel and
the load generator alike).
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Mount, Route

BODY = b'{"devices":[],"total_devices":0}'
_SIZED: dict[int, bytes] = {}
MAX_BODY = 10_000_000


def _sized(n: int) -> bytes:
    body = _SIZED.get(n)
    if body is None:
        filler = max(0, n - len(b'{"x":""}'))
        body = _SIZED[n] = b'{"x":"' + b"a" * filler + b'"}'
    return body


async def fixed(request) -> Response:  # noqa: ANN001 - a Starlette request
    size = request.headers.get("x-ceiling-body-bytes")
    if size is not None and size.isdigit() and int(size) <= MAX_BODY:
        return Response(_sized(int(size)), media_type="application/json")
    return Response(BODY, media_type="application/json")


# one mount like mockserver's API mounts, and a catch-all route below it
app = Starlette(routes=[Mount("/hubble", routes=[Route("/{rest:path}", fixed)]), Route("/{rest:path}", fixed)])
