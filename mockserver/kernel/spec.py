"""OpenAPI documents, compiled once.

openapi-core walks the whole document on every call (about 3 ms of CPU per request). Here
each operation's parameter, body and response schemas are compiled with jsonschema-rs, so
a request costs a regex match plus a few compiled validations. openapi-core stays the
reference validator in the tests.

Start-up cost: the document's `components` are handed to jsonschema-rs once, as one
resource of a `Registry` (`urn:mockserver:<api>`); each schema's local references are
rewritten to point into it, and each schema compiles on first use (a few hundred
microseconds), so building a server does not pay for operations no test calls.
`Spec.compile_all()` compiles everything at once (the tests use it to prove every schema
compiles).
"""

from __future__ import annotations

import itertools
import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import jsonschema_rs
import orjson

from .. import datafiles
from .docs import load_yaml_file
from .memo import BoundedDict

RESOURCES = datafiles.resources()
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
JSON_TYPES = ("application/json",)


def resource_path(name: str) -> Path:
    return RESOURCES / name


@lru_cache(maxsize=16)
def load_document(path: str) -> dict[str, Any]:
    """A YAML document, parsed once per process (shared: copy it before changing it)."""
    return load_yaml_file(path)


class Components:
    """A document's `components`, registered once with jsonschema-rs; every schema of the
    document references into this one resource instead of carrying its own copy."""

    _ids = itertools.count(1)

    def __init__(self, components: dict[str, Any]) -> None:
        self.components = components
        self.uri = f"urn:mockserver:components:{next(self._ids)}"
        self._registry: Any = None

    @property
    def registry(self) -> Any:
        if self._registry is None:
            self._registry = jsonschema_rs.Registry([(self.uri, {"components": self.components})])
        return self._registry

    def compile(self, schema: dict[str, Any]) -> Any:
        return jsonschema_rs.Draft202012Validator(
            _rebase_refs(schema, self.uri), validate_formats=True, registry=self.registry
        )


def _rebase_refs(value: Any, uri: str) -> Any:
    """A copy of `value` whose local `$ref`s ("#/components/...") point into `uri`."""
    if isinstance(value, dict):
        out = {k: _rebase_refs(v, uri) for k, v in value.items()}
        ref = value.get("$ref")
        if isinstance(ref, str) and ref.startswith("#"):
            out["$ref"] = uri + ref
        return out
    if isinstance(value, list):
        return [_rebase_refs(v, uri) for v in value]
    return value


@dataclass
class Violation:
    """One way a request or response breaks its contract."""

    location: str  # "query.limit", "body.devices[0].name", "header.Continuation-Token", "response"
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"location": self.location, "message": self.message}

    def __str__(self) -> str:
        return f"{self.location}: {self.message}"


class Schema:
    """A compiled JSON Schema plus what parameter coercion needs to know about it."""

    def __init__(self, schema: dict[str, Any], components: dict[str, Any] | Components) -> None:
        if not isinstance(components, Components):
            components = Components(components)
        self.raw = schema
        self.resolved = _resolve(schema, components.components)
        self._components = components
        self._validator: Any = None

    @property
    def validator(self) -> Any:
        """The compiled validator, built on first use."""
        if self._validator is None:
            self._validator = self._components.compile(self.raw)
        return self._validator

    def errors(self, value: Any, location: str) -> list[Violation]:
        if self.validator.is_valid(value):  # the common case, without building error objects
            return []
        out = []
        for err in self.validator.iter_errors(value):
            where = location + "".join(
                f"[{p}]" if isinstance(p, int) else f".{p}" for p in err.instance_path
            )
            out.append(Violation(where, err.message))
        return out

    @property
    def types(self) -> set[str]:
        return _types(self.resolved)

    @property
    def item_types(self) -> set[str]:
        return _types(self.resolved.get("items") or {})


@dataclass
class Parameter:
    name: str
    location: str  # path | query | header | cookie
    required: bool
    schema: Schema
    explode: bool = True

    @property
    def is_array(self) -> bool:
        return "array" in self.schema.types

    def coerce(self, raw: str | list[str]) -> Any:
        if self.is_array:
            values = raw if isinstance(raw, list) else [raw]
            if not self.explode and len(values) == 1:
                values = values[0].split(",")
            items = self.schema.item_types
            return [_coerce_scalar(v, items) for v in values]
        if isinstance(raw, list):
            raw = raw[-1]
        return _coerce_scalar(raw, self.schema.types)


