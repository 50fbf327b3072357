"""Fields a JSON value carries that its schema never mentions.

A schema that leaves `additionalProperties` open accepts any extra field, so a validator
says nothing about them; for contract drift they matter (an SDK sending `eid_rotation`, an
API answering with `active`). `undocumented_fields` walks the value along the schema
(local `$ref`s, `allOf`, `anyOf`/`oneOf` as the union of their branches, `items`,
`properties`, `patternProperties`, `additionalProperties`) and lists the paths of the
object keys no applicable schema declares.
"""

from __future__ import annotations

import re
from typing import Any

MAX_DEPTH = 32


def _resolve(schema: Any, document: dict[str, Any], seen: int = 0) -> Any:
    while isinstance(schema, dict) and "$ref" in schema and seen < MAX_DEPTH:
        ref = schema["$ref"]
        if not isinstance(ref, str) or not ref.startswith("#/"):
            return {}
        node: Any = document
        try:
            for part in ref[2:].split("/"):
                node = node[part.replace("~1", "/").replace("~0", "~")]
        except (KeyError, TypeError):
            return {}
        extra = {k: v for k, v in schema.items() if k != "$ref"}
        schema = {**node, **extra} if extra and isinstance(node, dict) else node
        seen += 1
    return schema if isinstance(schema, dict) else {}


def _branches(schema: dict[str, Any], document: dict[str, Any], depth: int = 0) -> list[dict[str, Any]]:
    """The schema and every schema it is combined with (allOf/anyOf/oneOf), resolved."""
    schema = _resolve(schema, document)
    out = [schema]
    if depth > MAX_DEPTH:
        return out
    for key in ("allOf", "anyOf", "oneOf"):
        for sub in schema.get(key) or []:
            out += _branches(sub, document, depth + 1)
    return out


def undocumented_fields(value: Any, schema: Any, document: dict[str, Any], where: str = "body") -> list[str]:
    out: list[str] = []
    _walk(value, schema, document, where, out, 0)
    return out


def _walk(value: Any, schema: Any, document: dict[str, Any], where: str, out: list[str], depth: int) -> None:
    if depth > MAX_DEPTH or schema is None or schema is True:
        return
    branches = _branches(schema, document)
    if isinstance(value, dict):
        declared: dict[str, list[Any]] = {}
        patterns: list[tuple[str, Any]] = []
        extra: list[Any] = []
        open_map = False
        for b in branches:
            for name, sub in (b.get("properties") or {}).items():
                declared.setdefault(name, []).append(sub)
            for pattern, sub in (b.get("patternProperties") or {}).items():
                patterns.append((pattern, sub))
            additional = b.get("additionalProperties")
            if isinstance(additional, dict) and additional:
                extra.append(additional)
                open_map = True
            elif additional is True:
                open_map = True
        for key, item in value.items():
            path = f"{where}.{key}"
            if key in declared:
                for sub in declared[key]:
                    _walk(item, sub, document, path, out, depth + 1)
                continue
            matched = [sub for pattern, sub in patterns if _search(pattern, key)]
            if matched:
                for sub in matched:
                    _walk(item, sub, document, path, out, depth + 1)
            elif open_map:
                for sub in extra:
                    _walk(item, sub, document, path, out, depth + 1)
            elif any(b.get("additionalProperties") is False for b in branches):
                continue  # closed: a validator reports it already
            elif declared or patterns or any(b.get("type") == "object" for b in branches):
                out.append(path)
    elif isinstance(value, list):
        for b in branches:
            items = b.get("items")
            if isinstance(items, dict):
                for i, item in enumerate(value):
                    _walk(item, items, document, f"{where}[{i}]", out, depth + 1)
                    if len(out) > 50:
                        return


def _search(pattern: str, key: str) -> bool:
    try:
        return re.search(pattern, key) is not None
    except re.error:
        return False
