"""Hubby's HMAC authentication, and the web-app session for /webapp/me/*.

Every partner call carries `x-api-key`, `x-timestamp` (Unix milliseconds) and
`x-signature`: lowercase hex HMAC-SHA256, keyed with the partner secret, of

    timestamp + METHOD + path [+ "?" + query]

with no separator and no body. The path may be signed with or without the `/api` prefix
(Hubby's own documents show both). The timestamp must be within
`settings.hubby_signature_window` seconds, either way, of real time or of the sandbox clock
(a partner signs with its wall clock whatever the sandbox shows; the 401 says how far off
it is from each). Each failure
has its own 401 message, and the journal entry's `debug.expected_string_to_sign` lists the
strings the server would have accepted.
"""

from __future__ import annotations

import hmac
import time
from functools import lru_cache
from typing import Any
from urllib.parse import quote

from ...kernel.api import Call
from ...kernel.errors import Unauthorized
from ...kernel.hmacs import hmac_sha256

HEADERS = ("x-api-key", "x-timestamp", "x-signature")
API_PREFIX = "/api"


def sign(secret: str, message: str) -> str:
    return hmac_sha256(secret.encode(), message.encode()).hex()


def strings_to_sign(timestamp: str, method: str, path: str, raw_query: str) -> list[str]:
    """Every string the server accepts for one request: the path as received below the
    mount and with `/api` in front (plus percent-encoded forms when the path needs them)."""
    query = f"?{raw_query}" if raw_query else ""
    return [f"{timestamp}{method.upper()}{p}{query}" for p in _signed_paths(path)]


@lru_cache(maxsize=4096)
def _signed_paths(path: str) -> tuple[str, ...]:
    """The forms of a path a partner may sign (a pure function of the path, remembered)."""
    paths: tuple[str, ...] = (path, API_PREFIX + path)
    encoded = quote(path, safe="/:@!$&'()*+,;=-._~")
    if encoded != path:
        paths += (encoded, API_PREFIX + encoded)
    return paths


def authenticate(call: Call) -> Any:
    security = call.op.security
    if security == []:
        return None  # public: the claim page and the web app's token exchange
    if any("WebappBearer" in requirement for requirement in security):
        return _session(call)
    return _hmac(call)


def _session(call: Call) -> dict[str, Any]:
    header = call.headers.get("authorization") or ""
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Invalid or expired session: send 'Authorization: Bearer <session JWT from POST /webapp/auth/exchange>'")
    return call.model.session_principal(token.strip())


def _hmac(call: Call) -> dict[str, Any]:
    values = [(call.headers.get(h) or "").strip() for h in HEADERS]
    missing = [h for h, value in zip(HEADERS, values, strict=True) if not value]
    if missing:
        names = ", ".join(missing)
        raise Unauthorized(f"Missing authentication headers: {names} (every partner call needs x-api-key, x-timestamp and x-signature)")
    api_key, raw_ts, given = values
    partner = call.model.partner_by_key(api_key)
    if partner is None:
        raise Unauthorized(f"Invalid API key: no partner has the key '{api_key}' (staging and production keys differ)")
    if not partner.get("is_active", True):
        raise Unauthorized(f"Invalid API key: the key '{api_key}' is inactive")
    expected = strings_to_sign(raw_ts, call.method, call.path, call.raw_query)
    call.debug["expected_string_to_sign"] = expected
    if not _is_ms_timestamp(raw_ts):
        raise Unauthorized(f"Invalid timestamp: x-timestamp must be Unix time in milliseconds (13 digits, e.g. 1715558400000), got '{raw_ts}'")
    _check_timestamp(call, raw_ts)
    secret = partner["secret"]
    if not _signed_any(secret.encode(), given.encode(), expected):
        call.debug["signature_received"] = given
        raise Unauthorized(
            f"Invalid signature: x-signature must be the lowercase hex HMAC-SHA256, with this key's secret, of "
            f"'{expected[0]}' or '{expected[1]}'{_hint(given, secret, raw_ts, call)}",
        )
    return partner


def _signed_any(key: bytes, given: bytes, candidates: list[str]) -> bool:
    """Whether `given` is the lowercase hex HMAC-SHA256 of one of the candidates (stops at
    the first match; each comparison in constant time)."""
    for message in candidates:
        if hmac.compare_digest(given, hmac_sha256(key, message.encode()).hex().encode()):
            return True
    return False


def _is_ms_timestamp(raw: str) -> bool:
    """ASCII digits only (str.isdigit also takes '¹' and other scripts' digits, which int()
    refuses) and at most 16 of them (int() refuses over 4,300; 13 digits last until 2286)."""
    return raw.isascii() and raw.isdigit() and len(raw) <= 16


def _check_timestamp(call: Call, raw_ts: str) -> None:
    """Within the window of the sandbox clock or of real time: a partner signs with its own
    wall clock, a test may sign with the sandbox's (`GET /_mock/clock`); both are honest."""
    rt = call.runtime
    window = float(rt.settings.option("hubby_signature_window"))
    ts_ms = int(raw_ts)
    sandbox = (ts_ms - rt.clock.now_ms()) / 1000.0
    real = (ts_ms - int(time.time() * 1000)) / 1000.0
    if abs(sandbox) <= window or abs(real) <= window:
        return
    hint = "; it looks like seconds, but x-timestamp is in milliseconds" if len(raw_ts) <= 10 else ""
    if rt.clock.mode == "real" and abs(sandbox - real) < 1:
        against = f"{_offset(sandbox)} the server clock"
    else:
        against = f"{_offset(real)} real time and {_offset(sandbox)} the sandbox clock"
    raise Unauthorized(
        f"Request timestamp is too old or too far in the future: x-timestamp {raw_ts} is {against}; "
        f"the accepted window is {window:g} s either way of real time or of the sandbox clock{hint}",
    )


def _offset(skew: float) -> str:
    return f"{abs(skew):.3f} s {'behind' if skew < 0 else 'ahead of'}"


def _hint(given: str, secret: str, ts: str, call: Call) -> str:
    """A guess at the usual mistakes, tried only after a signature failed."""
    query = f"?{call.raw_query}" if call.raw_query else ""
    guesses = [
        (f"{ts}{call.method}{call.path}{query}", "upper-case hex", lambda s: sign(secret, s).upper()),
        (f"{ts}{call.method.lower()}{call.path}{query}", "a lower-case method", None),
        (f"{ts}{call.method}/hubby/api{call.path}{query}", "the mock's mount prefix /hubby (sign the path below it)", None),
        (f"{ts}{call.method}{API_PREFIX}{call.path}", "no query string (append '?' and the query as sent)", None),
        (f"{ts}{call.method}{call.path}", "no query string (append '?' and the query as sent)", None),
        (f"{ts}{call.method}{call.path}{query}{call.raw_body.decode('utf-8', 'replace')}", "the body (Hubby does not sign it)", None),
        (f"{ts}:{call.method}:{call.path}{query}", "separators (there are none)", None),
    ]
    for message, what, fn in guesses:
        if (fn or (lambda s: sign(secret, s)))(message) == given:
            if "query" in what and not query:
                continue
            return f" (it matches a signature made with {what})"
    return ""
