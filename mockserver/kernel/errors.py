"""Errors a handler, auth or validation can raise; each API renders them in its own shape.

The hierarchy (raise the most specific class; the status goes with the class):

* ApiError(status, message) - any answer other than success, with the status given
    * BadRequest - 400: the request breaks a rule (`violations` lists every one found)
    * Unauthorized - 401: no credentials, or credentials the API does not accept
    * Forbidden - 403: the credentials are good but not for this operation
    * NotFound - 404: no such record, or none the caller may see
    * MethodNotAllowed - 405: a known path, another method
    * Conflict - 409: the record exists already, or its state does not allow the step
    * PayloadTooLarge - 413: a body over the configured limit
    * RateLimited - 429: over a rate limit (headers carry Retry-After and friends)
    * InternalError - 500: a bug in the fake, or a response breaking its own spec

A subclass only fixes the status: the message, `violations`, `headers` and `extra` are the
same as ApiError's, so an API's error renderer sees the same fields whichever was raised,
and what goes on the wire depends on the status alone. `ApiError(status, ...)` stays for
the statuses no class names (the fault rules' arbitrary ones, 431...).
"""

from __future__ import annotations

from collections.abc import Callable
from http import HTTPStatus
from typing import Any, ClassVar

from .spec import Violation

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


class _Fixed(ApiError):
    """An ApiError whose class fixes the status."""

    status_code: ClassVar[int] = 500

    def __init__(
        self,
        message: str,
        *,
        violations: list[Violation] | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(self.status_code, message, violations=violations, headers=headers, extra=extra)


class BadRequest(_Fixed):
    status_code = 400


class Unauthorized(_Fixed):
    status_code = 401


class Forbidden(_Fixed):
    status_code = 403


class NotFound(_Fixed):
    status_code = 404


class MethodNotAllowed(_Fixed):
    status_code = 405


class Conflict(_Fixed):
    status_code = 409


class PayloadTooLarge(_Fixed):
    status_code = 413


class RateLimited(_Fixed):
    status_code = 429


class InternalError(_Fixed):
    status_code = 500


ErrorRenderer = Callable[[ApiError], Any]
