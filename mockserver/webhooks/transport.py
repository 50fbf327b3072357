"""The httpx transport webhook deliveries go through: one small connection pool per origin.

Kept apart from the code that decides what to send and how to read the outcome
(`client.py`), the way httpx keeps its transports in `_transports/`. Tests give the engine a
transport of their own (`httpx.MockTransport`) instead of this one.
"""

from __future__ import annotations

import asyncio
import functools
import socket
from collections.abc import AsyncIterator, Callable

import httpx

# httpcore writes a request's head and body separately: without TCP_NODELAY, Nagle's
# algorithm holds the body until the receiver's delayed ACK (~40 ms on Linux), which capped
# a keep-alive connection at about 25 deliveries a second.
SOCKET_OPTIONS = [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]

Origin = tuple[str, str, int | None]  # scheme, host, port


class OriginPools(httpx.AsyncBaseTransport):
    """One small connection pool per receiver origin behind the one client.

    httpcore's pool bookkeeping is quadratic in its connection count, so one shared pool
    of 64 connections costs far more per request than several pools of a few each. Pools
    stay open for reuse (keep-alive); beyond `max_pools`, the least recently used idle
    ones are closed."""

    def __init__(self, per_origin: int, max_pools: int = 64) -> None:
        self._per_origin = per_origin
        self._max_pools = max_pools
        self._ssl = httpx.create_ssl_context()  # loading CA certificates once, not per pool
        self._pools: dict[Origin, httpx.AsyncHTTPTransport] = {}
        self._active: dict[Origin, int] = {}
        self._closing: set[asyncio.Task[None]] = set()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        key = (request.url.scheme, request.url.host, request.url.port)
        pool = self._pools.pop(key, None)
        if pool is None:
            limits = httpx.Limits(
                max_connections=self._per_origin, max_keepalive_connections=self._per_origin
            )
            pool = httpx.AsyncHTTPTransport(verify=self._ssl, limits=limits, socket_options=SOCKET_OPTIONS)
        self._pools[key] = pool  # most recently used last
        self._active[key] = self._active.get(key, 0) + 1
        try:
            response = await pool.handle_async_request(request)
            stream = response.stream
            if not isinstance(stream, httpx.AsyncByteStream):  # httpx's async pools never do this
                raise TypeError(f"an async transport answered with a {type(stream).__name__}")
        except BaseException:
            self._release(key)
            raise
        response.stream = _ReleasingStream(stream, functools.partial(self._release, key))
        return response

    def _release(self, key: Origin) -> None:
        self._active[key] -= 1
        if not self._active[key]:
            del self._active[key]
        excess = len(self._pools) - self._max_pools
        for old in [k for k in self._pools if k not in self._active][: max(0, excess)]:
            task = asyncio.get_running_loop().create_task(self._pools.pop(old).aclose())
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)

    async def aclose(self) -> None:
        pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            await pool.aclose()
        if self._closing:
            await asyncio.gather(*self._closing, return_exceptions=True)


class _ReleasingStream(httpx.AsyncByteStream):
    """The pool's response stream; closing it gives the origin's slot back."""

    def __init__(self, inner: httpx.AsyncByteStream, on_close: Callable[[], None]) -> None:
        self._inner = inner
        self._on_close: Callable[[], None] | None = on_close

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._inner:
            yield chunk

    async def aclose(self) -> None:
        try:
            await self._inner.aclose()
        finally:
            if self._on_close is not None:
                on_close, self._on_close = self._on_close, None
                on_close()
