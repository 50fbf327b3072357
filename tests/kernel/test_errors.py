"""The named error classes of kernel/errors.py: each fixes its status and nothing else, so
an API renders `NotFound("...")` exactly as it rendered `ApiError(404, "...")`."""

from __future__ import annotations

from typing import Any

import pytest

from mockserver.kernel.errors import (
    ApiError,
    BadRequest,
    Conflict,
    Forbidden,
    InternalError,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    Unauthorized,
)
from mockserver.kernel.spec import Violation

CLASSES = [
    (BadRequest, 400, "Bad Request"),
    (Unauthorized, 401, "Unauthorized"),
    (Forbidden, 403, "Forbidden"),
    (NotFound, 404, "Not Found"),
    (MethodNotAllowed, 405, "Method Not Allowed"),
    (Conflict, 409, "Conflict"),
    (PayloadTooLarge, 413, "Payload Too Large"),
    (RateLimited, 429, "Too Many Requests"),
    (InternalError, 500, "Internal Server Error"),
]


@pytest.mark.parametrize(("cls", "status", "reason"), CLASSES, ids=lambda v: getattr(v, "__name__", str(v)))
def test_a_named_error_is_the_api_error_of_its_status(cls: Any, status: int, reason: str) -> None:
    violations = [Violation("body.name", "is required")]
    named = cls("it went wrong", violations=violations, headers={"Retry-After": "3"}, extra={"k": 1})
    plain = ApiError(status, "it went wrong", violations=violations, headers={"Retry-After": "3"}, extra={"k": 1})
    assert isinstance(named, ApiError)
    for attr in ("status", "message", "violations", "headers", "extra", "reason"):
        assert getattr(named, attr) == getattr(plain, attr), attr
    assert named.reason == reason
    assert named.detailed_message() == plain.detailed_message() == "it went wrong: body.name: is required"
    with pytest.raises(ApiError) as caught:
        raise named
    assert caught.value.status == status


def test_an_api_error_of_any_status_still_works() -> None:
    err = ApiError(431, "headers too large")
    assert (err.status, err.reason, err.detailed_message()) == (431, "Request Header Fields Too Large", "headers too large")
