"""Issue 12, item 1, for the validating proxy: unknown query parameters and headers that look
like a misspelt documented one are drift (the proxy forwards them unchanged and logs them)."""

from __future__ import annotations

from starlette.datastructures import Headers

from mockserver.contracts import validation
from mockserver.kernel import undeclared
from mockserver.kernel.spec import Spec


def test_the_proxy_logs_a_misspelt_header_and_an_unknown_parameter() -> None:
    spec = Spec.from_resource("hubby", "hubby-openapi.yaml")
    op, params = spec.match("GET", "/countries")
    headers = Headers({"x-api-key": "k", "x-timestamp": "1", "X-Signatur": "s", "x-custom-trace": "1"})
    found = validation.check_request(spec, op, params, headers, "pageSize=5", b"")
    kinds = {(d.kind, d.detail) for d in found}
    assert ("misspelt-header", "header `x-signatur` (did you mean `x-signature`?)") in kinds
    assert ("undocumented-header", "header `x-custom-trace`") in kinds  # not close to any: plain drift
    assert ("undocumented-query-parameter", "query parameter `pageSize`") in kinds


def test_looks_like_matches_spelling_not_unrelated_names() -> None:
    documented = frozenset({"x-api-key", "x-timestamp", "x-signature", "continuation-token"})
    assert undeclared.looks_like("X_Timestamp", documented) == "x-timestamp"
    assert undeclared.looks_like("Continuation-Tokens", documented) == "continuation-token"
    for name in ("x-request-id", "user-agent", "x-api-version", "x-forwarded-host", "x-timestamp"):
        assert undeclared.looks_like(name, documented) is None
