"""Why a delivery failed, in words: every failure of an attempt becomes a short reason.

The attempt log shows these reasons to the user ("connection refused", "timeout after 30s",
"HTTP 503", "redirect to https://x/ not followed", "connection closed mid-response (HTTP
200): ..."), whichever client made the attempt (httpx or the keep-alive client in
`http1.py`), so both use the functions here. Nothing in this module raises.
"""

from __future__ import annotations

import errno
import json
import socket
import ssl
from collections.abc import Iterator, Mapping


def describe(exc: BaseException) -> str:
    """`TypeName: message`, or the type name alone when the message is empty."""
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def connect_reason(exc: BaseException) -> str:
    """A failure to open the connection."""
    causes = list(_causes(exc))
    text = " ".join(str(e) for e in causes).lower()
    if (
        any(isinstance(e, ConnectionRefusedError) for e in causes)
        or _has_errno(causes, errno.ECONNREFUSED)
        or "refused" in text
        # asyncio joins the errors of several addresses (localhost: ::1 and 127.0.0.1) in one
        # OSError: "Multiple exceptions: [Errno 111] Connect call failed ..."
        or f"[errno {errno.ECONNREFUSED}]" in text
    ):
        return "connection refused"
    if any(isinstance(e, socket.gaierror) for e in causes) or "name or service not known" in text:
        return "could not resolve host"
    if _has_errno(causes, errno.ENETUNREACH, errno.EHOSTUNREACH) or "unreachable" in text:
        return "host unreachable"
    if any(isinstance(e, ssl.SSLError) for e in causes) or "ssl" in text:
        return f"TLS error: {describe(exc)}"
    if "all connection attempts failed" in text:  # happy eyeballs: every address refused
        return "connection refused"
    return f"connection failed: {describe(exc)}"


def network_reason(exc: BaseException) -> str:
    """A failure while sending the request or reading the answer."""
    causes = list(_causes(exc))
    text = " ".join(str(e) for e in causes).lower()
    if (
        any(isinstance(e, ConnectionResetError) for e in causes)
        or _has_errno(causes, errno.ECONNRESET, errno.EPIPE)
        or "reset" in text
    ):
        return "connection reset"
    if any(isinstance(e, ssl.SSLError) for e in causes):
        return f"TLS error: {describe(exc)}"
    return f"network error: {describe(exc)}"


def protocol_reason(exc: BaseException, status: int | None) -> str:
    """An answer that is not valid HTTP, or one cut short (`status` when its head was read)."""
    text = str(exc)
    lowered = text.lower()
    if "reset" in lowered or _has_errno(list(_causes(exc)), errno.ECONNRESET):
        return "connection reset"
    if "disconnected without sending a response" in lowered:
        return "connection closed without a response"
    if status is not None:
        return f"connection closed mid-response (HTTP {status}): {text}"
    return f"invalid HTTP response: {text}"


def answer_reason(status: int, headers: Mapping[str, str]) -> str | None:
    """Why an answer that arrived is a failed attempt; None for a 2xx."""
    if 200 <= status < 300:
        return None
    if 300 <= status < 400 and "location" in headers:
        return f"redirect to {headers['location']} not followed"
    return f"HTTP {status}"


def receiver_message(content_type: str, text: str, limit: int) -> str | None:
    """The receiver's own `{"error": ...}` message in a JSON answer, cut to `limit` characters."""
    if "json" not in content_type.lower():
        return None
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if not isinstance(data, dict) or data.get("error") is None:
        return None
    value = data["error"]
    message = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
    return message[:limit]


def decode(raw: bytes, charset: str | None) -> str:
    """The answer's text for the attempt log, whatever charset the receiver claims."""
    try:
        text = raw.decode(charset or "utf-8", errors="replace")
    except LookupError:  # a charset Python does not know
        text = raw.decode("utf-8", errors="replace")
    # a receiver's charset (utf-7, unicode_escape) can produce lone surrogates, which no
    # later read of the attempt could encode: replace them
    return text if text.isascii() else text.encode("utf-8", "replace").decode("utf-8")


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """The exception, its causes and contexts, and the members of exception groups."""
    seen: set[int] = set()
    stack: list[BaseException] = [exc]
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        for nxt in (current.__cause__, current.__context__):
            if nxt is not None:
                stack.append(nxt)
        members = getattr(current, "exceptions", ())  # an ExceptionGroup from happy eyeballs
        stack.extend(e for e in members if isinstance(e, BaseException))


def _has_errno(causes: list[BaseException], *codes: int) -> bool:
    return any(isinstance(e, OSError) and e.errno in codes for e in causes)