def _types(schema: dict[str, Any]) -> set[str]:
    t = schema.get("type")
    if isinstance(t, list):
        return set(t)
    return {t} if isinstance(t, str) else set()


_INT = re.compile(r"^-?\d+$")


def _coerce_scalar(value: str, types: set[str]) -> Any:
    if "integer" in types and _INT.match(value):
        return int(value)
    if "number" in types:
        try:
            return float(value) if not _INT.match(value) else int(value)
        except ValueError:
            pass
    if "boolean" in types and value in ("true", "false"):
        return value == "true"
    if "null" in types and value == "null":
        return None
    return value


@dataclass
class Response:
    status: str
    schemas: dict[str, Schema | None]  # content type -> compiled schema (None: not JSON)
    headers: dict[str, Any]


@dataclass
class Operation:
    api: str
    operation_id: str
    method: str
    path: str  # the template, e.g. /api/org/{org_id}/devices
    regex: re.Pattern[str]
    parameters: list[Parameter]
    body_required: bool
    body_schemas: dict[str, Schema]
    responses: dict[str, Response]
    security: list[dict[str, list[str]]]
    raw: dict[str, Any] = field(repr=False)
    _by_status: dict[int, Response | None] = field(default_factory=dict, init=False, repr=False, compare=False)

    def ext(self, name: str, default: Any = None) -> Any:
        """An `x-...` extension of the operation."""
        return self.raw.get(name, default)

    @property
    def takes_body(self) -> bool:
        return bool(self.body_schemas)

    def response(self, status: int) -> Response | None:
        """The documented response for a status: exact, then its class (`2XX`), then
        `default`. The spec is read-only, so each status is looked up once."""
        try:
            return self._by_status[status]
        except KeyError:
            pass
        key = str(status)
        found = self.responses.get(key) or self.responses.get(f"{key[0]}XX") or self.responses.get("default")
        self._by_status[status] = found
        return found


class NoRoute(Exception):
    """No operation matches the path (404) or the method (405, with the allowed list)."""

    def __init__(self, allowed: list[str] | None = None) -> None:
        super().__init__("no route")
        self.allowed = allowed or []


MATCH_MEMO = 4096  # (method, path) -> route, remembered per Spec
MATCH_MEMO_PATH = 1024  # longer paths are matched each time (the memo stays small)


