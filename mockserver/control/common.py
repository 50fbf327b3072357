"""Pieces every control-plane route uses: the error type and JSON body parsing."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request

from ..kernel import jsonguard
from ..kernel.validation import BadJson, loads_strict


class ControlError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


DEFAULT_MAX_BODY = 67_108_864  # when the app does not say (settings.max_control_body_bytes)


async def read_body(request: Request) -> bytes:
    """The request body, refused with a 413 once it passes the control plane's size limit
    (`app.state.max_body_bytes`) instead of being read whole into memory first."""
    limit = getattr(request.app.state, "max_body_bytes", DEFAULT_MAX_BODY)
    declared = request.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and (len(declared) > 18 or int(declared) > limit):
        raise ControlError(413, f"the request body is larger than {limit} bytes (MOCKSERVER_MAX_CONTROL_BODY_BYTES)")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ControlError(413, f"the request body is larger than {limit} bytes (MOCKSERVER_MAX_CONTROL_BODY_BYTES)")
        chunks.append(chunk)
    return b"".join(chunks)


async def json_body(request: Request, *, required: bool = True) -> Any:
    return parse_json(await read_body(request), required=required)


def parse_json(raw: bytes, *, required: bool = True) -> Any:
    """A control-plane body as the endpoints read it (ControlError 400 when it is not JSON
    they take); also what `MockServer.restore` checks a state document with in-process."""
    if not raw.strip():
        if required:
            raise ControlError(400, "a JSON body is required")
        return {}
    try:
        fast = _fast_loads(raw)
        if fast is _SLOW:
            return loads_strict(raw)
        jsonguard.check(raw, fast)  # what loads_strict also refuses: lone surrogates, deep nesting
        return fast
    except (BadJson, jsonguard.RefusedJson) as exc:
        raise ControlError(400, f"malformed JSON: {exc}") from None


_SLOW = object()
_RUN = b"0" * 19
_DIGITS_AS_ZERO = bytes.maketrans(b"123456789", b"000000000")


def _fast_loads(raw: bytes) -> Any:
    """orjson for a body loads_strict would read the same way (a state document is MiBs):
    orjson refuses NaN, infinities and deep nesting too, and a number of 19+ digits (an
    integer orjson would turn into a float) goes the strict way. Anything orjson refuses does
    too, so the error message is loads_strict's."""
    if _has_long_number(raw):
        return _SLOW
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return _SLOW


def _has_long_number(raw: bytes) -> bool:
    """A run of 19+ digits that is a number token (after `:`, `,` or `[`), not part of a
    string. Found with C-speed byte searches: a regex over MiBs costs more than the parse."""
    digits = raw.translate(_DIGITS_AS_ZERO)
    at = digits.find(_RUN)
    while at != -1:
        before = raw[max(0, at - 64) : at].rstrip(b" \t\r\n-").rstrip(b" \t\r\n")[-1:]  # b"": unsure, strict way
        if before in (b":", b",", b"[", b""):
            return True
        end = at + len(_RUN)
        while end < len(digits) and digits[end] == 0x30:
            end += 1
        at = digits.find(_RUN, end)
    return False
