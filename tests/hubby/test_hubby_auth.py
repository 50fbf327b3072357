"""HMAC authentication: signed as Hubby's Node.js sample and a Python partner would, every
one-character change refused with the right 401, the window in both directions, and the
journal showing the string the server expected."""

from __future__ import annotations

import hashlib
import hmac
import json
import shutil
import subprocess
import time
from typing import Any

import httpx
import pytest

from mockserver.testing import MockServer

NODE_SAMPLE = r"""
// Hubby's 2.0.0 sample, with its variable slips fixed: timestamp + method + path (with the
// query), HMAC-SHA256 with the secret, hex.
const crypto = require('crypto');
const [secretKey, publicKey, baseUrl, method, url, timestamp] = process.argv.slice(1);
function generateApiHeaders(method, url) {
    let path = String(url).replace(baseUrl, '');
    const payload = timestamp + method + path;
    const signature = crypto.createHmac('sha256', secretKey).update(payload).digest('hex');
    return {'x-timestamp': timestamp, 'x-signature': signature, 'x-api-key': publicKey, 'Accept': 'application/json'};
}
process.stdout.write(JSON.stringify(generateApiHeaders(method, url)));
"""


def node_port_headers(secret: str, key: str, base_url: str, method: str, url: str, timestamp: str) -> dict[str, str]:
    """The Node sample, line by line in Python (String.replace replaces the first match)."""
    path = url.replace(base_url, "", 1)
    payload = timestamp + method + path
    signature = hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()
    return {"x-timestamp": timestamp, "x-signature": signature, "x-api-key": key, "Accept": "application/json"}


def python_partner_headers(secret: str, key: str, method: str, path_and_query: str, timestamp: int) -> dict[str, str]:
    message = f"{timestamp}{method.upper()}{path_and_query}"
    signature = hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()
    return {"x-api-key": key, "x-timestamp": str(timestamp), "x-signature": signature}


def now_ms(server: MockServer) -> int:
    return server.runtime.clock.now_ms()


def raw(server: MockServer, method: str, path_and_query: str, headers: dict[str, str], **kw: Any) -> httpx.Response:
    return httpx.request(method, server.hubby_url + path_and_query, headers=headers, timeout=30, **kw)


@pytest.fixture
def creds(hubby_api: Any) -> dict[str, str]:
    return {"key": hubby_api.api_key, "secret": hubby_api.secret}


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
@pytest.mark.parametrize("base", ["/hubby/api", "/hubby"])
def test_real_node_sample_signature_is_accepted(mockserver: MockServer, creds: dict[str, str], base: str) -> None:
    base_url = mockserver.base_url + base
    url = f"{mockserver.hubby_url}/bookings?perPage=10&bookingId=DEMO-GR-001"
    out = subprocess.run(
        ["node", "-e", NODE_SAMPLE, creds["secret"], creds["key"], base_url, "GET", url, str(now_ms(mockserver))],
        capture_output=True, text=True, check=True, timeout=30,
    )  # fmt: skip
    headers = json.loads(out.stdout)
    r = httpx.get(url, headers=headers, timeout=30)
    assert r.status_code == 200, r.text
    assert [b["booking_id"] for b in r.json()["data"]] == ["DEMO-GR-001"]


@pytest.mark.parametrize("base", ["/hubby/api", "/hubby"])
def test_node_port_with_and_without_api_prefix(mockserver: MockServer, creds: dict[str, str], base: str) -> None:
    url = f"{mockserver.hubby_url}/bookings?perPage=10"
    headers = node_port_headers(creds["secret"], creds["key"], mockserver.base_url + base, "GET", url, str(now_ms(mockserver)))
    r = httpx.get(url, headers=headers, timeout=30)
    assert r.status_code == 200, r.text
    assert r.json()["meta"]["perPage"] == 10


def test_python_partner_signature_on_a_post(mockserver: MockServer, creds: dict[str, str]) -> None:
    headers = python_partner_headers(creds["secret"], creds["key"], "post", "/api/bookings", now_ms(mockserver))
    body = {"departure_date": "2030-01-02", "booking_id": "PY-1", "package_specifications": [{"destination": "GR"}]}
    r = raw(mockserver, "POST", "/bookings", headers, json=body)  # the body is not signed
    assert r.status_code == 200, r.text


def test_the_plugin_client_signs(hubby_api: Any) -> None:
    r = hubby_api.client.get("/countries")
    assert r.status_code == 200
    assert {"iso2": "GR", "iso3": "GRC", "name": "Greece", "region": "EU"} in r.json()["data"]


