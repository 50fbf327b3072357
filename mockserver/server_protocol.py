"""What `mockserver serve` runs uvicorn with: its server, our HTTP protocol.

With httptools installed (the default), connections are served by `http_protocol.HttpProtocol`:
uvicorn's HTTP semantics at less cost per request, a response's head and body in one write,
and a request head past `TRANSPORT_HEAD_LIMIT` bytes refused while it is read (a plain 431,
and the connection closes), so a 64 MB header is never buffered whole. Without httptools,
uvicorn's h11 protocol answers its own 400 past the same size
(`h11_max_incomplete_event_size`).

The guard in front of the app (`guard.py`) is the ASGI side; this is the transport side.
"""

from __future__ import annotations

import importlib.util
from typing import Any

TRANSPORT_HEAD_LIMIT = 1_048_576  # bytes of request head a connection buffers before giving up


def server_protocol(http: str = "auto") -> str | type:
    """The uvicorn `http` setting for our servers: httptools ("auto" when it is installed)
    becomes our `HttpProtocol`; "h11" and other settings are uvicorn's own."""
    if http == "h11" or (http == "auto" and importlib.util.find_spec("httptools") is None):
        return "h11"
    if http not in ("auto", "httptools"):
        return http
    from .http_protocol import HttpProtocol  # noqa: PLC0415  (imports httptools)

    HttpProtocol.head_limit = TRANSPORT_HEAD_LIMIT
    return HttpProtocol


def uvicorn_options(http: str = "auto") -> dict[str, Any]:
    """Keyword arguments for uvicorn.Config / uvicorn.run."""
    return {"http": server_protocol(http), "h11_max_incomplete_event_size": TRANSPORT_HEAD_LIMIT}
