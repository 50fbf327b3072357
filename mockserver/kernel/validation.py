"""Reading a request against its operation: the one place parameters are coerced, bodies
parsed and both validated. The API pipeline, the validating proxy and the control plane
(strict JSON) all use it, so they can never disagree about what is valid."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

from starlette.datastructures import Headers, QueryParams

from . import jsonguard
from .memo import BoundedDict
from .spec import Operation, Violation

JSON = "application/json"
MAX_INT_DIGITS = 300  # beyond this an integer no longer converts to a float: out of range


class BadJson(ValueError):
    pass


def loads_strict(raw: bytes | str) -> Any:
    """JSON as RFC 8259 has it: no NaN or Infinity, no numbers out of float range, and deep
    nesting refused instead of exhausting the interpreter's recursion limit; `jsonguard`
    then refuses lone surrogates and nesting deeper than its limit, naming the field."""
    try:
        value = json.loads(raw, parse_constant=_no_constant, parse_float=_finite_float, parse_int=_bounded_int)
        jsonguard.check(raw, value)
    except RecursionError:
        raise BadJson(f"nested too deeply (more than {jsonguard.MAX_JSON_DEPTH} levels)") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadJson(str(exc)) from exc
    return value


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise ValueError(f"number {text[:40]}... is out of range")
    return int(text)


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e999 parses to infinity
        raise ValueError(f"number {text[:40]} is out of range")
    return value


@dataclass
class ParsedRequest:
    """Coerced parameters (only those present) and the parsed body."""

    path_params: dict[str, Any] = field(default_factory=dict)
    query: dict[str, Any] = field(default_factory=dict)
    body: Any = None
    violations: list[Violation] = field(default_factory=list)


def parse_request(op: Operation, raw_params: dict[str, str], headers: Headers, raw_query: str, raw_body: bytes) -> ParsedRequest:
    names = _header_names(op)
    header_values = tuple([headers.get(name) for name in names]) if names else ()
    key = _params_key(op, raw_params, raw_query, header_values)
    cached = _PARAMS.get(key) if key is not None else None
    if cached is not None and cached[0] is op:
        _, path_params, query, violations, has_lists = cached
        # copies: a handler may change what it was given (a list value too)
        query = {k: list(v) if isinstance(v, list) else v for k, v in query.items()} if has_lists else dict(query)
        out = ParsedRequest(dict(path_params), query, None, list(violations))
    else:
        out = _parse_params(op, raw_params, headers, raw_query)
        if key is not None:
            has_lists = any(isinstance(v, list) for v in out.query.values())
            _PARAMS.put(key, (op, dict(out.path_params), dict(out.query), tuple(out.violations), has_lists))
    if op.takes_body:
        out.violations.extend(_parse_body(op, headers, raw_body, out))
    return out


def _parse_params(op: Operation, raw_params: dict[str, str], headers: Headers, raw_query: str) -> ParsedRequest:
    out = ParsedRequest(path_params=dict(raw_params))
    query = QueryParams(raw_query)
    for param in op.parameters:
        raw: str | list[str] | None
        if param.location == "path":
            raw = raw_params.get(param.name)
        elif param.location == "query":
            values = query.getlist(param.name)
            raw = values if (values and param.is_array) else (values[-1] if values else None)
        elif param.location == "header":
            raw = headers.get(param.name)
        else:
            continue
        where = f"{param.location}.{param.name}"
        if raw is None:
            if param.required:
                out.violations.append(Violation(where, "required parameter is missing"))
            continue
        value = param.coerce(raw)
        out.violations.extend(param.schema.errors(value, where))
        if param.location == "path":
            out.path_params[param.name] = value
        elif param.location == "query":
            out.query[param.name] = value
    return out


# Coerced and validated parameters by (operation, path values, query string, values of the
# operation's header parameters): parameter checking is a pure function of those, so a
# repeated request is checked once. Only short keys are kept.
_PARAMS: BoundedDict[tuple, tuple] = BoundedDict(4096)
PARAMS_KEY_CHARS = 2048
_HEADER_NAMES: dict[int, tuple[Operation, tuple[str, ...]]] = {}


def _header_names(op: Operation) -> tuple[str, ...]:
    """The operation's header parameters (the part of the headers its parameters read)."""
    known = _HEADER_NAMES.get(id(op))
    if known is None or known[0] is not op:
        known = _HEADER_NAMES[id(op)] = (op, tuple(p.name for p in op.parameters if p.location == "header"))
    return known[1]


def _params_key(op: Operation, raw_params: dict[str, str], raw_query: str, header_values: tuple) -> tuple | None:
    size = len(raw_query)
    for value in raw_params.values():
        size += len(value)
    for value in header_values:
        if value is not None:
            size += len(value)
    if size > PARAMS_KEY_CHARS:
        return None
    return (id(op), tuple(raw_params.values()), raw_query, header_values)


def _parse_body(op: Operation, headers: Headers, raw_body: bytes, out: ParsedRequest) -> list[Violation]:
    if not raw_body.strip():
        return [Violation("body", "a request body is required")] if op.body_required else []
    ctype = (headers.get("content-type") or "").split(";")[0].strip().lower()
    schema = op.body_schemas.get(ctype)
    if schema is None:
        json_schema = op.body_schemas.get(JSON)
        if json_schema is not None and (ctype in ("", JSON) or ctype.endswith("+json")):
            schema = json_schema
        else:
            return [Violation("header.Content-Type", f"expected one of {sorted(op.body_schemas)}, got {ctype or 'nothing'}")]
    try:
        out.body = loads_strict(raw_body)
    except BadJson as exc:
        return [Violation("body", f"malformed JSON: {exc}")]
    return schema.errors(out.body, "body")