@pytest.mark.parametrize(
    "what",
    ["method", "path", "query", "timestamp", "secret", "uppercase-hex", "api-key-of-another-partner"],
)
def test_a_one_character_change_fails(mockserver: MockServer, creds: dict[str, str], new_partner: Any, what: str) -> None:
    ts = now_ms(mockserver)
    method, target, secret = "GET", "/bookings?perPage=10", creds["secret"]
    signed_method, signed_target, signed_ts = method, target, ts
    if what == "method":
        signed_method = "PUT"
    elif what == "path":
        signed_target = "/booking?perPage=10"
    elif what == "query":
        signed_target = "/bookings?perPage=11"
    elif what == "timestamp":
        signed_ts = ts + 1
    elif what == "secret":
        secret = secret[:-1] + ("x" if secret[-1] != "x" else "y")
    headers = python_partner_headers(secret, creds["key"], signed_method, signed_target, signed_ts)
    headers["x-timestamp"] = str(ts)
    if what == "uppercase-hex":
        headers["x-signature"] = headers["x-signature"].upper()
    if what == "api-key-of-another-partner":
        headers["x-api-key"] = new_partner("Other Travel").api_key
    r = raw(mockserver, method, target, headers)
    assert r.status_code == 401
    body = r.json()
    assert body["success"] is False
    assert body["message"].startswith("Invalid signature: x-signature must be the lowercase hex HMAC-SHA256")
    assert f"'{ts}GET/bookings?perPage=10'" in body["message"]
    assert f"'{ts}GET/api/bookings?perPage=10'" in body["message"]
    if what == "uppercase-hex":
        assert "upper-case hex" in body["message"]


def test_signature_hints_name_the_usual_mistakes(mockserver: MockServer, creds: dict[str, str]) -> None:
    ts = now_ms(mockserver)
    cases = {
        "/hubby/api/bookings?perPage=5": "the mock's mount prefix /hubby",
        "/bookings": "no query string",
    }
    for signed, hint in cases.items():
        headers = python_partner_headers(creds["secret"], creds["key"], "GET", signed, ts)
        r = raw(mockserver, "GET", "/bookings?perPage=5", headers)
        assert r.status_code == 401
        assert hint in r.json()["message"]


@pytest.mark.parametrize(("skew_s", "word"), [(-301, "behind"), (301, "ahead of")])
def test_timestamps_outside_the_window(mockserver: MockServer, creds: dict[str, str], skew_s: int, word: str) -> None:
    mockserver.freeze()
    try:
        ts = now_ms(mockserver) + skew_s * 1000
        headers = python_partner_headers(creds["secret"], creds["key"], "GET", "/countries", ts)
        r = raw(mockserver, "GET", "/countries", headers)
        assert r.status_code == 401
        message = r.json()["message"]
        assert message.startswith("Request timestamp is too old or too far in the future")
        assert f"301.000 s {word} the sandbox clock" in message and "real time" in message
        assert "the accepted window is 300 s either way" in message
    finally:
        mockserver.unfreeze()


@pytest.mark.parametrize("skew_s", [-299, 299])
def test_timestamps_inside_the_window(mockserver: MockServer, creds: dict[str, str], skew_s: int) -> None:
    mockserver.freeze()
    try:
        ts = now_ms(mockserver) + skew_s * 1000
        r = raw(mockserver, "GET", "/countries", python_partner_headers(creds["secret"], creds["key"], "GET", "/countries", ts))
        assert r.status_code == 200
    finally:
        mockserver.unfreeze()


def test_a_signature_made_with_real_time_survives_a_sandbox_clock_move(mockserver: MockServer, creds: dict[str, str]) -> None:
    """Seed 002 line 29: `x-timestamp` is the *current* Unix time in milliseconds; hubby-notes.md
    line 92: no skew window is documented. The fake's window (±300 s) therefore applies to real
    time or the sandbox clock, whichever the partner signed with (issue 12, item 6)."""
    mockserver.freeze()
    try:
        real_headers = python_partner_headers(creds["secret"], creds["key"], "GET", "/countries", int(time.time() * 1000))
        assert raw(mockserver, "GET", "/countries", real_headers).status_code == 200
        mockserver.advance(3600)  # the sandbox is an hour ahead of real time now
        assert raw(mockserver, "GET", "/countries", real_headers).status_code == 200
        sandbox = python_partner_headers(creds["secret"], creds["key"], "GET", "/countries", now_ms(mockserver))
        assert raw(mockserver, "GET", "/countries", sandbox).status_code == 200
        stale = int(time.time() * 1000) - 301_000  # outside both windows
        r = raw(mockserver, "GET", "/countries", python_partner_headers(creds["secret"], creds["key"], "GET", "/countries", stale))
        assert r.status_code == 401
        message = r.json()["message"]
        assert "behind real time" in message and "behind the sandbox clock" in message
    finally:
        mockserver.unfreeze()


