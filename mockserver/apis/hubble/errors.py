"""Hubble's error shape: {"code": <status>, "description": <text>, "name": <reason phrase>}."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...kernel.errors import ApiError

if TYPE_CHECKING:
    from ...kernel.api import Call


def render(err: ApiError, call: Call | None = None) -> dict[str, Any]:
    return {"code": err.status, "description": err.detailed_message(), "name": err.reason}
