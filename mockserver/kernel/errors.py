"""Errors a handler, auth or validation can raise; each API renders them in its own shape."""

from __future__ import annotations

from http import HTTPStatus
from typing import TYPE_CHECKING, Any, Protocol

from .spec import Violation

if TYPE_CHECKING:
    from .api import Call

# Phrases that differ between Python versions, pinned to the names the APIs use.
_REASONS = {413: "Payload Too Large", 422: "Unprocessable Entity"}


class ApiError(Exception):
    """An answer other than success. `violations` lists every problem found, not just the first."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        violations: list[Violation] | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.violations = violations or []
        self.headers = headers or {}
        self.extra = extra or {}

    @property
    def reason(self) -> str:
        if self.status in _REASONS:
            return _REASONS[self.status]
        try:
            return HTTPStatus(self.status).phrase
        except ValueError:
            return "Error"

    def detailed_message(self) -> str:
        """The message followed by every violation, for shapes that carry a single string."""
        if not self.violations:
            return self.message
        return self.message + ": " + "; ".join(str(v) for v in self.violations)


class ErrorRenderer(Protocol):
    """An API's error shape: the body for `err`. It receives the call being served, as a
    Starlette exception handler receives the request (None when the error comes before
    routing: an unknown path, a refused header block, an injected fault)."""

    def __call__(self, err: ApiError, call: Call | None = None, /) -> Any: ...


def bad_request(message: str, violations: list[Violation] | None = None) -> ApiError:
    return ApiError(400, message, violations=violations)


def not_found(message: str) -> ApiError:
    return ApiError(404, message)
