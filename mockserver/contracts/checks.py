"""The checks each contract suite runs: schemathesis' own, plus three it lacks.

Our checks are built per target (they need its limited key, its paging limits), are not
registered globally (so they never leak into other schemathesis runs in the same process)
and raise `AssertionError` with a message that says what was wrong and how to reproduce it.

- `paging_terminates`: a paged list (`x-paged` in the spec, or a `Continuation-Token`
  response header) must end: following the token must reach an absent or empty token, or
  a caught-up page (`Retry-After`), within `max_pages` pages and without repeating a token.
- `scope_enforcement`: an operation with `x-required-scope` that answered 2xx must answer
  401/403 to the same request made with a key lacking that scope.
- `linked_resource_availability`: a resource created by a POST and reached through an
  OpenAPI link must not be 404 unless deleted since. schemathesis' own
  `ensure_resource_availability` only relates a POST to paths below it, so it is blind to
  Hubble's `POST /api/v2/org/{o}/devices` -> `GET /api/org/{o}/devices/{id}`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from requests.structures import CaseInsensitiveDict
from schemathesis import checks as st_checks
from schemathesis.specs.openapi import checks as oa_checks

if TYPE_CHECKING:
    from schemathesis import Case, CheckContext, Response

    from .target import Target

CheckFunction = Callable[["CheckContext", "Response", "Case"], "bool | None"]

BUILTIN: dict[str, CheckFunction] = {
    "not_a_server_error": st_checks.not_a_server_error,
    "status_code_conformance": oa_checks.status_code_conformance,
    "content_type_conformance": oa_checks.content_type_conformance,
    "response_schema_conformance": oa_checks.response_schema_conformance,
    "response_headers_conformance": oa_checks.response_headers_conformance,
    "negative_data_rejection": oa_checks.negative_data_rejection,
    "positive_data_acceptance": oa_checks.positive_data_acceptance,
    "ignored_auth": oa_checks.ignored_auth,
    "use_after_free": oa_checks.use_after_free,
    "ensure_resource_availability": oa_checks.ensure_resource_availability,
    "missing_required_header": oa_checks.missing_required_header,
    "unsupported_method": oa_checks.unsupported_method,
}

TOKEN_HEADER = "Continuation-Token"
MAX_PAGES = 2000
EMPTY_PAGES = 3
CHAINS_PER_OPERATION = 2


def header(response: Response, name: str) -> str | None:
    values = response.headers.get(name.lower())
    if values is None:
        for key, vals in response.headers.items():
            if key.lower() == name.lower():
                values = vals
                break
    if not values:
        return None
    return values[0] if isinstance(values, list) else str(values)


def _transport_kwargs(ctx: CheckContext) -> dict[str, Any]:
    kwargs = dict(ctx.internals.transport_kwargs or {})
    kwargs.pop("session", None)
    return kwargs


def _send(ctx: CheckContext, parent: Case, probe: Case) -> Response:
    kwargs = _transport_kwargs(ctx)
    ctx.internals.record_case(parent_id=parent.id, case=probe)
    response = parent.operation.schema.transport.send(probe, **kwargs)
    ctx.internals.record_response(case_id=probe.id, response=response)
    return response


def _curl(case: Case) -> str:
    try:
        text = case.as_curl_command()
    except Exception:  # pragma: no cover - reproduction text is best effort
        text = f"{case.method} {case.formatted_path}"
    if case._auth is None and "Authorization" not in text:
        text += "  (plus the target's credentials)"
    return text


class _Budget:
    """How often a costly check has run per operation (thread safe, per suite)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._used: dict[str, int] = {}
        self._lock = threading.Lock()

    def take(self, key: str) -> bool:
        with self._lock:
            used = self._used.get(key, 0)
            if used >= self.limit:
                return False
            self._used[key] = used + 1
            return True


def make_paging_check(
    max_pages: int = MAX_PAGES, chains_per_operation: int = CHAINS_PER_OPERATION, empty_pages: int = EMPTY_PAGES
) -> CheckFunction:
    budget = _Budget(chains_per_operation)

    def paging_terminates(ctx: CheckContext, response: Response, case: Case) -> bool | None:
        if not 200 <= response.status_code < 300 or case.method.upper() != "GET":
            return None
        token = header(response, TOKEN_HEADER)
        if not token or header(response, "Retry-After") is not None:
            return None  # the last page, or a live stream that has caught up
        if not budget.take(case.operation.label):
            return None
        seen = {token}
        empty_run = 0
        for number in range(2, max_pages + 2):
            headers = CaseInsensitiveDict(case.headers or {})
            headers[TOKEN_HEADER] = token
            page = case.derive(headers=headers, keep_auth=True)
            answer = _send(ctx, case, page)
            if answer.status_code == 429:
                wait = _retry_after(answer)
                if wait is None or wait > 5:
                    return None  # inconclusive: the API throttles the walk
                time.sleep(wait)
                continue
            if not 200 <= answer.status_code < 300:
                raise AssertionError(
                    f"Paging broke on page {number}: following `{TOKEN_HEADER}: {_short(token)}` "
                    f"answered {answer.status_code}.\n\nFirst page: {_curl(case)}"
                )
            nxt = header(answer, TOKEN_HEADER)
            if not nxt or header(answer, "Retry-After") is not None:
                return None
            if nxt in seen:
                raise AssertionError(
                    f"Paging never ends: page {number} handed back a `{TOKEN_HEADER}` already seen "
                    f"({_short(nxt)}), so a client following tokens loops forever.\n\nFirst page: {_curl(case)}"
                )
            empty_run = empty_run + 1 if _is_empty_page(answer) else 0
            if empty_run >= empty_pages:
                raise AssertionError(
                    f"Paging never ends: {empty_run} empty pages in a row (pages {number - empty_run + 1}-{number}) "
                    f"each still carried a new `{TOKEN_HEADER}` (last {_short(nxt)}); past the last item the "
                    f"token must be absent or empty (or, on a live stream, come with `Retry-After`)."
                    f"\n\nFirst page: {_curl(case)}"
                )
            seen.add(nxt)
            token = nxt
        raise AssertionError(
            f"Paging never ends: {max_pages + 1} pages in a row each carried a new `{TOKEN_HEADER}` "
            f"(last {_short(token)}).\n\nFirst page: {_curl(case)}"
        )

    return paging_terminates


