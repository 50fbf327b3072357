"""Small helpers the Hubble model modules share."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ....kernel.errors import BadRequest, NotFound
from ....kernel.pagination import InvalidToken, TokenCodec

DAY = 86400
HOUR = 3600

# What a Continuation-Token may carry (the codec refuses anything else as malformed).
_BETWEEN = {"oneOf": [{"type": "null"}, {"type": "array", "prefixItems": [{"type": "integer"}] * 2, "minItems": 2, "maxItems": 2}]}
DEVICE_TOKEN: dict[str, Any] = {  # models_devices.list_devices writes it: keep the two together
    "type": "object",
    "required": ["org", "q", "c"],
    "additionalProperties": False,
    "properties": {
        "org": {"type": "string"},
        "c": {"type": "array", "prefixItems": [{"type": "number"}, {"type": "string"}], "minItems": 2, "maxItems": 2},
        "q": {
            "type": "object",
            "required": ["limit", "envs", "created", "recent", "sort", "asc"],
            "additionalProperties": False,
            "properties": {
                "limit": {"type": "integer", "minimum": 1, "maximum": 1000},
                "envs": {"type": "array", "items": {"enum": ["production", "sandbox"]}},
                "created": _BETWEEN,
                "recent": _BETWEEN,
                "sort": {"enum": ["created_ts", "most_recent_packet_ts"]},
                "asc": {"type": "boolean"},
            },
        },
    },
}
PACKET_TOKEN: dict[str, Any] = {  # models_packets.list_packets writes it: keep the two together
    "type": "object",
    "required": ["org", "src", "start", "end", "envs", "pos"],
    "additionalProperties": False,
    "properties": {
        "org": {"type": "string"},
        "src": {"type": "string"},
        "start": {"type": "number"},
        "end": {"type": ["number", "null"]},
        "upto": {"type": ["integer", "null"]},
        "envs": {"type": "array", "items": {"enum": ["production", "sandbox"]}},
        "pos": {"type": ["integer", "null"]},
    },
}


def iso(ts: float) -> str:
    """RFC 3339 in UTC with a Z, whole seconds: 2025-04-25T14:00:00Z."""
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def apply_set_fields(record: dict[str, Any], body: dict[str, Any], fields: dict[str, str]) -> dict[str, Any]:
    """Copy the vendor's `set_*` fields of a PATCH body onto a record (`fields` maps each
    body name to the record key); a body that sets none of them is a 400."""
    if not any(name in body for name in fields):
        raise BadRequest("nothing to update: set at least one of " + ", ".join(fields))
    for name, key in fields.items():
        if name in body:
            record[key] = body[name]
    return record


def resume_token(codec: TokenCodec, token: str, org_id: str) -> dict[str, Any]:
    """The paging state a Continuation-Token carries; a bad, expired or other-org token is a 400."""
    try:
        state = codec.decode(token)
    except InvalidToken as exc:
        raise BadRequest(f"Continuation-Token: {exc}") from None
    if state.get("org") != org_id:
        raise BadRequest("Continuation-Token: the token was issued for another organization")
    return state


def not_found(what: str, ident: str) -> NotFound:
    return NotFound(f"no {what} {ident!r} in this organization")


def parse_between(raw: str | None, name: str) -> tuple[int, int] | None:
    """`between:AFTER:BEFORE` -> (after, before); AFTER inclusive, BEFORE exclusive."""
    if raw is None:
        return None
    parts = raw.split(":")
    if len(parts) != 3 or parts[0] != "between" or not parts[1].isdigit() or not parts[2].isdigit():
        raise BadRequest(f"{name}: expected 'between:AFTER:BEFORE' in Unix seconds, got {raw!r}")
    after, before = int(parts[1]), int(parts[2])
    if after > before:
        raise BadRequest(f"{name}: AFTER ({after}) is later than BEFORE ({before})")
    return after, before


def env_filter(tags: list[str] | None) -> frozenset[str] | None:
    """`filter_tags` (platform tags `_env:VALUE`) -> the set of accepted _env values, or None (all)."""
    if not tags:
        return None
    envs = set()
    for tag in tags:
        key, _, value = tag.partition(":")
        if key != "_env" or value not in ("production", "sandbox"):
            raise BadRequest(f"filter_tags: only the platform tags _env:production and _env:sandbox can be filtered on, got {tag!r}")
        envs.add(value)
    return None if envs == {"production", "sandbox"} else frozenset(envs)
