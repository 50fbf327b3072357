"""Credentials on every request the suites send.

Both are `requests` auth objects handed to schemathesis with `schema.auth.set_from_requests`,
so they count as explicit auth (`ignored_auth` strips them for its probes) and they run at
send time, on the request exactly as it goes out: the Hubby signature covers the final path
and query string, whatever schemathesis generated and however `requests` encoded it.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable
from urllib.parse import urlsplit

import requests.auth

from .target import Target


def hubby_signature(secret: str, timestamp: str, method: str, path_and_query: str) -> str:
    """Hex HMAC-SHA256 of timestamp(ms) + METHOD + path[?query], keyed with the partner secret."""
    message = f"{timestamp}{method.upper()}{path_and_query}"
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def signed_path(url: str, base_url: str, sign_prefix: str = "/api") -> str:
    """The path Hubby signs: the URL's path below the base URL's path, under `sign_prefix`,
    plus `?query` when there is one (kept exactly as sent)."""
    parts = urlsplit(url)
    path = parts.path
    base_path = urlsplit(base_url).path.rstrip("/")
    if base_path and path.startswith(base_path):
        path = path[len(base_path) :] or "/"
    path = sign_prefix.rstrip("/") + path
    return path + (f"?{parts.query}" if parts.query else "")


class BearerAuth(requests.auth.AuthBase):
    def __init__(self, token: str) -> None:
        self.token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self.token}"
        return request


class HubbyHmacAuth(requests.auth.AuthBase):
    """Signs each request as Hubby requires (`x-api-key`, `x-timestamp`, `x-signature`)."""

    def __init__(
        self,
        api_key: str,
        secret: str,
        base_url: str,
        *,
        sign_prefix: str = "/api",
        clock_ms: Callable[[], int] | None = None,
    ) -> None:
        self.api_key = api_key
        self.secret = secret
        self.base_url = base_url
        self.sign_prefix = sign_prefix
        self.clock_ms = clock_ms or (lambda: int(time.time() * 1000))

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        timestamp = str(self.clock_ms())
        path = signed_path(request.url or "", self.base_url, self.sign_prefix)
        request.headers["x-api-key"] = self.api_key
        request.headers["x-timestamp"] = timestamp
        request.headers["x-signature"] = hubby_signature(self.secret, timestamp, request.method or "GET", path)
        return request


def requests_auth(target: Target) -> requests.auth.AuthBase | None:
    """The target's credentials (None for an API without authentication, Bumblebee's sandbox)."""
    if target.profile.auth == "none":
        return None
    if target.profile.auth == "bearer":
        assert target.token is not None
        return BearerAuth(target.token)
    assert target.api_key is not None and target.secret is not None
    return HubbyHmacAuth(target.api_key, target.secret, target.base_url, sign_prefix=target.sign_prefix)


def session_for(target: Target) -> requests.Session:
    """A plain `requests` session carrying the target's credentials (preflight, paging, webhooks)."""
    session = requests.Session()
    session.auth = requests_auth(target)
    session.trust_env = False
    return session
