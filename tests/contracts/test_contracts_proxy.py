"""The validating proxy: traffic passes unchanged both ways, drift is logged; against the fake
itself as the target and against a deliberately drifting tiny server."""

from __future__ import annotations

import gzip
import io
import json
from typing import Any

import httpx
import pytest
from brokenapis import ORG_ID, serve

from mockserver.contracts.proxy import DriftLog, ValidatingProxy


@pytest.fixture
def proxied():
    """proxied(api, target) -> (proxy base URL, its drift log)."""
    from contextlib import ExitStack

    with ExitStack() as stack:

        def start(api: str, target: str) -> tuple[str, DriftLog]:
            log = DriftLog(io.StringIO())
            url = stack.enter_context(serve(ValidatingProxy(api, target, log=log)))
            return url, log

        yield start


def kinds(log: DriftLog) -> set[tuple[str, str]]:
    return {(d["direction"], d["kind"]) for d in log.snapshot()["drift"]}


def test_traffic_to_the_fake_passes_unchanged_and_valid_traffic_shows_no_drift(contract_fake, proxied):
    creds = contract_fake.credentials()["hubble"]
    url, log = proxied("hubble", contract_fake.hubble_url)
    headers = {"Authorization": f"Bearer {creds['token']}"}
    org = creds["org_id"]
    for path, params in ((f"/api/org/{org}", None), (f"/api/org/{org}/check", None), (f"/api/org/{org}/key_scopes", None),
                         (f"/api/org/{org}/billing/invoices", None), (f"/api/org/{org}/device_metrics", {"days": 7})):
        direct = httpx.get(contract_fake.hubble_url + path, params=params, headers=headers)
        via = httpx.get(url + path, params=params, headers=headers)
        assert (via.status_code, via.content) == (direct.status_code, direct.content), path
        assert via.headers["content-type"] == direct.headers["content-type"]
        assert "x-request-id" in via.headers and "x-ratelimit-limit" in via.headers
    assert log.snapshot()["drift"] == []
    # a request that breaks the spec still reaches the fake (its 400 comes back as is) and is logged
    bad = httpx.get(f"{url}/api/org/{org}/devices", params={"limit": 5, "colour": "red"}, headers=headers)
    assert bad.status_code == 400 and bad.json()["code"] == 400
    assert {("request", "violation"), ("request", "undocumented-query-parameter")} <= kinds(log)
    snapshot = httpx.get(f"{url}/_proxy/drift").json()
    assert snapshot["requests"] == 6 and snapshot["counts"]["request.violation"] == 1
    assert httpx.delete(f"{url}/_proxy/drift").json() == {"cleared": True}
    assert log.snapshot()["drift"] == []


def test_hubby_through_the_proxy_keeps_its_signature_valid(contract_fake, proxied):
    import requests

    from mockserver.contracts.auth import HubbyHmacAuth

    creds = contract_fake.credentials()["hubby"]
    url, log = proxied("hubby", contract_fake.hubby_url)
    # the client signs for the proxy's URL; the proxy forwards path and query untouched
    auth = HubbyHmacAuth(creds["api_key"], creds["secret"], url)
    response = requests.get(f"{url}/countries", auth=auth, timeout=30)
    assert response.status_code == 200 and response.json()["success"] is True
    # the only drift: the fake's pipeline adds X-Request-ID to every answer, which the Hubby
    # spec does not document (reported to the spec's owner)
    assert [d["detail"] for d in log.snapshot()["drift"]] in ([], ["header `x-request-id`"])


