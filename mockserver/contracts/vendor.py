"""Requests checked against a vendor's own OpenAPI document with openapi-core.

The fake validates against the project's contract (which also serves what the official SDK
really sends); this answers a different question: does a request match what the *vendor*
documents? openapi-core is the reference validator here; the project's compiled spec
(`kernel.spec`) only finds the operation and its declared parameters, and reports what
openapi-core accepts silently: query parameters and headers the document never mentions.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from ..kernel.spec import NoRoute, Spec
from .drift import undocumented_fields
from .schema import read_document

STANDARD_HEADERS = {
    "host", "user-agent", "accept", "accept-encoding", "accept-language", "connection", "content-type",
    "content-length", "authorization", "cookie", "transfer-encoding", "x-request-id", "traceparent",
}


@dataclass(frozen=True)
class Finding:
    method: str
    path: str  # the vendor's path template when the path is known, else the path as sent
    operation_id: str | None
    kind: str  # undocumented-operation | undocumented-path | body | parameter | query | header | security
    detail: str

    def as_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


class VendorDocument:
    def __init__(self, path: str, mount: str = "") -> None:
        from openapi_core import OpenAPI

        self.path = path
        self.mount = mount.rstrip("/")
        self.document = read_document(path)
        servers = self.document.get("servers") or [{"url": "http://localhost"}]
        self.server = str(servers[0].get("url", "http://localhost")).rstrip("/")
        self.server_path = urlsplit(self.server).path.rstrip("/")
        self.openapi = OpenAPI.from_dict(self.document)
        self.spec = Spec("vendor", self.document)

    def check(
        self, method: str, path: str, query: str = "", headers: dict[str, str] | None = None, body: bytes | str | None = None
    ) -> list[Finding]:
        from openapi_core.testing import MockRequest

        headers = {k: v for k, v in (headers or {}).items()}
        if self.mount and path.startswith(self.mount):
            path = path[len(self.mount) :]
        local = path[len(self.server_path) :] if self.server_path and path.startswith(self.server_path) else path
        method = method.upper()
        try:
            op, params = self.spec.match(method, local)
        except NoRoute as exc:
            if exc.allowed:
                return [Finding(method, _template(self.spec, local), None, "undocumented-operation",
                                f"{method} is not documented on this path (the document has {', '.join(exc.allowed)})")]
            return [Finding(method, path, None, "undocumented-path", "the path is not in the document")]
        findings: list[Finding] = []

        def add(kind: str, detail: str) -> None:
            findings.append(Finding(method, op.path, op.operation_id, kind, detail))

        declared = {(p.location, p.name.lower()) for p in op.parameters}
        pairs = parse_qsl(query, keep_blank_values=True)
        for name in dict.fromkeys(n for n, _ in pairs):
            if ("query", name.lower()) not in declared:
                add("query", f"query parameter `{name}` is not in the document")
        for name in headers:
            low = name.lower()
            if low not in STANDARD_HEADERS and ("header", low) not in declared:
                add("header", f"header `{name}` is not in the document")
        raw = body.encode() if isinstance(body, str) else (body or b"")
        args: dict[str, Any] = {}
        for name, value in pairs:
            args.setdefault(name, value)
        request = MockRequest(
            self.server, method.lower(), self.server_path + local, args=args, headers=headers, data=raw,
            content_type=headers.get("content-type") or headers.get("Content-Type") or "application/json",
        )
        for error in self.openapi.iter_request_errors(request):
            kind, details = _describe(error)
            for detail in details:
                add(kind, detail)
        for path in self._undocumented_body_fields(op, raw, headers):
            add("body-field", f"body field `{path}` is not in the document")
        return findings

    def _undocumented_body_fields(self, op: Any, raw: bytes, headers: dict[str, str]) -> list[str]:
        if not raw.strip():
            return []
        try:
            value = json.loads(raw)
        except ValueError:
            return []
        body = op.raw.get("requestBody") or {}
        while isinstance(body, dict) and "$ref" in body:
            body = _pointer(self.document, body["$ref"])
        content = (body or {}).get("content") or {}
        media: dict[str, Any] = content.get("application/json") or next(iter(content.values()), {})
        schema = (media or {}).get("schema")
        if schema is None:
            return []
        return list(dict.fromkeys(re.sub(r"\[\d+\]", "[]", p) for p in undocumented_fields(value, schema, self.document)))


def _pointer(document: dict[str, Any], ref: str) -> Any:
    node: Any = document
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def _template(spec: Spec, path: str) -> str:
    for regex, _by_method, template in spec._routes:
        if regex.match(path):
            return template
    return path


def _describe(error: Exception) -> tuple[str, list[str]]:
    name = type(error).__name__
    if "Security" in name:
        return "security", [str(error).replace("SecurityValidationError: ", "")]
    kind = "body" if "Body" in name else "parameter"
    cause = error.__cause__
    schema_errors = list(getattr(cause, "schema_errors", None) or getattr(error, "schema_errors", None) or [])
    if schema_errors:
        out = []
        for err in schema_errors:
            where = ".".join(str(p) for p in getattr(err, "absolute_path", []) or [])
            prefix = "body" if kind == "body" else getattr(error, "name", "parameter")
            out.append(f"{prefix}{'.' + where if where else ''}: {_short(getattr(err, 'message', str(err)))}")
        return kind, out
    text = str(error)
    if cause is not None and str(cause) and str(cause) not in text:
        text = f"{text}: {cause}"
    return kind, [_short(text)]


def _short(text: str, limit: int = 240) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def check_entries(document: VendorDocument, entries: list[dict[str, Any]]) -> list[tuple[dict[str, Any], list[Finding]]]:
    """Journal entries (from /_mock/requests) -> their findings against the vendor document."""
    out = []
    for entry in entries:
        request = entry.get("request") or {}
        body = request.get("body")
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
        out.append((entry, document.check(
            entry.get("method", "GET"), entry.get("path", "/"), entry.get("query", ""),
            request.get("headers") or {}, body,
        )))
    return out
