"""Hubble bearer-token auth and rate-limit buckets.

401: no token, unknown token, expired or revoked key, or a key of another organization.
403: a valid key without the operation's scope (`x-required-scope` in our spec).
"""

from __future__ import annotations

from ...kernel.api import Call
from ...kernel.errors import Forbidden, Unauthorized
from ...kernel.memo import BoundedDict
from ...kernel.ratelimit import Limit
from ...kernel.validation import parse_request

PER_ENDPOINT = Limit(capacity=3, rate=3.0)
PER_ORG = Limit(capacity=15, rate=15.0)


def authenticate(call: Call):  # noqa: ANN201 - returns the model's Principal
    if call.op.security == []:
        return None
    header = call.headers.get("authorization") or ""
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("missing bearer token: send 'Authorization: Bearer <api key>'")
    principal = call.model.principal_for(token.strip())
    org_id = call.path_params.get("org_id")
    if org_id is not None and org_id != principal.org_id:
        raise Unauthorized("this API key does not belong to the organization in the path")
    scope = call.op.ext("x-required-scope")
    if scope and scope not in principal.scopes:
        raise Forbidden(f"this API key lacks the scope '{scope}' required by {call.op.operation_id}")
    return principal


def rate_buckets(call: Call) -> list[tuple[str, Limit]] | None:
    principal = call.principal
    if principal is None:
        return None
    key = (principal.org_id, call.op.operation_id)
    buckets = _BUCKETS.get(key)
    if buckets is None:
        org = principal.org_id
        buckets = [(f"hubble:{org}:{call.op.operation_id}", PER_ENDPOINT), (f"hubble:{org}", PER_ORG)]
        _BUCKETS.put(key, buckets)
    return buckets


_BUCKETS: BoundedDict[tuple[str, str], list[tuple[str, Limit]]] = BoundedDict(4096)  # (org, operation) -> its buckets (read-only)


PACKETS = "retrieve-organization-packets"


def rate_limited_headers(call: Call) -> dict[str, str]:
    """The vendor's packets 429 carries `Continuation-Token` besides `Retry-After`."""
    if call.op.operation_id != PACKETS:
        return {}
    parsed = parse_request(call.op, call.path_params, call.headers, call.raw_query, b"")
    if parsed.violations:  # the request would be a 400 anyway: there is no position to resume
        return {}
    token = call.model.resume_token_for(parsed.path_params["org_id"], parsed.query, call.headers.get("continuation-token"))
    return {"Continuation-Token": token} if token is not None else {}
