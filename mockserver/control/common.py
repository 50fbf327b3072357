"""Pieces every control-plane route uses: the error type and JSON body parsing."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

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
    raw = await read_body(request)
    if not raw.strip():
        if required:
            raise ControlError(400, "a JSON body is required")
        return {}
    try:
        return loads_strict(raw)
    except BadJson as exc:
        raise ControlError(400, f"malformed JSON: {exc}") from None
