"""What a parsed JSON body may hold before anything else sees it.

Two things get past a JSON parser and break the server later:

- a lone surrogate (`"\\ud800"`): a valid JSON escape, but not a Unicode character, so the
  string can never be encoded as UTF-8 again; stored, it turns every later read of it
  into a 500;
- deep nesting: the validators and encoders recurse, and a few hundred levels exhaust them.

Every body reader (the API pipeline and the control plane, through
`validation.loads_strict`) calls `check` after parsing. The raw bytes decide, with a few
C-speed scans, whether the value needs walking at all (to name the field): the depth is
measured on the brackets left once the strings are cut out, by removing the innermost
pairs once per level.
"""

from __future__ import annotations

import re
from typing import Any

import orjson

MAX_JSON_DEPTH = 32  # levels of arrays and objects; the deepest body any API documents has 5
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")  # a surrogate escape, paired or not
_STRUCTURE = bytes(b for b in range(256) if b not in b'[]{}"')  # deleted: all but brackets and quotes
_PARENS = bytes.maketrans(b"[]{}", b"()()")


class RefusedJson(ValueError):
    """A parsed body the server refuses; `where` names the field ("names[0]", "" for the root)."""

    def __init__(self, where: str, problem: str) -> None:
        shown = where if len(where) <= 200 else where[:100] + "..." + where[-97:]
        super().__init__(f"{shown}: {problem}" if where else problem)
        self.where = where
        self.problem = problem


def check(raw: bytes | str, value: Any) -> None:
    """Raise RefusedJson for a lone surrogate or nesting deeper than MAX_JSON_DEPTH."""
    data = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw
    if (b"\\u" in data and _SURROGATE_ESCAPE.search(data) is not None and not _encodes(value)) or _too_deep(data):
        _walk(value)


def _encodes(value: Any) -> bool:
    """True when the value encodes as UTF-8 JSON: a pair such as an emoji's \\ud83d\\ude9a is
    one ordinary character, only a lone surrogate fails (orjson: fast, and strict about it)."""
    try:
        orjson.dumps(value)
    except TypeError:  # a lone surrogate, or an integer beyond 64 bits: the walk tells which
        return False
    return True


def _too_deep(data: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """True when the (already parsed, so well-formed) JSON text nests deeper than the limit."""
    if data.count(b"[") + data.count(b"{") <= limit:  # cannot be deeper than its brackets
        return False
    # escaped backslashes and quotes out first, then everything but brackets and quotes, then
    # the (now plain) strings: what is left is the bare structure, [{}[]]...
    text = data.replace(b"\\\\", b"").replace(b'\\"', b"") if b"\\" in data else data
    structure = text.translate(None, _STRUCTURE).replace(b'""', b"")  # most strings hold no brackets
    if b'"' in structure:
        structure = b"".join(structure.split(b'"')[::2])  # the odd pieces were inside strings
    brackets = structure.translate(_PARENS)  # well-formed, so the kind no longer matters
    for _ in range(limit):
        if not brackets:
            return False
        brackets = brackets.replace(b"()", b"")  # one level: every pair with nothing inside
    return bool(brackets)


def _walk(value: Any) -> None:
    stack: list[tuple[Any, str, int]] = [(value, "", 0)]
    while stack:
        item, where, depth = stack.pop()
        if isinstance(item, str):
            _check_text(item, where)
        elif isinstance(item, dict | list):
            if depth >= MAX_JSON_DEPTH:
                raise RefusedJson(where, f"nested too deeply (more than {MAX_JSON_DEPTH} levels)")
            pairs = item.items() if isinstance(item, dict) else enumerate(item)
            for key, child in pairs:
                if isinstance(key, str):
                    _check_text(key, where, key=True)
                    path = f"{where}.{key}" if where else key
                else:
                    path = f"{where}[{key}]"
                stack.append((child, path, depth + 1))


def lone_surrogate(value: Any) -> RefusedJson | None:
    """The first string (or key) holding a lone surrogate anywhere in `value`, as the error
    `check` would raise, without a depth limit (for documents other than request bodies)."""
    stack: list[tuple[Any, str]] = [(value, "")]
    while stack:
        item, where = stack.pop()
        try:
            if isinstance(item, str):
                _check_text(item, where)
            elif isinstance(item, dict | list):
                for key, child in item.items() if isinstance(item, dict) else enumerate(item):
                    if isinstance(key, str):
                        _check_text(key, where, key=True)
                        stack.append((child, f"{where}.{key}" if where else key))
                    else:
                        stack.append((child, f"{where}[{key}]"))
        except RefusedJson as exc:
            return exc
    return None


def _check_text(text: str, where: str, *, key: bool = False) -> None:
    if text.isascii():
        return
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        code = ord(text[exc.start])
        what = f"the key {text.encode('utf-8', 'backslashreplace').decode()!r}" if key else "the string"
        raise RefusedJson(
            where, f"{what} holds a lone surrogate (\\u{code:04x}), which is not a Unicode character"
        ) from None
