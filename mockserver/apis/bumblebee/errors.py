"""The sandbox API's error shape: {"error": <text>, "details": [{"field", "message"}, ...]}.

Every problem found is listed, each with the dotted field it concerns (`url`,
`headers.User-Agent`, `data_types[0]`, `state`) and a sentence a person can act on.
"""

from __future__ import annotations

import re
from typing import Any

from ...kernel.errors import ApiError, BadRequest
from ...kernel.spec import Violation

DATA_TYPES = (
    "battery_level/update",
    "geo_location/create",
    "temperature/create",
    "sensor_value/create",
    "sigfox_message_info/create",
)

_NOT_ALLOWED = re.compile(r' is not allowed for "(?P<name>.*)"$')
_UNEXPECTED = re.compile(r"\((?P<names>.*) (?:was|were) unexpected\)")
_QUOTED = re.compile(r"'([^']*)'")


def render(err: ApiError) -> dict[str, Any]:
    if not err.violations:
        return {"error": err.message}
    details: list[dict[str, str]] = []
    for violation in err.violations:
        details.extend(_details(violation))
    headline = "Invalid request" if err.status == 400 else err.message
    return {"error": headline, "details": details}


def invalid(field: str, message: str) -> BadRequest:
    """A 400 about one field of the request body (rules the schema cannot express)."""
    return BadRequest("Invalid request", violations=[Violation(f"body.{field}", message)])


def _field(location: str) -> str:
    for prefix in ("body.", "query.", "path."):
        if location.startswith(prefix):
            return location[len(prefix) :]
    return location


def _details(v: Violation) -> list[dict[str, str]]:
    """The pipeline reports raw JSON Schema messages; say the common ones in plain words."""
    field, message = _field(v.location), v.message
    if field == "headers" and (m := _NOT_ALLOWED.search(message)):
        name = m.group("name")
        return [
            {"field": f"headers.{name}", "message": f"{name} is set by Bumblebee and cannot be configured"}
        ]
    if field.startswith("headers") and "does not match" in message:
        if field == "headers":
            name = message.split('"')[1] if message.count('"') >= 2 else ""
            return [
                {
                    "field": f"headers.{name}",
                    "message": "a header name must be an HTTP token (letters, digits, -)",
                }
            ]
        return [{"field": field, "message": "a header value must be printable ASCII on one line"}]
    if field == "url" and ("does not match" in message or 'is not a "uri"' in message):
        return [{"field": "url", "message": "url must be an absolute http or https URL"}]
    if re.fullmatch(r"data_types\[\d+\]", field) and "is not one of" in message:
        value = message.split(" is not one of")[0]
        return [{"field": field, "message": f"unknown data type {value}; one of {', '.join(DATA_TYPES)}"}]
    if m := _UNEXPECTED.search(message):
        names = _QUOTED.findall(m.group("names")) or [m.group("names")]
        prefix = "" if field == "body" else f"{field}."
        return [{"field": f"{prefix}{name}", "message": "unknown field"} for name in names]
    return [{"field": field, "message": message}]