class Spec:
    """One API's document: operations compiled and indexed for matching."""

    def __init__(self, api: str, document: dict[str, Any]) -> None:
        self.api = api
        self.document = document
        self.components = document.get("components", {})
        self._registered = Components(self.components)
        self.operations: dict[str, Operation] = {}
        self._routes: list[tuple[re.Pattern[str], dict[str, Operation], str]] = []
        self._matched: BoundedDict[tuple[str, str], tuple[Operation, dict[str, str]]] = BoundedDict(MATCH_MEMO)  # see match()
        default_security = document.get("security", [])
        for path, item in (document.get("paths") or {}).items():
            regex = _path_regex(path)
            by_method: dict[str, Operation] = {}
            shared = item.get("parameters", [])
            for method in METHODS:
                if method not in item:
                    continue
                op = self._compile(path, regex, method, item[method], shared, default_security)
                by_method[method.upper()] = op
                self.operations[op.operation_id] = op
            self._routes.append((regex, by_method, path))
        # literal segments win over templated ones: /packets/decode before /packets/{id}
        self._routes.sort(key=lambda r: (-_literal_weight(r[2]), r[2]))

    @classmethod
    def from_resource(cls, api: str, name: str) -> Spec:
        """One compiled Spec per document and process: a Spec is read-only once built, so
        every server in a process (test fixtures start several) shares it."""
        return _compiled_resource(api, name)

    def schema(self, schema: dict[str, Any]) -> Schema:
        return Schema(schema, self._registered)

    def compile_all(self) -> int:
        """Compile every operation's schemas now (raises on the first that does not compile);
        returns how many."""
        count = 0
        for op in self.operations.values():
            schemas = [p.schema for p in op.parameters] + list(op.body_schemas.values())
            schemas += [s for r in op.responses.values() for s in r.schemas.values() if s is not None]
            for schema in schemas:
                _ = schema.validator
                count += 1
        return count

    def component_schema(self, name: str) -> Schema:
        return self.schema({"$ref": f"#/components/schemas/{name}"})

    def match(self, method: str, path: str) -> tuple[Operation, dict[str, str]]:
        """The operation and path parameters for a request. Matching is a pure function of
        (method, path) on a read-only Spec, so found routes are remembered (bounded, short
        paths only): a repeated path costs a dict lookup instead of a walk over the routes."""
        key = (method, path)
        hit = self._matched.get(key)
        if hit is not None:
            return hit[0], dict(hit[1])
        op, params = self._match(method, path)
        if len(path) <= MATCH_MEMO_PATH:
            self._matched.put(key, (op, params))
            params = dict(params)
        return op, params

    def _match(self, method: str, path: str) -> tuple[Operation, dict[str, str]]:
        allowed: list[str] = []
        for regex, by_method, _ in self._routes:
            m = regex.match(path)
            if m is None:
                continue
            op = by_method.get(method.upper())
            if op is not None:
                return op, m.groupdict()
            allowed.extend(by_method)
        raise NoRoute(sorted(set(allowed)))

    def _deref(self, obj: dict[str, Any]) -> dict[str, Any]:
        while isinstance(obj, dict) and "$ref" in obj:
            obj = _pointer(self.document, obj["$ref"])
        return obj

    def _compile(
        self,
        path: str,
        regex: re.Pattern[str],
        method: str,
        raw: dict[str, Any],
        shared: list[dict[str, Any]],
        default_security: list[dict[str, list[str]]],
    ) -> Operation:
        params: dict[tuple[str, str], Parameter] = {}
        for p in [*shared, *raw.get("parameters", [])]:
            p = self._deref(p)
            style_explode = p.get("explode", p.get("style", "form") == "form")
            params[(p["in"], p["name"])] = Parameter(
                name=p["name"],
                location=p["in"],
                required=bool(p.get("required", p["in"] == "path")),
                schema=self.schema(p.get("schema", {})),
                explode=style_explode,
            )
        body_required = False
        body_schemas: dict[str, Schema] = {}
        if "requestBody" in raw:
            rb = self._deref(raw["requestBody"])
            body_required = bool(rb.get("required", False))
            for ctype, media in (rb.get("content") or {}).items():
                body_schemas[ctype] = self.schema(media.get("schema", {}))
        responses: dict[str, Response] = {}
        for status, resp in (raw.get("responses") or {}).items():
            resp = self._deref(resp)
            schemas: dict[str, Schema | None] = {}
            for ctype, media in (resp.get("content") or {}).items():
                is_json = ctype in JSON_TYPES or ctype.endswith("+json")
                schemas[ctype] = self.schema(media["schema"]) if is_json and "schema" in media else None
            headers = {k.lower(): self._deref(v) for k, v in (resp.get("headers") or {}).items()}
            responses[str(status)] = Response(str(status), schemas, headers)
        return Operation(
            api=self.api,
            operation_id=raw.get("operationId") or f"{method} {path}",
            method=method.upper(),
            path=path,
            regex=regex,
            parameters=list(params.values()),
            body_required=body_required,
            body_schemas=body_schemas,
            responses=responses,
            security=raw.get("security", default_security),
            raw=raw,
        )


@lru_cache(maxsize=16)
def _compiled_resource(api: str, name: str) -> Spec:
    return Spec(api, load_document(str(resource_path(name))))


def _path_regex(template: str) -> re.Pattern[str]:
    out, pos = "", 0
    for m in re.finditer(r"\{([^}]+)\}", template):
        out += re.escape(template[pos : m.start()]) + f"(?P<{m.group(1)}>[^/]+)"
        pos = m.end()
    out += re.escape(template[pos:])
    return re.compile(f"^{out}/?$")


def _literal_weight(template: str) -> int:
    return sum(1 for seg in template.split("/") if seg and not seg.startswith("{"))


def _pointer(document: dict[str, Any], ref: str) -> Any:
    if not ref.startswith("#/"):
        raise ValueError(f"only local references are supported: {ref}")
    node: Any = document
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def _resolve(schema: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    """Follow a top-level $ref chain (enough to read `type` and `items` for coercion)."""
    doc = {"components": components}
    seen = 0
    while isinstance(schema, dict) and "$ref" in schema and seen < 32:
        schema = _pointer(doc, schema["$ref"])
        seen += 1
    if isinstance(schema, dict) and isinstance(schema.get("items"), dict) and "$ref" in schema["items"]:
        schema = {**schema, "items": _resolve(schema["items"], components)}
    return schema if isinstance(schema, dict) else {}


def dumps(value: Any) -> bytes:
    """Compact UTF-8 JSON. orjson is several times faster than json on the hot path; the
    standard library takes what orjson refuses (integers beyond 64 bits, which a client
    may legitimately send where a schema sets no maximum)."""
    try:
        return orjson.dumps(value)
    except TypeError:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()
