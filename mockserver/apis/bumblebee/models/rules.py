"""Bumblebee's constants, scenario and body schemas, and the checks the mixins share."""

from __future__ import annotations

import string
from datetime import UTC, timedelta, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import jsonschema_rs

from ....kernel.docs import load_yaml_file
from ....kernel.errors import BadRequest
from ....kernel.spec import Violation
from ..errors import DATA_TYPES, invalid

NAME = "bumblebee"
RESERVED_HEADERS = ("content-type", "user-agent", "x-request-id", "content-length", "host")
DEFAULT_TIMEZONE = "Europe/Amsterdam"
DEFAULT_NODE_VERSION = "0.11.0"
EXTERNAL_IO_SINCE = (0, 9)  # nodes older than 0.9 report no external i/o state
ALPHANUM = string.ascii_letters + string.digits
ASSET_KINDS = ("Trailer", "Container", "Forklift", "Generator", "Pallet", "Crane", "Van", "Skip")
CONFIG_NAMES = ("Default tracking", "Motion tracking", "Hourly heartbeat", "Cold chain", "Theft alarm")

SCENARIO_SCHEMA = Path(__file__).resolve().parent.parent / "scenario_schema.yaml"


@lru_cache(maxsize=1)
def _section_schema() -> dict[str, Any]:
    doc = load_yaml_file(SCENARIO_SCHEMA)  # libyaml, and cached as JSON (PyYAML's pure-Python loader: ~30 ms)
    doc.pop("$schema", None)
    return doc


def _definition(name: str) -> dict[str, Any]:
    """One of scenario_schema.yaml's $defs, as a schema of its own."""
    return {"$defs": _section_schema()["$defs"], "$ref": f"#/$defs/{name}"}


SCENARIO = _section_schema()
ASSET_CREATE = _definition("Asset")
ASSET_UPDATE = _definition("AssetChanges")
NODE_CREATE = _definition("Node")
NODE_UPDATE = _definition("NodeChanges")


def check(schema: dict[str, Any], value: Any, where: str = "body") -> None:
    """Raise a 400 listing every way `value` breaks `schema` (a module-level schema dict)."""
    validator = _VALIDATORS.get(id(schema))
    if validator is None:
        validator = _VALIDATORS[id(schema)] = jsonschema_rs.Draft202012Validator(
            schema, validate_formats=True
        )
    found = [
        Violation(
            where + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err.instance_path),
            err.message,
        )
        for err in validator.iter_errors(value)
    ]
    if found:
        raise BadRequest("Invalid request", violations=found)


_VALIDATORS: dict[int, jsonschema_rs.Draft202012Validator] = {}


def version_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


# -- rules ---------------------------------------------------------------------------------
def round_to_5(value: float) -> int:
    """Battery levels are "rounded to 5 percent" (halves round up: 87.5 -> 90)."""
    return min(100, max(0, int(float(value) / 5.0 + 0.5) * 5))


def _zone(name: str) -> Any:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        if name in ("UTC", "Etc/UTC", DEFAULT_TIMEZONE):
            # no tz database on this machine: UTC, or Bumblebee's winter offset
            return UTC if name != DEFAULT_TIMEZONE else timezone(timedelta(hours=1), "CET")
        raise BadRequest(f"unknown timezone {name!r}") from None


def _check_url(url: str) -> None:
    if not url.lower().startswith(("http://", "https://")):
        raise invalid("url", "url must be an absolute http or https URL")


def _check_headers(headers: dict[str, str]) -> dict[str, str]:
    seen: dict[str, str] = {}
    violations = []
    for name in headers:
        lowered = name.lower()
        if lowered in RESERVED_HEADERS:
            violations.append(
                Violation(f"body.headers.{name}", f"{name} is set by Bumblebee and cannot be configured")
            )
        elif lowered in seen:
            violations.append(
                Violation(
                    f"body.headers.{name}", f"{name} repeats {seen[lowered]} (header names ignore case)"
                )
            )
        seen[lowered] = name
    if violations:
        raise BadRequest("Invalid request", violations=violations)
    return {str(k): str(v) for k, v in headers.items()}


def _data_types(values: list[str]) -> list[str]:
    out: list[str] = []
    for i, value in enumerate(values):
        if value not in DATA_TYPES:
            raise invalid(f"data_types[{i}]", f"unknown data type {value!r}; one of {', '.join(DATA_TYPES)}")
        if value not in out:
            out.append(value)
    if not out:
        raise invalid("data_types", "subscribe to at least one data type")
    return out
