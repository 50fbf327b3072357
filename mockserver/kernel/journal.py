"""The request journal: what every API request was, what it got, and what was wrong with it.

Bounded twice: a ring of the newest entries (unlike WireMock's unbounded journal that grew
to gigabytes under load) and a byte budget, so clients sending huge headers or bodies cannot
grow memory either. Each entry keeps excerpts: header values, the header block, bodies, the
path and the query are cut at fixed sizes, and an entry that was cut lists what in
`truncated`. Violations are kept in a second, smaller ring so a long run of valid traffic
cannot push them out before `mockserver contracts client` reads them.

The pipeline records raw values (the ASGI header list, body bytes) and the journal renders
them to text only when someone reads it: the hot path pays for a few length sums, not for
decoding every header of every request.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Iterator
from typing import Any

HEADER_VALUE_LIMIT = 1024  # characters kept of one header value
HEADERS_LIMIT = 8192  # bytes kept of a request's header block (names and values)
BODY_LIMIT = 2000  # bytes kept of a request or response body
TEXT_LIMIT = 4096  # characters kept of the path and of the query string
ENTRY_OVERHEAD = 600  # bytes an entry costs beyond its variable parts (dicts, numbers)
DEFAULT_MAX_BYTES = 16 * 1024 * 1024
DEFAULT_VIOLATION_MAX_BYTES = 8 * 1024 * 1024

RawHeaders = list[tuple[bytes, bytes]]
_BINARY = (bytes, bytearray, memoryview)


class Journal:
    def __init__(
        self,
        limit: int = 2000,
        violation_limit: int = 2000,
        max_bytes: int = DEFAULT_MAX_BYTES,
        violation_max_bytes: int = DEFAULT_VIOLATION_MAX_BYTES,
    ) -> None:
        self._entries: deque[dict[str, Any]] = deque()
        self._violations: deque[dict[str, Any]] = deque()
        self.limit, self.violation_limit = limit, violation_limit
        self.max_bytes, self.violation_max_bytes = max_bytes, violation_max_bytes
        self.bytes = 0  # the estimated size of the entries held (both rings, each entry once)
        self._ring_bytes = 0
        self._violation_bytes = 0
        self._seq = itertools.count(1)
        self.total = 0

    def record(self, entry: dict[str, Any]) -> dict[str, Any]:
        """Keep one entry. `entry["request"]["headers"]` may be the raw ASGI header list and
        the bodies raw bytes; both are cut to their limits here."""
        truncated: list[str] = []
        entry["seq"] = next(self._seq)
        size = ENTRY_OVERHEAD
        for key in ("path", "query"):
            text = entry.get(key)
            if text:
                if isinstance(text, str) and len(text) > TEXT_LIMIT:
                    text = entry[key] = text[:TEXT_LIMIT]
                    truncated.append(key)
                size += len(text)
        request = entry.get("request")
        if request is not None:
            headers = request.get("headers")
            if isinstance(headers, list):
                request["headers"], cut, n = _cap_headers(headers)
                size += n
                if cut:
                    truncated.append("request.headers")
            body = request.get("body")
            if type(body) is bytes and len(body) <= BODY_LIMIT:  # the common case: kept whole
                size += len(body)
            else:
                size += _cap_body(request, "request.body", truncated)
        response = entry.get("response")
        if response is not None:
            headers = response.get("headers")
            if headers:  # names and values as text (a value may be a number)
                size += sum(map(len, headers)) + sum(map(len, map(str, headers.values())))
            body = response.get("body")
            if type(body) is bytes and len(body) <= BODY_LIMIT:
                size += len(body)
            else:
                size += _cap_body(response, "response.body", truncated)
        flagged = False
        for key in ("violations", "response_violations"):
            found = entry.get(key)
            if found:
                flagged = True
                for v in found:
                    size += 64 + len(v.get("location", "")) + len(v.get("message", ""))
        if "error" in entry:
            size += len(entry["error"])
        if "debug" in entry:
            size += len(repr(entry["debug"]))
        if truncated:
            entry["truncated"] = truncated
        entry["_bytes"] = size
        self.total += 1
        self._entries.append(entry)
        self._ring_bytes += size
        self.bytes += size  # counted once while either ring holds it (`_rings`: how many do)
        if flagged:
            entry["_rings"] = 2
            self._violations.append(entry)
            self._violation_bytes += size
        self._trim()
        return entry

    def _released(self, entry: dict[str, Any]) -> None:
        """One ring let go of the entry: its bytes leave the count with the last ring."""
        rings = entry.get("_rings", 1) - 1
        if rings:
            entry["_rings"] = rings
        else:
            self.bytes -= entry["_bytes"]

    def _trim(self) -> None:
        entries, violations = self._entries, self._violations
        while len(entries) > self.limit or (self._ring_bytes > self.max_bytes and len(entries) > 1):
            old = entries.popleft()
            self._ring_bytes -= old["_bytes"]
            self._released(old)
        while len(violations) > self.violation_limit or (self._violation_bytes > self.violation_max_bytes and len(violations) > 1):
            old = violations.popleft()
            self._violation_bytes -= old["_bytes"]
            self._released(old)

    def clear(self) -> None:
        self._entries.clear()
        self._violations.clear()
        self.bytes = self._ring_bytes = self._violation_bytes = 0

    def __len__(self) -> int:
        return len(self._entries)

    def _matching(
        self,
        *,
        api: str | None = None,
        method: str | None = None,
        path: str | None = None,
        operation_id: str | None = None,
        status: int | None = None,
        violations: bool = False,
    ) -> Iterator[dict[str, Any]]:
        """Stored entries, newest first, that pass the filters (`path` is a prefix)."""
        source = self._violations if violations else self._entries
        wanted_method = method.upper() if method else None
        for entry in reversed(source):
            if api and entry.get("api") != api:
                continue
            if wanted_method and entry.get("method") != wanted_method:
                continue
            if path and not entry.get("path", "").startswith(path):
                continue
            if operation_id and entry.get("operation_id") != operation_id:
                continue
            if status is not None and entry.get("status") != status:
                continue
            yield entry

    def entries(self, *, limit: int | None = None, **filters: Any) -> list[dict[str, Any]]:
        """Newest first, rendered as JSON-able dicts (copies: a reader cannot change the
        journal). Filters: api, method, path (a prefix), operation_id, status, violations."""
        return [_render(entry) for entry in itertools.islice(self._matching(**filters), limit)]

    def count(self, **filters: Any) -> int:
        """How many retained entries pass the filters (nothing is rendered)."""
        return sum(1 for _ in self._matching(**filters))


class _Excerpt:
    """The first BODY_LIMIT bytes of a longer body, and how long it was."""

    __slots__ = ("head", "total")

    def __init__(self, head: bytes, total: int) -> None:
        self.head, self.total = head, total


def _cap_body(part: dict[str, Any], name: str, truncated: list[str]) -> int:
    body = part.get("body")
    if type(body) is bytes and len(body) <= BODY_LIMIT:  # the common case: kept whole
        return len(body)
    if isinstance(body, _BINARY):
        total = len(body)
        if total > BODY_LIMIT:
            part["body"] = _Excerpt(bytes(body[:BODY_LIMIT]), total)
            truncated.append(name)
        elif not isinstance(body, bytes):
            part["body"] = bytes(body)
        return min(total, BODY_LIMIT)
    if isinstance(body, str):
        if len(body) > BODY_LIMIT:
            part["body"] = body[:BODY_LIMIT] + "..."
            truncated.append(name)
        return len(part["body"])
    return 0


def _cap_headers(raw: RawHeaders) -> tuple[RawHeaders, bool, int]:
    """The raw header list itself when it is within the limits (nothing is copied), else a
    cut copy; plus whether it was cut and the bytes kept."""
    size = 0
    for name, value in raw:
        size += len(name) + len(value)
        if len(value) > HEADER_VALUE_LIMIT:
            break
    else:
        if size <= HEADERS_LIMIT:
            return raw, False, size
    kept: RawHeaders = []
    size = 0
    for name, value in raw:
        name, value = name[:256], value[:HEADER_VALUE_LIMIT]
        if size + len(name) + len(value) > HEADERS_LIMIT:
            break
        kept.append((name, value))
        size += len(name) + len(value)
    return kept, True, size


def _render_headers(raw: RawHeaders | dict[str, str]) -> dict[str, str]:
    if isinstance(raw, dict):
        return dict(raw)
    out: dict[str, str] = {}
    for name, value in raw:  # the first of repeated headers, as starlette's Headers reads them
        out.setdefault(name.decode("latin-1").lower(), value.decode("latin-1"))
    return out


def _render_body(body: Any) -> Any:
    if isinstance(body, _Excerpt):
        return body.head.decode("utf-8", errors="replace") + "..."
    if isinstance(body, bytes):
        return body.decode("utf-8", errors="replace")
    return body


def _render(entry: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in entry.items() if not k.startswith("_")}
    for part in ("request", "response"):
        raw = entry.get(part)
        if raw is None:
            continue
        rendered = dict(raw)
        if "headers" in raw:
            rendered["headers"] = _render_headers(raw["headers"])
        if "body" in raw:
            rendered["body"] = _render_body(raw["body"])
        out[part] = rendered
    return out
