"""Item 4: odd `x-timestamp` values on Hubby requests are a clear 401 in Hubby's shape,
never a 500: superscript digits (which str.isdigit accepts and int() refuses), thousands of
digits (over int()'s 4,300-digit limit), signs, spaces, exponents."""

from __future__ import annotations

import pytest

from .conftest import Door

ODD = [b"\xb9", b"\xb2\xb3", b"1" * 4400, b"1" * 17, b"-1", b"+1715558400000", b"1e12", b"0x10", b"1 2", b"\xd9\xa1"]


@pytest.mark.parametrize("value", ODD, ids=lambda v: repr(v[:12]))
def test_an_odd_timestamp_is_a_401(door: Door, value: bytes):
    creds = door.server.credentials()["hubby"]
    headers = {"x-api-key": creds["api_key"], "x-timestamp": value, "x-signature": "0" * 64}
    r = door.http.get("/hubby/api/bookings", headers=headers)
    assert r.status_code == 401, r.text
    body = r.json()
    assert body["success"] is False and body["message"].startswith("Invalid timestamp"), body


def test_a_good_timestamp_still_signs(door: Door):
    assert door.http.get("/hubby/api/bookings", auth=door.hubby_signer()).status_code == 200
