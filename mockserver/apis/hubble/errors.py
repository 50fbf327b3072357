"""Hubble's error shape: {"code": <status>, "description": <text>, "name": <reason phrase>}."""

from __future__ import annotations

from typing import Any

from ...kernel.errors import ApiError


def render(err: ApiError) -> dict[str, Any]:
    return {"code": err.status, "description": err.detailed_message(), "name": err.reason}
