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


async def json_body(request: Request, *, required: bool = True) -> Any:
    raw = await request.body()
    if not raw.strip():
        if required:
            raise ControlError(400, "a JSON body is required")
        return {}
    try:
        return loads_strict(raw)
    except BadJson as exc:
        raise ControlError(400, f"malformed JSON: {exc}") from None
