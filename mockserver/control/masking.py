"""Hide credentials in what the dashboard shows: header values and record fields that carry
tokens, keys or signatures are replaced by a placeholder unless the caller asks to reveal.

The placeholder keeps the scheme of an Authorization value ("Bearer") and the length, so a
reader can still tell a missing token from a present one without seeing it.
"""

from __future__ import annotations

import re
from typing import Any

SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key", "x-signature"})
_SECRET_WORDS = re.compile(r"token|secret|signature|password|api[-_]?key|credential|jwt", re.IGNORECASE)
# record fields (state tables, webhook meta): the same words, plus a bare "key" (a stored API key)
_SECRET_FIELD = re.compile(rf"^(key|hash)$|{_SECRET_WORDS.pattern}", re.IGNORECASE)
# fields that name a secret without holding one: ids, counts, flags and times stay readable
_NOT_A_SECRET = re.compile(r"(_id|_ids|_at|_count|_days|_hours|_required|_expires|_scopes?)$|^(id|token_type)$", re.IGNORECASE)


def is_secret_header(name: str) -> bool:
    lower = name.lower()
    return lower in SECRET_HEADERS or bool(_SECRET_WORDS.search(lower))


def placeholder(value: str) -> str:
    scheme, _, rest = value.partition(" ")
    if rest and scheme.lower() in ("bearer", "basic", "token", "hmac"):
        return f"{scheme} •••• ({len(rest)} chars hidden)"
    return f"•••• ({len(value)} chars hidden)"


def mask_headers(headers: dict[str, Any] | None) -> dict[str, Any] | None:
    if not isinstance(headers, dict):
        return headers
    return {k: placeholder(str(v)) if is_secret_header(k) and v else v for k, v in headers.items()}


def mask_fields(value: Any) -> Any:
    """A copy of a JSON value with the string values of secret-named fields masked (any depth)."""
    if isinstance(value, dict):
        out: dict[Any, Any] = {}
        for k, v in value.items():
            name = str(k)
            if isinstance(v, str) and v and _SECRET_FIELD.search(name) and not _NOT_A_SECRET.search(name):
                out[k] = placeholder(v)
            elif name.lower() == "headers" and isinstance(v, dict):
                out[k] = mask_headers(v)
            else:
                out[k] = mask_fields(v)
        return out
    if isinstance(value, list):
        return [mask_fields(v) for v in value]
    return value


def mask_entry(entry: dict[str, Any]) -> dict[str, Any]:
    """A journal entry with its request and response headers masked (a shallow copy; the
    journal's own entry is left as it is)."""
    out = dict(entry)
    for side in ("request", "response"):
        part = entry.get(side)
        if isinstance(part, dict):
            out[side] = {**part, "headers": mask_headers(part.get("headers"))}
    debug = entry.get("debug")
    if isinstance(debug, dict) and debug.get("signature_received"):
        out["debug"] = {**debug, "signature_received": placeholder(str(debug["signature_received"]))}
    return out


def mask_message(message: dict[str, Any]) -> dict[str, Any]:
    """A webhook message with the headers it is sent with (and secret meta fields) masked."""
    return {**message, "headers": mask_headers(message.get("headers")), "meta": mask_fields(message.get("meta"))}
