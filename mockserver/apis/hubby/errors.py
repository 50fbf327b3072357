"""Hubby's error shape: {"success": false, "message": ..., "errors": [{"field", "message"}]}.

`errors` lists every problem (Joi's abortEarly=false), with `field` a dotted path into the
body ("package_specifications.0.size") or a parameter name. The schema validator's
messages are rewritten in Joi's style ("size must match ^\\d+(\\.\\d+)?(MB|GB)$",
"departure_date is required"); `message` repeats them after "Validation failed: " so a
client that only logs `message` still sees everything.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from ...kernel.errors import ApiError
from ...kernel.spec import Violation

if TYPE_CHECKING:
    from ...kernel.api import Call

KERNEL_VALIDATION_MESSAGE = "the request does not match the API specification"
SUMMARISED = ("Validation failed", "Package not found")  # messages followed by every problem

_ONE_OF = {
    "destination": "must be a country (ISO2 or ISO3) or region code in capitals, or a non-empty list of them",
    "departure_date": "must be a calendar date (2026-07-15) or a date-time with its offset (2026-07-15T14:30:00+02:00)",
    "return_date": "must be a calendar date or a date-time with its offset, or null",
    "size": "must match ^\\d+(\\.\\d+)?(MB|GB)$ (e.g. 500MB, 1GB), or be null",
    "platform": "must be ios or android",
}


def any_of_rule(call: Call | None) -> str | None:
    """The operation's "at least one of" body rule in words, read from its spec (a body-level
    `anyOf` failure is explained with it)."""
    if call is None:
        return None
    spec = getattr(call.model, "spec", None)
    return _any_of_rule(call.op.operation_id, spec) if spec is not None else None


@lru_cache(maxsize=64)
def _any_of_rule(operation_id: str, spec: Any) -> str | None:
    op = spec.operations.get(operation_id)
    media = (op.raw.get("requestBody") or {}).get("content", {}).get("application/json") if op else None
    groups = _any_of_required(media.get("schema") or {}, spec.document) if media else []
    if not groups:
        return None
    return "at least one of " + " or ".join(" and ".join(g) for g in groups) + " is required"


def _any_of_required(schema: dict[str, Any], doc: dict[str, Any], depth: int = 0) -> list[list[str]]:
    while "$ref" in schema and depth < 16:
        node: Any = doc
        for part in schema["$ref"][2:].split("/"):
            node = node[part]
        schema, depth = node, depth + 1
    if "anyOf" in schema and all(isinstance(a, dict) and a.get("required") for a in schema["anyOf"]):
        return [list(a["required"]) for a in schema["anyOf"]]
    for part in schema.get("allOf") or []:
        found = _any_of_required(part, doc, depth + 1)
        if found:
            return found
    return []


def render(err: ApiError, call: Call | None = None) -> dict[str, Any]:
    """The body for `err`; `call` (the request being served, None before routing) names the
    operation whose body rules explain an `anyOf` failure."""
    body: dict[str, Any] = {"success": False, "message": err.message or err.reason}
    if err.violations:
        items = [_item(v, call) for v in err.violations]
        body["errors"] = items
        base = "Validation failed" if err.message == KERNEL_VALIDATION_MESSAGE else err.message
        if base in SUMMARISED:
            parts = [i["message"].removeprefix(f"{base}: ") for i in items]
            body["message"] = f"{base}: " + "; ".join(parts)
    return body


def _item(v: Violation, call: Call | None) -> dict[str, str]:
    field, message = _humanize(v.location, v.message, call)
    return {"field": field, "message": message} if field else {"message": message}


_SECTIONS = ("body", "query", "path", "header")


def _field(location: str) -> str:
    parts = location.split(".", 1)
    rest = parts[1] if parts[0] in _SECTIONS and len(parts) > 1 else ("" if parts[0] in _SECTIONS else location)
    return re.sub(r"\[(\d+)\]", r".\1", rest)


def _leaf(field: str) -> str:
    for part in reversed(field.split(".")):
        if part and not part.isdigit():
            return part
    return field or "value"


def _humanize(location: str, message: str, call: Call | None = None) -> tuple[str, str]:
    field = _field(location)
    if not location.startswith(_SECTIONS):  # already a domain message
        return field, message
    leaf = _leaf(field)
    m = re.match(r'^"(.+)" is a required property$', message)
    if m:
        name = m.group(1)
        return (f"{field}.{name}" if field else name), f"{name} is required"
    if location.startswith("path.") or location.startswith("query.") or location.startswith("header."):
        if message == "required parameter is missing":
            return field, f"{leaf} is required"
    m = re.match(r'^.* does not match "(.*)"$', message)
    if m:
        return field, f"{leaf} must match {m.group(1)}"
    m = re.match(r"^.* is (less|greater) than the (minimum|maximum) of (.+)$", message)
    if m:
        word = "greater" if m.group(2) == "minimum" else "less"
        return field, f"{leaf} must be {word} than or equal to {m.group(3)}"
    m = re.match(r"^.* is (shorter|longer) than (\d+) characters?$", message)
    if m:
        word = "at least" if m.group(1) == "shorter" else "at most"
        return field, f"{leaf} length must be {word} {m.group(2)} characters long"
    m = re.match(r'^.* is not a "(.+)"$', message)
    if m:
        return field, f"{leaf} must be a valid {m.group(1).replace('-', ' ')}"
    m = re.match(r'^.* is not of types? (.+)$', message)
    if m:
        return field, f"{leaf} must be of type {m.group(1).replace(chr(34), '')}"
    m = re.match(r"^.* is not one of (.+)$", message)
    if m:
        return field, f"{leaf} must be one of {m.group(1)}"
    if "has less than" in message or "should be non-empty" in message or "has fewer" in message:
        return field, f"{leaf} must contain at least one item"
    if "anyOf" in message and not field:
        rule = any_of_rule(call)
        if rule is not None:
            return "", rule
    if "oneOf" in message or "anyOf" in message:
        hint = _ONE_OF.get(leaf)
        if hint:
            return field, f"{leaf} {hint}"
    if message.startswith("malformed JSON"):
        return "", f"the body is not valid JSON ({message})"
    return field, (f"{field}: {message}" if field else message)
