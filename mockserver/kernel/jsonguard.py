"""What a parsed JSON body may hold before anything else sees it.

Two things get past a JSON parser and break the server later:

- a lone surrogate (`"\\ud800"`): a valid JSON escape, but not a Unicode character, so the
  string can never be encoded as UTF-8 again; stored, it turns every later read of it
  into a 500;
- deep nesting: the validators and encoders recurse, and a few hundred levels exhaust them.

Every body reader (the API pipeline and the control plane, through
`validation.loads_strict`) calls `check` after parsing. The raw bytes decide cheaply
whether the walk is needed at all, so an ordinary body costs two byte scans.
"""

from __future__ import annotations

import re
from typing import Any

MAX_JSON_DEPTH = 32  # levels of arrays and objects; the deepest body any API documents has 5
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


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
    deep = data.count(b"[") + data.count(b"{") > MAX_JSON_DEPTH  # an upper bound on the depth
    surrogates = b"\\u" in data and _SURROGATE_ESCAPE.search(data) is not None
    if deep or surrogates:
        _walk(value)


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