class DriftingApi:
    """A Hubble look-alike whose answers drift from the spec in every documented way."""

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        while (await receive()).get("more_body"):
            pass
        path = scope["path"]
        status, headers, body = 200, [(b"content-type", b"application/json"), (b"x-request-id", b"r1")], b"{}"
        if path.endswith("/check"):
            status, body = 418, b'{"teapot": true}'  # an undocumented status
        elif path.endswith(f"/org/{ORG_ID}"):
            headers.append((b"x-experimental", b"yes"))  # an undocumented header
            body = json.dumps({"id": ORG_ID, "name": "Acme", "plan": "gold"}).encode()  # an undocumented field
        elif path.endswith("/key_scopes"):
            headers = [(b"content-type", b"application/json"), (b"content-encoding", b"gzip")]  # X-Request-ID missing
            body = gzip.compress(json.dumps({"scopes": "all"}).encode())  # a wrong type, gzipped
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def test_drift_of_a_target_is_logged_without_changing_what_the_client_gets(proxied):
    with serve(DriftingApi()) as upstream:
        url, log = proxied("hubble", upstream)
        teapot = httpx.get(f"{url}/api/org/{ORG_ID}/check", headers={"Authorization": "Bearer x"})
        assert (teapot.status_code, teapot.json()) == (418, {"teapot": True})
        org = httpx.get(f"{url}/api/org/{ORG_ID}", headers={"Authorization": "Bearer x"})
        assert org.headers["x-experimental"] == "yes" and org.json()["plan"] == "gold"
        scopes = httpx.get(f"{url}/api/org/{ORG_ID}/key_scopes", headers={"Authorization": "Bearer x"})
        assert scopes.headers["content-encoding"] == "gzip" and scopes.json() == {"scopes": "all"}
    found = log.snapshot()["drift"]
    details = [(d["operation"], d["kind"], d["detail"]) for d in found]
    assert ("validate-api-key", "undocumented-status", "status 418 is not documented") in details
    assert ("retrieve-organization-metadata", "undocumented-header", "header `x-experimental`") in details
    assert any(op == "retrieve-organization-metadata" and "plan" in detail for op, _, detail in details)
    assert ("list-key-scopes", "missing-header", "required header `x-request-id` is missing") in details
    assert any(op == "list-key-scopes" and kind == "violation" and "scopes" in detail for op, kind, detail in details)
    lines = log.stream.getvalue().splitlines()  # type: ignore[union-attr]
    assert len(lines) == len(found) and all(json.loads(line)["direction"] for line in lines)


def test_an_unreachable_target_answers_502_and_is_logged(proxied):
    url, log = proxied("hubble", "http://127.0.0.1:9")
    response = httpx.get(f"{url}/api/org/{ORG_ID}/check")
    assert response.status_code == 502 and "did not answer" in response.json()["error"]
    assert ("upstream", "unreachable") in kinds(log)


class CountingApi:
    """Answers 200 to anything and counts the requests that reach it."""

    def __init__(self) -> None:
        self.seen = 0

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        self.seen += 1
        more = True
        while more:
            more = (await receive()).get("more_body", False)
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": b"{}"})


def test_a_body_over_the_limit_is_refused_and_not_forwarded():
    upstream_app = CountingApi()
    log = DriftLog(io.StringIO())
    with serve(upstream_app) as upstream, serve(ValidatingProxy("hubble", upstream, log=log, max_body_bytes=1024)) as url:
        path = f"{url}/api/org/{ORG_ID}/devices"
        ok = httpx.post(path, content=b"x" * 1024, headers={"content-type": "application/json"})
        assert ok.status_code == 200 and upstream_app.seen == 1
        declared = httpx.post(path, content=b"x" * 1025, headers={"content-type": "application/json"})
        assert declared.status_code == 413 and "--max-body-bytes" in declared.json()["error"]

        def chunks():  # no Content-Length: the proxy counts as it reads
            for _ in range(8):
                yield b"y" * 512

        streamed = httpx.post(path, content=chunks(), headers={"content-type": "application/json"})
        assert streamed.status_code == 413
    assert upstream_app.seen == 1
    refused = [d for d in log.snapshot()["drift"] if d["kind"] == "body-too-large"]
    assert len(refused) == 2 and all(d["status"] == 413 for d in refused)


def test_the_proxy_server_cuts_off_an_oversized_head():
    import socket
    from urllib.parse import urlsplit

    from mockserver.contracts.proxy import server_config
    from mockserver.server_protocol import TRANSPORT_HEAD_LIMIT

    with serve(CountingApi()) as upstream:
        proxy = ValidatingProxy("hubble", upstream, log=DriftLog(io.StringIO()))
        with serve(proxy, server_config(proxy, "127.0.0.1", 0)) as url:
            head = (f"GET /api/org/{ORG_ID}/check HTTP/1.1\r\nHost: x\r\nX-Big: ").encode()
            with socket.create_connection(("127.0.0.1", urlsplit(url).port), timeout=30) as sock:
                try:
                    sock.sendall(head + b"a" * (4 * TRANSPORT_HEAD_LIMIT) + b"\r\n\r\n")
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the server may close before the client has written it all
                received = sock.recv(200)
            assert received.startswith((b"HTTP/1.1 431", b"HTTP/1.1 400")), received
