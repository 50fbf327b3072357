"""One POST of one webhook message, and what came of it.

`DeliveryClient.post` sends the bytes and returns an `Outcome`: the status, the start of the
answer, and a readable reason when the attempt failed (`diagnosis.py`); no exception
escapes, so a receiver can never break the engine. Plain `http://` receivers go through the
small keep-alive client in `http1.py`; everything else (TLS, redirects followed, odd URLs,
a transport given by a test) through httpx over `transport.OriginPools`. httpx is imported
on the first delivery that needs it (about 70 ms that a server start, and a run that only
posts to plain `http://` receivers, never pay).
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from . import diagnosis
from .http1 import DeliveryFailed, Http1Pool, Target, head_of, target_of
from .policy import RetryPolicy

if TYPE_CHECKING:
    import httpx

MAX_READ_BYTES = 64 * 1024
DEFAULT_USER_AGENT = "mockserver-webhooks/0.1"


@dataclass(frozen=True, slots=True)
class Outcome:
    status: int | None
    """The answer's status, None when no answer head arrived."""
    text: str
    """The answer's text (at most MAX_READ_BYTES of it)."""
    error: str | None
    """Why the attempt failed; None for a 2xx."""
    error_message: str | None
    """The receiver's own `{"error": ...}` message (policies with `store_error_body`)."""


class DeliveryClient:
    """The HTTP clients of one engine, made on first use and closed by `aclose`.

    `per_origin` bounds the idle keep-alive connections kept per receiver; the engine bounds
    the requests in flight. `transport` replaces the sockets (tests)."""

    def __init__(self, per_origin: int, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._per_origin = per_origin
        self._transport = transport
        self._httpx: httpx.AsyncClient | None = None
        self._fast: Http1Pool | None = None

    async def aclose(self) -> None:
        client, self._httpx = self._httpx, None
        if client is not None:
            await client.aclose()
        fast, self._fast = self._fast, None
        if fast is not None:
            await fast.aclose()

    async def post(self, url: str, payload: bytes, headers: dict[str, str], policy: RetryPolicy) -> Outcome:
        """POST once within `policy.timeout` seconds; every failure becomes a reason."""
        if self._transport is None and not policy.follow_redirects:
            target = target_of(url)
            head = head_of(target, headers, len(payload)) if target is not None else None
            if target is not None and head is not None:
                return await self._post_fast(target, head, payload, policy)
        return await self._post_httpx(url, payload, headers, policy)

    async def _post_fast(self, target: Target, head: bytes, payload: bytes, policy: RetryPolicy) -> Outcome:
        """Over the keep-alive HTTP/1.1 client: the same outcomes and reasons as httpx."""
        if self._fast is None:
            self._fast = Http1Pool(self._per_origin)
        try:
            async with asyncio.timeout(policy.timeout):
                answer = await self._fast.post(target, head, payload, MAX_READ_BYTES)
        except TimeoutError:
            return Outcome(None, "", f"timeout after {policy.timeout:g}s", None)
        except DeliveryFailed as exc:
            return Outcome(exc.status, "", exc.reason, None)
        except Exception as exc:  # a client bug must not kill the engine
            return Outcome(None, "", f"delivery error: {diagnosis.describe(exc)}", None)
        return _judged(answer.status, answer.headers, diagnosis.decode(answer.body, answer.charset), policy)

    async def _post_httpx(self, url: str, payload: bytes, headers: dict[str, str], policy: RetryPolicy) -> Outcome:
        import httpx  # on first use (see the module docstring); cached by Python afterwards

        from .transport import OriginPools  # it subclasses an httpx class: imported with httpx

        if self._httpx is None:
            self._httpx = httpx.AsyncClient(
                transport=self._transport or OriginPools(self._per_origin),
                trust_env=False,  # no proxies from the environment
                headers={"User-Agent": DEFAULT_USER_AGENT},
            )
        status: int | None = None
        text = ""
        try:
            async with asyncio.timeout(policy.timeout):
                async with self._httpx.stream(
                    "POST",
                    url,
                    content=payload,
                    headers=headers,
                    timeout=policy.timeout,
                    follow_redirects=policy.follow_redirects,
                ) as response:
                    status = response.status_code
                    raw = await _read_capped(response)
                    text = diagnosis.decode(raw, response.charset_encoding)
        except (TimeoutError, httpx.TimeoutException):
            return Outcome(status, text, f"timeout after {policy.timeout:g}s", None)
        except httpx.TooManyRedirects:
            return Outcome(status, text, "too many redirects", None)
        except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
            return Outcome(None, "", f"invalid URL: {exc}", None)
        except httpx.ConnectError as exc:
            return Outcome(None, "", diagnosis.connect_reason(exc), None)
        except httpx.RemoteProtocolError as exc:
            return Outcome(status, text, diagnosis.protocol_reason(exc, status), None)
        except (httpx.ReadError, httpx.WriteError, httpx.NetworkError) as exc:
            return Outcome(status, text, diagnosis.network_reason(exc), None)
        except httpx.HTTPError as exc:
            return Outcome(status, text, f"request failed: {diagnosis.describe(exc)}", None)
        except (OSError, ssl.SSLError) as exc:
            return Outcome(status, text, diagnosis.network_reason(exc), None)
        except Exception as exc:  # a transport bug must not kill the engine
            return Outcome(status, text, f"delivery error: {diagnosis.describe(exc)}", None)
        return _judged(response.status_code, response.headers, text, policy)


def _judged(status: int, headers: Mapping[str, str], text: str, policy: RetryPolicy) -> Outcome:
    """The outcome of an attempt that got an answer (`headers`: names lowercased or httpx's)."""
    error = diagnosis.answer_reason(status, headers)
    error_message = None
    if error is not None and policy.store_error_body and status >= 400:
        error_message = diagnosis.receiver_message(headers.get("content-type", ""), text, policy.error_excerpt_limit)
    return Outcome(status, text, error, error_message)


async def _read_capped(response: httpx.Response, cap: int = MAX_READ_BYTES) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size >= cap:
            break
    return b"".join(chunks)[:cap]