def _is_empty_page(response: Response) -> bool:
    """A page whose top-level lists are all empty (Hubble: `devices: []`, `packets: []`)."""
    try:
        body = response.json()
    except Exception:
        return False
    if isinstance(body, list):
        return not body
    lists = [v for v in body.values() if isinstance(v, list)] if isinstance(body, dict) else []
    return bool(lists) and all(not v for v in lists)


def make_scope_check(limited_token: str | None, limited_scopes: tuple[str, ...]) -> CheckFunction:
    budget = _Budget(1)

    def scope_enforcement(ctx: CheckContext, response: Response, case: Case) -> bool | None:
        if not limited_token or not 200 <= response.status_code < 300:
            return None
        scope = case.operation.definition.raw.get("x-required-scope")
        if not scope or scope in limited_scopes:
            return None
        if not budget.take(case.operation.label):
            return None
        headers = CaseInsensitiveDict(case.headers or {})
        headers["Authorization"] = f"Bearer {limited_token}"  # replaces the full key, whatever its case
        probe = case.derive(headers=headers)  # no `keep_auth`: the full key stays behind
        answer = _send(ctx, case, probe)
        if answer.status_code in (401, 403):
            return None
        held = ", ".join(limited_scopes) or "no scope"
        raise AssertionError(
            f"Scope not enforced: `{case.operation.label}` needs `{scope}`, but a key holding only "
            f"[{held}] got {answer.status_code} instead of 403.\n\nReproduce: {_curl(probe)}"
        )

    return scope_enforcement


def linked_resource_availability(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    if response.status_code != 404:
        return None
    parent = ctx.internals.find_parent(case_id=case.id)
    if parent is None or parent.method.upper() != "POST":
        return None
    parent_response = ctx.internals.find_response(case_id=parent.id)
    if parent_response is None or not 200 <= parent_response.status_code < 300:
        return None
    path_names = [p.name for p in case.operation.path_parameters]
    overridden = case._override.path_parameters
    pinned = set(parent.path_parameters or {}) & set(path_names)  # the org both calls share
    if len(path_names) <= len(pinned) or any(name not in overridden for name in path_names):
        # no path value of its own (a list, a query filter), or one that was generated
        # rather than taken from the created resource: a 404 proves nothing
        return None
    recorder = ctx.internals.recorder
    if recorder is not None and oa_checks.resource_was_deleted(recorder, case, created_by=parent.id):
        return None
    raise AssertionError(
        f"A resource created a moment ago is not there: `{parent.operation.label}` answered "
        f"{parent_response.status_code}, then `{case.operation.label}` with the values it returned "
        f"answered 404.\n\nReproduce: {_curl(case)}"
    )


def once_per_operation(check: CheckFunction) -> CheckFunction:
    """Run a probing check (`ignored_auth` re-sends each 2xx request without and with wrong
    credentials) until it has passed once for an operation, as schemathesis' own runner does;
    pytest-driven runs would otherwise probe after every success."""
    verified: set[str] = set()
    lock = threading.Lock()

    def wrapper(ctx: CheckContext, response: Response, case: Case) -> bool | None:
        label = case.operation.label
        success = 200 <= response.status_code < 300
        with lock:
            if success and label in verified:
                return None
        result = check(ctx, response, case)
        if success:
            with lock:
                verified.add(label)
        return result

    wrapper.__name__ = check.__name__
    return wrapper


def resolve(target: Target) -> list[CheckFunction]:
    """The check functions for this target's API, in the profile's order."""
    out: list[CheckFunction] = []
    for name in target.profile.checks:
        if name == "ignored_auth":
            out.append(once_per_operation(BUILTIN[name]))
        elif name in BUILTIN:
            out.append(BUILTIN[name])
        elif name == "paging_terminates":
            out.append(make_paging_check())
        elif name == "scope_enforcement":
            out.append(make_scope_check(target.limited_token, target.limited_scopes))
        elif name == "linked_resource_availability":
            out.append(linked_resource_availability)
        else:  # pragma: no cover - profiles are ours
            raise ValueError(f"unknown check {name}")
    return out


def _retry_after(response: Response) -> float | None:
    raw = header(response, "Retry-After")
    try:
        return float(raw) if raw is not None else None
    except ValueError:
        return None


def _short(token: str, limit: int = 40) -> str:
    return repr(token if len(token) <= limit else token[:limit] + "...")
