"""A state document a caller keeps (`MockServer.restore(state)`), made fit for the store
without parsing it whole.

PUT /_mock/state parses its body, so the store owns every row it restores. In-process the
document is the caller's: sharing its rows would let a later change to that dict reach the
store unseen, and encoding and parsing it whole costs most of a restore (1.4 MiB for the
demo). Rows equal to the ones the store holds are the store's own objects already (a
restore of a snapshot taken earlier changes few rows); every other row is copied through
JSON, as the endpoint would have parsed it. A row the endpoint's checks must judge (a lone
surrogate, an integer beyond 64 bits, nesting past the limit, a key that is not a string)
raises `Unusual`, and the caller takes the endpoint's own path for its exact 400.
"""

from __future__ import annotations

from typing import Any

import orjson

from . import jsonguard
from .store import Store

_MISSING = object()
# the document, its "tables", a table, then the row: the endpoint's depth limit counts from the document
ROW_DEPTH = jsonguard.MAX_JSON_DEPTH - 3


class Unusual(Exception):
    """Something only the endpoint's full parse may judge."""


def owned(document: Any, store: Store) -> dict[str, Any]:
    """The document with each row the store already holds, equal, replaced by the store's
    object, and every other value copied through JSON. Run it on the server's loop (the
    live rows must not change meanwhile); it changes nothing itself."""
    if not isinstance(document, dict) or not isinstance(document.get("tables"), dict):
        raise Unusual
    tables: dict[str, dict[str, Any]] = {}
    for name, rows in document["tables"].items():
        if not isinstance(name, str) or not isinstance(rows, dict):
            raise Unusual
        live = store.live_rows(name)
        out: dict[str, Any] = {}
        for key, value in rows.items():
            if not isinstance(key, str):
                raise Unusual
            current = live.get(key, _MISSING)
            out[key] = current if current is not _MISSING and _same(current, value) else _copy(value)
        tables[name] = out
    rest = _copy({k: v for k, v in document.items() if k != "tables"})
    rest["tables"] = tables
    return rest


def _same(current: Any, value: Any) -> bool:
    try:
        return current is value or bool(current == value)
    except Exception:  # an object whose comparison is not a truth value: copy it
        return False


def _copy(value: Any) -> Any:
    try:
        raw = orjson.dumps(value)
    except TypeError:  # a lone surrogate, an integer beyond 64 bits, a type JSON lacks
        raise Unusual from None
    if jsonguard._too_deep(raw, ROW_DEPTH):
        raise Unusual
    return orjson.loads(raw)
