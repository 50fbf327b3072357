"""Both directions of one exchange checked against a compiled spec (`kernel.spec`), outside the
fake's own pipeline: the validating proxy uses it on live traffic.

Requests: every parameter and the body, exactly as the fake's pipeline checks them, plus
what a validator lets through silently: query parameters the operation does not declare and
body fields no schema mentions. Responses: documented status, content type, body schema,
undocumented fields, required headers missing and headers the spec never mentions.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from starlette.datastructures import Headers, QueryParams

from ..kernel import undeclared
from ..kernel.spec import NoRoute, Operation, Spec, Violation
from ..kernel.validation import parse_request
from .drift import undocumented_fields

JSON = "application/json"
# headers any HTTP server or intermediary may add; never "drift"
STANDARD_RESPONSE_HEADERS = {
    "date", "server", "content-type", "content-length", "connection", "transfer-encoding", "vary",
    "cache-control", "etag", "keep-alive", "content-encoding", "via", "age", "expires", "last-modified",
    "strict-transport-security", "alt-svc", "x-content-type-options", "x-frame-options", "pragma",
    "set-cookie", "www-authenticate", "allow", "retry-after",
}
STANDARD_REQUEST_HEADERS = {
    "host", "user-agent", "accept", "accept-encoding", "accept-language", "connection", "content-type",
    "content-length", "authorization", "cookie", "transfer-encoding", "traceparent", "tracestate", "te",
    "x-forwarded-for", "x-forwarded-proto", "x-forwarded-host", "x-real-ip", "expect",
}


@dataclass
class Drift:
    direction: str  # request | response | upstream
    kind: str
    detail: str
    operation: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


def match(spec: Spec, method: str, path: str, prefixes: tuple[str, ...] = ("",)) -> tuple[Operation, dict[str, str]] | NoRoute:
    """The operation for a path, trying each prefix the client's base URL may add."""
    last = NoRoute()
    for prefix in prefixes:
        if prefix and not path.startswith(prefix):
            continue
        try:
            return spec.match(method, path[len(prefix) :] or "/")
        except NoRoute as exc:
            if exc.allowed or not last.allowed:
                last = exc
    return last


def request_violations(op: Operation, raw_params: dict[str, str], headers: Headers, raw_query: str, body: bytes) -> tuple[list[Violation], Any]:
    """Parameter and body violations (what the fake answers 400 for); returns (violations, parsed body)."""
    parsed = parse_request(op, raw_params, headers, raw_query, body)
    return parsed.violations, parsed.body


def check_request(spec: Spec, op: Operation, raw_params: dict[str, str], headers: Headers, raw_query: str, body: bytes) -> list[Drift]:
    label = op.operation_id
    found = [Drift("request", "violation", str(v), label) for v in request_violations(op, raw_params, headers, raw_query, body)[0]]
    declared = {(p.location, p.name.lower()) for p in op.parameters}
    for name in dict.fromkeys(QueryParams(raw_query).keys()):
        if ("query", name.lower()) not in declared:
            found.append(Drift("request", "undocumented-query-parameter", f"query parameter `{name}`", label))
    security_headers = _security_headers(spec)
    documented = undeclared.declared_names(spec, op)[1]
    for name in headers.keys():
        low = name.lower()
        if low not in STANDARD_REQUEST_HEADERS and ("header", low) not in declared and low not in security_headers:
            meant = undeclared.looks_like(name, documented) if documented else None
            if meant is not None:
                found.append(Drift("request", "misspelt-header", f"header `{name}` (did you mean `{meant}`?)", label))
            else:
                found.append(Drift("request", "undocumented-header", f"header `{name}`", label))
    if op.takes_body and body.strip():
        schema = op.body_schemas.get(JSON)
        try:
            value = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            value = None
        if schema is not None and value is not None:
            for path in undocumented_fields(value, schema.raw, spec.document):
                found.append(Drift("request", "undocumented-field", f"field `{path}`", label))
    return found


def check_response(spec: Spec, op: Operation, status: int, headers: Headers, body: bytes) -> list[Drift]:
    label = op.operation_id
    documented = op.response(status)
    if documented is None:
        return [Drift("response", "undocumented-status", f"status {status} is not documented", label)]
    found: list[Drift] = []
    for name, definition in documented.headers.items():
        if definition.get("required") and name not in {k.lower() for k in headers.keys()}:
            found.append(Drift("response", "missing-header", f"required header `{name}` is missing", label))
    for name in headers.keys():
        low = name.lower()
        if low not in STANDARD_RESPONSE_HEADERS and low not in documented.headers:
            found.append(Drift("response", "undocumented-header", f"header `{name}`", label))
    if not body:
        return found
    ctype = (headers.get("content-type") or "").split(";")[0].strip().lower()
    if ctype not in documented.schemas:
        if not documented.schemas:
            found.append(Drift("response", "undocumented-body", f"status {status} documents no body", label))
        else:
            found.append(Drift("response", "undocumented-content-type", f"{ctype or 'no content type'} (documented: {', '.join(documented.schemas)})", label))
        return found
    schema = documented.schemas[ctype]
    if schema is None:
        return found
    try:
        value = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        found.append(Drift("response", "violation", "response.body: not valid JSON", label))
        return found
    found += [Drift("response", "violation", str(v), label) for v in schema.errors(value, "response.body")]
    found += [Drift("response", "undocumented-field", f"field `{p}`", label)
              for p in undocumented_fields(value, schema.raw, spec.document, "response.body")]
    return found


def _security_headers(spec: Spec) -> set[str]:
    names = set()
    for scheme in ((spec.document.get("components") or {}).get("securitySchemes") or {}).values():
        if scheme.get("type") == "apiKey" and scheme.get("in") == "header":
            names.add(str(scheme.get("name", "")).lower())
    return names
