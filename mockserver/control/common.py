"""Pieces every control-plane route uses: the error type and JSON body parsing."""

from __future__ import annotations

import json
import math
from typing import Any

from starlette.requests import Request


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
        return json.loads(raw, parse_constant=_no_constant, parse_float=_finite_float, parse_int=_bounded_int)
    except RecursionError:
        raise ControlError(400, "malformed JSON: nested too deeply") from None
    except ValueError as exc:
        raise ControlError(400, f"malformed JSON: {exc}") from exc


def _no_constant(name: str) -> Any:
    """NaN, Infinity and -Infinity are not JSON (Python's parser accepts them by default)."""
    raise ValueError(f"{name} is not a JSON value")


MAX_INT_DIGITS = 300  # beyond this an integer no longer converts to a float: out of range


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise ValueError(f"number {text[:40]}... is out of range")
    return int(text)


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e999 parses to infinity
        raise ValueError(f"number {text[:40]} is out of range")
    return value
