"""Item 5: forged Continuation-Tokens are a 400 in Hubble's shape, never a 500. The signing
key is a per-process secret (no longer derivable from the seed and the sandbox token),
kept with --state so a token survives a restart, and never shown in a snapshot."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from pathlib import Path

import httpx
import pytest

from mockserver.settings import DEFAULT_HUBBLE_TOKEN
from mockserver.testing import MockServer

from .conftest import Door


def forge(key: bytes, payload: object) -> str:
    raw = base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=")
    mac = hmac.new(key, raw, hashlib.sha256).digest()[:16]
    return raw.decode() + "." + base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def list_devices(door: Door, token: str, path: str = "devices") -> httpx.Response:
    return door.http.get(
        f"/hubble/api/org/{door.org}/{path}", headers=door.hubble_headers(**{"Continuation-Token": token})
    )


def a_real_token(door: Door) -> str:
    door.http.post(
        f"/hubble/api/v2/org/{door.org}/devices", json={"n_devices": 12, "encryption": "AES-256-CTR"}, headers=door.hubble_headers()
    )
    r = door.http.get(f"/hubble/api/org/{door.org}/devices", params={"limit": 10}, headers=door.hubble_headers())
    assert r.status_code == 200 and r.headers.get("continuation-token"), r.text
    return r.headers["continuation-token"]


def test_a_token_signed_with_the_old_derivable_key_is_refused(door: Door):
    seed = door.server.settings.seed
    old_key = hashlib.sha256(f"mockserver:{seed}:{DEFAULT_HUBBLE_TOKEN}".encode()).digest()
    real = json.loads(base64.urlsafe_b64decode(a_real_token(door).split(".")[0] + "=="))
    for suffix, path in ((b"devices", "devices"), (b"packets", "packets")):
        r = list_devices(door, forge(old_key + suffix, real), path)
        assert r.status_code == 400 and "not valid" in r.json()["description"], r.text


GARBAGE = [
    ".", "..", "a.b.c", "=.=", "!!!.###", "x" * 5000, "eyJ4IjoxfQ", "eyJ4IjoxfQ.", ".AAAA",
    "bnVsbA.AAAAAAAAAAAAAAAAAAAAAA", "\u00e9\u00e8.\u00ff", "%00.%00", "e30.e30", "a . b",
]  # fmt: skip


@pytest.mark.parametrize("token", GARBAGE)
@pytest.mark.parametrize("path", ["devices", "packets"])
def test_a_garbage_token_is_a_400(door: Door, token: str, path: str):
    r = door.http.get(
        f"/hubble/api/org/{door.org}/{path}",
        headers={**door.hubble_headers(), "Continuation-Token": token.encode("latin-1")},
    )
    assert r.status_code == 400, r.text
    assert r.json()["name"] == "Bad Request" and "Continuation-Token" in r.json()["description"]


def test_validly_signed_payloads_of_the_wrong_shape_are_a_400(door: Door):
    """Defence in depth: even a payload carrying the server's own signature must have the
    shape the server writes, or it is malformed (no KeyError or TypeError in a handler)."""
    real = json.loads(base64.urlsafe_b64decode(a_real_token(door).split(".")[0] + "=="))
    key = door.server.runtime.token_secret.key() + b"devices"
    variants = [
        [], "text", 7, None, {},
        {**real, "exp": "tomorrow"}, {**real, "exp": True}, {k: v for k, v in real.items() if k != "exp"},
        {k: v for k, v in real.items() if k != "q"}, {**real, "c": "x"}, {**real, "c": ["a", 1]}, {**real, "c": [1]},
        {**real, "q": {**real["q"], "limit": 0}}, {**real, "q": {**real["q"], "limit": "10"}},
        {**real, "q": {**real["q"], "sort": "name"}}, {**real, "q": {**real["q"], "created": [1]}},
        {**real, "q": {**real["q"], "envs": ["prod"]}}, {**real, "org": 5}, {**real, "extra": 1},
    ]  # fmt: skip
    for payload in variants:
        r = list_devices(door, forge(key, payload))
        assert r.status_code == 400, (payload, r.text)
        assert "malformed" in r.json()["description"] or "expired" in r.json()["description"], (payload, r.text)
    assert list_devices(door, forge(key, real)).status_code == 200  # the genuine payload still works


def test_the_token_secret_is_not_in_a_snapshot(door: Door):
    snapshot = door.http.get("/_mock/state").json()
    assert not any(name.startswith("kernel.secret") for name in snapshot["tables"])
    before = a_real_token(door)
    assert door.http.put("/_mock/state", json=snapshot).status_code == 200
    door.http.post(
        f"/hubble/api/v2/org/{door.org}/devices", json={"n_devices": 12, "encryption": "AES-256-CTR"}, headers=door.hubble_headers()
    )
    assert list_devices(door, before).status_code == 200  # a restore keeps the key


def test_a_token_survives_a_restart_with_state(tmp_path: Path):
    state = tmp_path / "state.db"
    with MockServer(scenario="demo", rate_limit=False, state_path=str(state), seed=3) as first:
        http = httpx.Client(base_url=first.base_url, timeout=30, trust_env=False)
        door = Door(first, http)
        token = a_real_token(door)
        http.close()
    with MockServer(scenario="demo", rate_limit=False, state_path=str(state), seed=3) as second:
        with httpx.Client(base_url=second.base_url, timeout=30, trust_env=False) as http:
            r = list_devices(Door(second, http), token)
            assert r.status_code == 200 and len(r.json()["devices"]) >= 1, r.text
    with MockServer(scenario="demo", rate_limit=False, seed=3) as other:  # another process's key
        with httpx.Client(base_url=other.base_url, timeout=30, trust_env=False) as http:
            r = list_devices(Door(other, http), token)
            assert r.status_code == 400 and "not valid" in r.json()["description"], r.text


@pytest.mark.parametrize("params", [{}, {"device_id": None}])
def test_the_tokens_the_server_writes_pass_its_own_shape_check(door: Door, params: dict):
    """The payload shapes the codec enforces follow what list-packets and list-devices write:
    every token the server hands out is taken back (a caught-up stream, a device read)."""
    devices = door.http.get(f"/hubble/api/org/{door.org}/devices", headers=door.hubble_headers()).json()["devices"]
    door.http.post("/_mock/hubble/packets", json={"count": 2})
    query = {"device_id": devices[0]["id"]} if "device_id" in params else {}
    r = door.http.get(f"/hubble/api/org/{door.org}/packets", params=query, headers=door.hubble_headers())
    assert r.status_code == 200, r.text
    token = r.headers.get("continuation-token")
    if token:
        again = list_devices(door, token, "packets")
        assert again.status_code == 200, again.text
    assert list_devices(door, a_real_token(door)).status_code == 200
