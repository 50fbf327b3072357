"""What a request carries that its operation does not declare: unknown query parameters and
headers that look like a misspelt documented one.

The real APIs ignore both and answer, so the fake answers too; but a client that sends
`start_time` instead of `start` gets the default window and never notices. These findings
are recorded as violations (journal, `mockserver contracts client`, the proxy's drift log)
without changing the answer.
"""

from __future__ import annotations

import difflib
from functools import lru_cache

from starlette.datastructures import Headers, QueryParams

from .spec import Operation, Spec, Violation

SIMILAR = 0.85  # difflib ratio from which a header name "looks like" a documented one
# names any client or intermediary sends, and the fake's own: never a misspelling
COMMON_HEADERS = frozenset({
    "host", "user-agent", "accept", "accept-encoding", "accept-language", "connection", "content-type",
    "content-length", "authorization", "cookie", "transfer-encoding", "traceparent", "tracestate", "te",
    "x-forwarded-for", "x-forwarded-proto", "x-forwarded-host", "x-real-ip", "expect", "x-request-id",
    "x-mock-fault", "cache-control", "pragma", "origin", "referer", "if-none-match", "if-modified-since",
})


def declared_names(spec: Spec, op: Operation) -> tuple[frozenset[str], frozenset[str]]:
    """(query parameter names, documented header names in lower case) of an operation."""
    query, headers, _ = _declared(spec, op.operation_id)
    return query, headers


@lru_cache(maxsize=4096)
def _declared(spec: Spec, operation_id: str) -> tuple[frozenset[str], frozenset[str], frozenset[bytes]]:
    op = spec.operations[operation_id]
    query = frozenset(p.name for p in op.parameters if p.location == "query")
    headers = {p.name.lower() for p in op.parameters if p.location == "header"}
    schemes = (spec.document.get("components") or {}).get("securitySchemes") or {}
    for scheme in schemes.values():
        if scheme.get("type") == "apiKey" and scheme.get("in") == "header":
            headers.add(str(scheme.get("name", "")).lower())
        if scheme.get("type") == "http":
            headers.add("authorization")
    known = frozenset(name.encode("latin-1") for name in headers | COMMON_HEADERS)
    return query, frozenset(headers), known


def _normal(name: str) -> str:
    return name.lower().replace("_", "-").strip()


@lru_cache(maxsize=4096)
def looks_like(name: str, documented: frozenset[str]) -> str | None:
    """The documented header a request header's name looks like a misspelling of, if any."""
    low = name.lower()
    if low in documented or low in COMMON_HEADERS:
        return None
    normal = _normal(name)
    best, score = None, 0.0
    for known in sorted(documented):
        if _normal(known) == normal:
            return known
        ratio = difflib.SequenceMatcher(None, normal, _normal(known)).ratio()
        if ratio > score:
            best, score = known, ratio
    return best if score >= SIMILAR else None


def find(spec: Spec, op: Operation, headers: Headers, raw_query: str) -> list[Violation]:
    """Runs on every request: the common case (nothing unknown) is a few set lookups."""
    query_names, header_names, known = _declared(spec, op.operation_id)
    out: list[Violation] = []
    if raw_query:
        names = [part.partition("=")[0] for part in raw_query.split("&") if part]
        if any(name not in query_names for name in names):
            for name in dict.fromkeys(QueryParams(raw_query).keys()):
                if name not in query_names:
                    listed = ", ".join(sorted(query_names)) or "none"
                    out.append(Violation(
                        f"query.{name}",
                        f"unknown query parameter, not in the spec (ignored by the API; {op.operation_id} takes: {listed})",
                    ))
    if header_names:
        for raw_name, _value in headers.raw:
            if raw_name in known:
                continue
            name = raw_name.decode("latin-1")
            meant = looks_like(name, header_names)
            if meant is not None:
                out.append(Violation(
                    f"header.{name}",
                    f"unknown header, not in the spec (ignored by the API); did you mean `{meant}`?",
                ))
    return out
