"""The control plane over HTTP: the admin token (and the open health check the Docker
HEALTHCHECK relies on), fault rules through /_mock/faults, clock hand-back."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from mockserver.testing import MockServer

TOKEN = "s3cret-admin-token"


@pytest.fixture(scope="module")
def guarded() -> Iterator[MockServer]:
    with MockServer(scenario="empty", admin_token=TOKEN, rate_limit=False) as server:
        yield server


@pytest.fixture(scope="module")
def server() -> Iterator[MockServer]:
    with MockServer(scenario="empty", rate_limit=False) as server:
        yield server


@pytest.fixture
def open_server(server: MockServer) -> Iterator[MockServer]:
    server.clear_faults()
    server.clear_requests()
    yield server
    server.clear_faults()


@pytest.mark.parametrize(
    "method,path",
    [("GET", "/credentials"), ("POST", "/reset"), ("GET", "/state"), ("PUT", "/state"), ("POST", "/faults"),
     ("GET", "/requests"), ("POST", "/clock"), ("GET", "/webhooks/deliveries"), ("POST", "/hubble/packets"),
     ("GET", "/nonexistent"), ("GET", "/health/../credentials")],
)  # fmt: skip
def test_with_an_admin_token_everything_but_health_needs_it(guarded: MockServer, method: str, path: str):
    r = httpx.request(method, f"{guarded.base_url}/_mock{path}", json={})
    assert r.status_code == 401
    assert r.headers["www-authenticate"].startswith("Bearer")
    assert "MOCKSERVER_ADMIN_TOKEN" in r.json()["error"]
    wrong = httpx.request(method, f"{guarded.base_url}/_mock{path}", json={}, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401


def test_the_right_token_opens_the_control_plane(guarded: MockServer):
    r = httpx.get(f"{guarded.base_url}/_mock/credentials", headers={"Authorization": f"Bearer {TOKEN}"})
    assert r.status_code == 200 and r.json()["control"]["admin_token_required"] is True
    assert guarded.clock()["mode"] in ("real", "frozen")  # the MockServer client sends it


def test_health_stays_open_for_the_container_healthcheck(guarded: MockServer):
    # it says nothing but "ok", and Docker's HEALTHCHECK has no way to send a secret
    assert httpx.get(f"{guarded.base_url}/_mock/health").json() == {"status": "ok"}


def test_the_token_does_not_guard_the_apis_themselves(guarded: MockServer):
    creds = guarded.credentials()["hubble"]
    r = httpx.get(f"{creds['base_url']}/api/org/{creds['org_id']}/devices", headers={"Authorization": f"Bearer {creds['token']}"})
    assert r.status_code == 200


def test_fault_rules_through_the_control_plane(open_server: MockServer):
    added = open_server.call("POST", "/faults", json=[
        {"api": "hubble", "operation_id": "list-devices", "status": 429, "retry_after": 9, "count": 1},
        {"api": "hubble", "path": "/devices$", "method": "GET", "kind": "latency", "latency_ms": 1},
    ])["faults"]  # fmt: skip
    assert [f["id"] for f in added] == ["fault-1", "fault-2"]
    assert [f["kind"] for f in open_server.faults()] == ["status", "latency"]
    creds = open_server.credentials()["hubble"]
    url = f"{creds['base_url']}/api/org/{creds['org_id']}/devices"
    headers = {"Authorization": f"Bearer {creds['token']}"}
    r = httpx.get(url, headers=headers)
    assert r.status_code == 429 and r.headers["retry-after"] == "9"
    assert r.json()["code"] == 429 and r.json()["name"] == "Too Many Requests"  # Hubble's error shape
    assert httpx.get(url, headers=headers).status_code == 200  # count used up; the latency rule applies
    journal = open_server.requests(api="hubble", operation_id="list-devices")
    assert [e["fault"]["id"] for e in journal] == ["fault-2", "fault-1"]
    assert [e["status"] for e in journal] == [200, 429]
    assert open_server.call("DELETE", "/faults") == {"cleared": True} and open_server.faults() == []


@pytest.mark.parametrize(
    "body,needle",
    [
        ({"status": 700}, "status between 400 and 599"),
        ({"kind": "status", "status": 503, "api": "hubbel"}, "api must be one of"),
        ([{"status": 503}, {"kind": "nope"}], "rule 1: kind must be one of"),
        ({"latency_ms": "fast"}, "latency_ms must be"),
        ("status=503", "JSON object"),
    ],
)
def test_a_bad_fault_rule_is_a_400_that_says_why_and_adds_nothing(open_server: MockServer, body, needle):
    r = httpx.post(f"{open_server.base_url}/_mock/faults", json=body)
    assert r.status_code == 400 and needle in r.json()["error"], r.text
    assert open_server.faults() == []


def test_malformed_json_is_a_400(open_server: MockServer):
    r = httpx.post(f"{open_server.base_url}/_mock/faults", content=b"{nope", headers={"content-type": "application/json"})
    assert r.status_code == 400 and "malformed JSON" in r.json()["error"]


def test_a_bad_fault_header_is_a_400_in_the_apis_shape(open_server: MockServer):
    creds = open_server.credentials()["hubble"]
    r = httpx.get(
        f"{creds['base_url']}/api/org/{creds['org_id']}/devices",
        headers={"Authorization": f"Bearer {creds['token']}", "X-Mock-Fault": "kind=explode"},
    )
    assert r.status_code == 400 and "X-Mock-Fault" in r.json()["description"]


def test_clock_reset_hands_the_clock_back_and_unknown_fields_are_refused(open_server: MockServer):
    open_server.freeze()
    far = open_server.advance(86400)["now"]
    back = open_server.reset_clock()
    assert back["mode"] == "real" and back["now"] < far - 86000
    r = httpx.post(f"{open_server.base_url}/_mock/clock", json={"advance": 5})
    assert r.status_code == 400 and "unknown clock fields ['advance']" in r.json()["error"]


def test_requests_total_counts_the_matches_not_the_journal(open_server: MockServer) -> None:
    with httpx.Client(base_url=open_server.base_url) as client:
        for _ in range(3):
            client.get("/bumblebee/webhooks")
        client.get("/hubble/api/org/x/devices")
        body = client.get("/_mock/requests", params={"api": "bumblebee", "limit": 2}).json()
    assert body["total"] == 3  # every bumblebee request retained, though only 2 are listed
    assert len(body["requests"]) == 2
    assert body["journal_size"] >= 4
