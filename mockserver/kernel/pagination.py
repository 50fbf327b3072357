"""The one continuation-token codec: signed, expiring, carrying the original query.

A token is base64url(JSON) + "." + HMAC. Tampering is a 400, expiry (on the clock) is a
400; the handler receives the payload it put in, so a later page needs no re-sent query.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

import orjson

from .clock import Clock


class InvalidToken(ValueError):
    pass


class TokenCodec:
    def __init__(self, secret: bytes, clock: Clock, ttl_seconds: float = 3600.0) -> None:
        self._secret = secret
        self._clock = clock
        self.ttl = ttl_seconds

    def encode(self, payload: dict[str, Any]) -> str:
        body = dict(payload, exp=round(self._clock.now() + self.ttl, 3))
        raw = base64.urlsafe_b64encode(orjson.dumps(body)).rstrip(b"=")
        mac = hmac.digest(self._secret, raw, "sha256")[:16]  # the one-shot C path
        return raw.decode() + "." + base64.urlsafe_b64encode(mac).rstrip(b"=").decode()

    def decode(self, token: str) -> dict[str, Any]:
        try:
            raw, mac = token.encode().split(b".", 1)
            expected = hmac.new(self._secret, raw, hashlib.sha256).digest()[:16]
            given = base64.urlsafe_b64decode(mac + b"=" * (-len(mac) % 4))
        except (ValueError, UnicodeError) as exc:
            raise InvalidToken("the continuation token is malformed") from exc
        if not hmac.compare_digest(expected, given):
            raise InvalidToken("the continuation token is not valid (it was altered or issued elsewhere)")
        try:
            payload = orjson.loads(base64.urlsafe_b64decode(raw + b"=" * (-len(raw) % 4)))
        except (ValueError, orjson.JSONDecodeError) as exc:
            raise InvalidToken("the continuation token is malformed") from exc
        if not isinstance(payload, dict):
            raise InvalidToken("the continuation token is malformed")
        if float(payload.get("exp", 0)) < self._clock.now():
            raise InvalidToken("the continuation token has expired; start again without it")
        payload.pop("exp", None)
        return payload