def test_seconds_instead_of_milliseconds_gets_a_hint(mockserver: MockServer, creds: dict[str, str]) -> None:
    ts = now_ms(mockserver) // 1000
    r = raw(mockserver, "GET", "/countries", python_partner_headers(creds["secret"], creds["key"], "GET", "/countries", ts))
    assert r.status_code == 401
    assert "it looks like seconds, but x-timestamp is in milliseconds" in r.json()["message"]


def test_a_timestamp_that_is_not_a_number(mockserver: MockServer, creds: dict[str, str]) -> None:
    headers = python_partner_headers(creds["secret"], creds["key"], "GET", "/countries", now_ms(mockserver))
    headers["x-timestamp"] = "yesterday"
    r = raw(mockserver, "GET", "/countries", headers)
    assert r.status_code == 401
    assert r.json()["message"].startswith("Invalid timestamp: x-timestamp must be Unix time in milliseconds")


@pytest.mark.parametrize("drop", [("x-api-key",), ("x-timestamp",), ("x-signature",), ("x-timestamp", "x-signature")])
def test_missing_headers_are_named(mockserver: MockServer, creds: dict[str, str], drop: tuple[str, ...]) -> None:
    headers = python_partner_headers(creds["secret"], creds["key"], "GET", "/countries", now_ms(mockserver))
    for name in drop:
        headers.pop(name)
    r = raw(mockserver, "GET", "/countries", headers)
    assert r.status_code == 401
    assert r.json() == {
        "success": False,
        "message": f"Missing authentication headers: {', '.join(drop)} "
        "(every partner call needs x-api-key, x-timestamp and x-signature)",
    }


def test_unknown_api_key(mockserver: MockServer, creds: dict[str, str]) -> None:
    headers = python_partner_headers(creds["secret"], "not-a-key", "GET", "/countries", now_ms(mockserver))
    r = raw(mockserver, "GET", "/countries", headers)
    assert r.status_code == 401
    assert r.json()["message"].startswith("Invalid API key: no partner has the key 'not-a-key'")


def test_inactive_partner(mockserver: MockServer, new_partner: Any) -> None:
    p = new_partner("Dormant Travel", is_active=False)
    r = p.client.get("/countries")
    assert r.status_code == 401
    assert "is inactive" in r.json()["message"]


def test_auth_comes_before_body_validation(mockserver: MockServer) -> None:
    r = httpx.post(mockserver.hubby_url + "/bookings", json={"nonsense": True}, timeout=30)
    assert r.status_code == 401


def test_journal_shows_the_expected_string(mockserver: MockServer, creds: dict[str, str]) -> None:
    ts = now_ms(mockserver)
    headers = python_partner_headers("wrong-secret", creds["key"], "GET", "/bookings?bookingId=X1", ts)
    assert raw(mockserver, "GET", "/bookings?bookingId=X1", headers).status_code == 401
    entry = mockserver.requests(api="hubby", limit=1)[0]
    assert entry["status"] == 401
    assert entry["debug"]["expected_string_to_sign"] == [f"{ts}GET/bookings?bookingId=X1", f"{ts}GET/api/bookings?bookingId=X1"]
    assert "Invalid signature" in entry["error"]


def test_public_endpoints_need_no_signature(hubby_api: Any) -> None:
    code = hubby_api.client.get("/bookings", params={"bookingId": "WL-1001"}).json()["data"]
    assert code == []  # another partner's booking
    # the claim page calls this without HMAC headers: an unknown uuid is a 404, not a 401
    r = httpx.post(hubby_api.base_url + "/promo-codes/claim/no-such-uuid", json={"email": "a@example.com"}, timeout=30)
    assert r.status_code == 404
    r = httpx.post(hubby_api.base_url + "/webapp/auth/exchange", json={"token": "rt_nope"}, timeout=30)
    assert r.status_code == 401
    assert r.json()["message"] == "Redirect token is invalid or expired: unknown token"


def test_webapp_dashboard_needs_a_session(hubby_api: Any) -> None:
    r = httpx.get(hubby_api.base_url + "/webapp/me/dashboard", timeout=30)
    assert r.status_code == 401
    assert "Authorization: Bearer" in r.json()["message"]
    r = httpx.get(hubby_api.base_url + "/webapp/me/dashboard", headers={"Authorization": "Bearer a.b.c"}, timeout=30)
    assert r.status_code == 401
    assert r.json()["message"].startswith("Invalid or expired session")


def test_the_window_is_configurable(mockserver: MockServer, creds: dict[str, str]) -> None:
    settings = mockserver.runtime.settings
    saved = settings.hubby_signature_window
    settings.hubby_signature_window = 5.0
    try:
        ts = now_ms(mockserver) - 6000
        r = raw(mockserver, "GET", "/countries", python_partner_headers(creds["secret"], creds["key"], "GET", "/countries", ts))
        assert r.status_code == 401
        assert "the accepted window is 5 s either way" in r.json()["message"]
    finally:
        settings.hubby_signature_window = saved
