"""Issue 10: the request guard hands a request under an API mount straight to that mount's
app (skipping Starlette's router). The answers must be exactly those the router gives."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from mockserver.app import create_app
from mockserver.guard import RequestGuard
from mockserver.settings import Settings

S = Settings()
HUBBLE = {"Authorization": f"Bearer {S.hubble_token}"}
REQUESTS = [
    ("GET", f"/hubble/api/org/{S.hubble_org_id}/devices?limit=10", HUBBLE),
    ("GET", f"/hubble/api/org/{S.hubble_org_id}/devices?limit=0", HUBBLE),  # a 400
    ("GET", f"/hubble/api/org/{S.hubble_org_id}/devices", {}),  # a 401
    ("DELETE", f"/hubble/api/org/{S.hubble_org_id}/devices", HUBBLE),  # a 405
    ("GET", "/hubble/nothing/here", HUBBLE),  # a 404 in Hubble's shape
    ("GET", "/hubble", HUBBLE),  # the bare prefix: left to the router
    ("GET", "/hubby/api/bookings", {}),
    ("GET", "/bumblebee/webhooks/unknown", {}),
    ("GET", "/_mock/health", {}),
]


def _guard(app: Any) -> RequestGuard:
    assert isinstance(app.guard, RequestGuard)  # in front of the whole Starlette stack
    return app.guard


def _answers(direct: bool) -> tuple[list[tuple[int, Any, str | None]], list[dict[str, Any]]]:
    app = create_app(Settings(scenario="demo", rate_limit=False, clock="frozen", clock_start=1_800_000_000.0))
    with TestClient(app) as client:
        guard = _guard(app)
        if direct:
            assert set(guard.mounts) == {"/hubble", "/hubby/api", "/bumblebee"}
        else:
            guard.mounts = {}  # every request through Starlette's router, as before
        out = []
        for method, path, headers in REQUESTS:
            r = client.request(method, path, headers=headers)
            out.append((r.status_code, r.content, r.headers.get("x-request-id")))
        journal = app.state.runtime.journal.entries()
    for entry in journal:  # what depends on the wall clock (rate-limit windows run on real time)
        entry.pop("at", None)
        entry.pop("duration_ms", None)
        headers = entry.get("response", {}).get("headers", {})
        headers.pop("X-RateLimit-Reset", None)
        if "Continuation-Token" in headers:  # signed with a per-process secret: compare what it carries
            headers["Continuation-Token"] = headers["Continuation-Token"].split(".")[0]
    return out, journal


def test_direct_dispatch_answers_as_the_router_does() -> None:
    direct, direct_journal = _answers(direct=True)
    routed, routed_journal = _answers(direct=False)
    assert [a[0] for a in direct] == [200, 400, 401, 405, 404, 404, 401, 404, 200]
    assert direct == routed
    assert direct_journal == routed_journal


@pytest.mark.parametrize("path", ["/hubble/api/org/x%0Ay/devices", "/hubby/api/book%0Aings"])
def test_a_path_no_mount_pattern_takes_still_goes_through_the_router(path: str) -> None:
    with TestClient(create_app(Settings(scenario="empty"))) as client:
        r = client.get(path)
        assert r.status_code == 404 and r.headers.get("x-request-id")
