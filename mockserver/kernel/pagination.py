"""The one continuation-token codec: signed, expiring, carrying the original query.

A token is base64url(JSON) + "." + HMAC. Tampering is a 400, expiry (on the clock) is a
400; the handler receives the payload it put in, so a later page needs no re-sent query.
The key is the runtime's per-process token secret (a callable, read when a token is made
or checked), and a payload that does not have the codec's `shape` (a JSON Schema) is
refused as malformed too, so no token can reach a handler with fields it does not expect.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import math
from collections.abc import Callable
from typing import Any

import jsonschema_rs
import orjson

from .clock import Clock
from .hmacs import hmac_sha256

_URLSAFE = bytes.maketrans(b"+/", b"-_")


def _b64(data: bytes) -> bytes:
    """Unpadded base64url (what base64.urlsafe_b64encode(data).rstrip(b"=") gives)."""
    return binascii.b2a_base64(data, newline=False).translate(_URLSAFE).rstrip(b"=")


class InvalidToken(ValueError):
    pass


class TokenCodec:
    def __init__(
        self,
        secret: bytes | Callable[[], bytes],
        clock: Clock,
        ttl_seconds: float = 3600.0,
        shape: dict[str, Any] | None = None,
    ) -> None:
        self._key = secret if callable(secret) else (lambda: secret)
        self._clock = clock
        self.ttl = ttl_seconds
        self._shape = jsonschema_rs.Draft202012Validator(shape) if shape is not None else None
        self._last: tuple[float, bytes, bytes, str] | None = None  # (exp, payload JSON, key, token)

    def encode(self, payload: dict[str, Any]) -> str:
        """The token for `payload`, expiring `ttl` seconds from now (to the millisecond).

        A token is a pure function of (payload, expiry, key), and a client polling the same
        page asks for the same payload many times a millisecond: the last token made is
        kept and given again while those three are the same."""
        exp = round(self._clock.now() + self.ttl, 3)
        key = self._key()
        plain = orjson.dumps(payload)
        last = self._last
        if last is not None and last[0] == exp and last[1] == plain and last[2] == key:
            return last[3]
        if "exp" in payload or plain == b"{}":
            body = orjson.dumps(dict(payload, exp=exp))
        else:  # the payload's JSON with `exp` as its last member: what dumps(dict(payload, exp=exp)) gives
            body = plain[:-1] + b',"exp":' + orjson.dumps(exp) + b"}"
        raw = _b64(body)
        mac = hmac_sha256(key, raw)[:16]
        token = (raw + b"." + _b64(mac)).decode()
        self._last = (exp, plain, key, token)
        return token

    def decode(self, token: str) -> dict[str, Any]:
        try:
            raw, mac = token.encode().split(b".", 1)
            expected = hmac_sha256(self._key(), raw)[:16]
            given = base64.urlsafe_b64decode(mac + b"=" * (-len(mac) % 4))
        except (ValueError, UnicodeError) as exc:
            raise InvalidToken("the continuation token is malformed") from exc
        if not hmac.compare_digest(expected, given):
            raise InvalidToken("the continuation token is not valid (it was altered or issued elsewhere)")
        try:
            payload = orjson.loads(base64.urlsafe_b64decode(raw + b"=" * (-len(raw) % 4)))
        except (ValueError, orjson.JSONDecodeError) as exc:
            raise InvalidToken("the continuation token is malformed") from exc
        exp = payload.get("exp") if isinstance(payload, dict) else None
        if isinstance(exp, bool) or not isinstance(exp, int | float) or not math.isfinite(exp):
            raise InvalidToken("the continuation token is malformed")
        if exp < self._clock.now():
            raise InvalidToken("the continuation token has expired; start again without it")
        payload.pop("exp", None)
        if self._shape is not None and not self._shape.is_valid(payload):
            raise InvalidToken("the continuation token is malformed")
        return payload
