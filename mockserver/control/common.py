"""Pieces every control-plane route uses: the error type and JSON body parsing."""

from __future__ import annotations

import re
from typing import Any

import orjson
from starlette.requests import Request

from ..kernel.validation import BadJson, loads_strict


class ControlError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


async def json_body(request: Request, *, required: bool = True) -> Any:
    raw = await request.body()
    if not raw.strip():
        if required:
            raise ControlError(400, "a JSON body is required")
        return {}
    fast = _fast_loads(raw)
    if fast is not _SLOW:
        return fast
    try:
        return loads_strict(raw)
    except BadJson as exc:
        raise ControlError(400, f"malformed JSON: {exc}") from None


_SLOW = object()
_LONG_NUMBER = re.compile(rb"[:,\[]\s*-?[0-9]{19}")  # a number token, not digits in a string


def _fast_loads(raw: bytes) -> Any:
    """orjson for a body loads_strict would read the same way (a state document is MiBs):
    orjson refuses NaN, infinities and deep nesting too, and a number of 19+ digits (an
    integer orjson would turn into a float) goes the strict way. Anything orjson refuses does too,
    so the error message is loads_strict's."""
    if _LONG_NUMBER.search(raw):
        return _SLOW
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return _SLOW
