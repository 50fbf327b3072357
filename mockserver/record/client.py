"""One read-only HTTP client for recording: retries what a vendor asks to be retried, stops
with one clear line on what cannot succeed, and checks every answer against the API's spec.

    RecordError        bad input: exit 2 (unreachable URL, refused credentials, other 4xx)
      SpecBreach       a 2xx answer the spec does not allow (listed in the drift report too)
    Interrupted        the connection failed repeatedly mid-run: the state is saved, run again
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
from starlette.datastructures import Headers

from ..contracts import validation
from ..kernel.spec import NoRoute, Spec

BREACH_KINDS = {"violation", "undocumented-status", "undocumented-content-type", "undocumented-body"}
MAX_429 = 200  # consecutive 429s before giving up (each waits as Retry-After says)
MAX_PACE = 10.0  # the longest wait for a rate-limit slot without a 429
MAX_FAILURES = 4  # consecutive connection failures or 5xx before stopping (resumable)


class RecordError(Exception):
    """Bad input: reported as one line, exit status 2."""


class SpecBreach(RecordError):
    pass


class Interrupted(Exception):
    """The source went away mid-run; what was read so far is saved and a rerun resumes."""


class RecordClient:
    def __init__(
        self,
        base_url: str,
        *,
        api: str,
        spec: Spec,
        prefix: str = "",
        auth: httpx.Auth | None = None,
        headers: dict[str, str] | None = None,
        on_wait: Callable[[str, float], None] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        timeout: float = 60.0,
    ) -> None:
        self.api = api
        self.spec = spec
        self.prefix = prefix  # the part of the base URL's path that the spec's paths sit below
        self.base_url = base_url.rstrip("/")
        self.http = httpx.Client(base_url=self.base_url, auth=auth, headers=headers or {}, timeout=timeout,
                                 trust_env=False, follow_redirects=False)  # fmt: skip
        self.on_wait = on_wait or (lambda why, seconds: None)
        self.sleep = sleep
        self.drift: list[dict[str, Any]] = []
        self.requests = 0
        self.paced = 0  # waits taken because a bucket was full (no 429 needed)
        self.waited = 0.0

    def close(self) -> None:
        self.http.close()

    def get(self, path: str, params: dict[str, Any] | None = None) -> tuple[Any, httpx.Headers]:
        """GET one resource: (decoded JSON, headers)."""
        limited = failures = 0
        while True:
            try:
                response = self.http.get(path, params=params)
            except httpx.HTTPError as exc:
                if self.requests == 0 and isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
                    raise RecordError(f"cannot reach {self.base_url}: {type(exc).__name__}: {exc}") from None
                failures += 1
                if failures >= MAX_FAILURES:
                    raise Interrupted(f"the connection to {self.base_url} failed {failures} times in a row ({type(exc).__name__}: {exc})") from None
                self._wait("connection failed, retrying", 0.2 * 2**failures)
                continue
            self.requests += 1
            status = response.status_code
            if status == 429:
                limited += 1
                if limited > MAX_429:
                    raise Interrupted(f"{MAX_429} rate-limited answers in a row from {path}")
                self._wait("rate limited (429)", _retry_after(response, 1.0))
                continue
            if status in (500, 502, 503, 504):
                failures += 1
                if failures >= MAX_FAILURES:
                    raise Interrupted(f"{path} answered {status} {failures} times in a row")
                self._wait(f"{status}, retrying", _retry_after(response, 0.2 * 2**failures))
                continue
            if status in (401, 403):
                raise RecordError(f"the {self.api} API refused the credentials: {status} {_excerpt(response)}")
            if status >= 300:
                raise RecordError(f"GET {path} answered {status}: {_excerpt(response)}")
            self._check(path, response)
            self._pace(response)
            try:
                return response.json(), response.headers
            except ValueError:
                raise SpecBreach(f"GET {path}: the answer is not JSON") from None

    def _pace(self, response: httpx.Response) -> None:
        """With the last slot of a bucket taken, wait for one to drain before the next call
        (the bucket drains its `X-RateLimit-Limit` slots by `X-RateLimit-Reset`, a Unix time or
        a number of seconds) rather than be refused."""
        try:
            remaining = int(response.headers["x-ratelimit-remaining"])
            limit = max(1, int(response.headers["x-ratelimit-limit"]))
            reset = float(response.headers["x-ratelimit-reset"])
        except (KeyError, ValueError):
            return
        if reset > 1e9:  # a Unix time (Hubble's), not a number of seconds
            reset -= time.time()
        if remaining <= 0 and reset > 0:
            seconds = min(reset, MAX_PACE, max(0.05, reset / limit))
            self.paced += 1
            self.waited += seconds
            self.sleep(seconds)

    def _wait(self, why: str, seconds: float) -> None:
        self.on_wait(why, seconds)
        self.waited += seconds
        self.sleep(seconds)

    def _check(self, path: str, response: httpx.Response) -> None:
        full = httpx.URL(self.base_url + path).path
        route = validation.match(self.spec, "GET", full, (self.prefix,))
        if isinstance(route, NoRoute):
            return
        op, _params = route
        headers = Headers(raw=[(k.lower(), v) for k, v in response.headers.raw])
        found = validation.check_response(self.spec, op, response.status_code, headers, response.content)
        for d in found:
            self.drift.append({"method": "GET", "path": path, "status": response.status_code, **d.as_dict()})
        breaches = [d for d in found if d.kind in BREACH_KINDS]
        if breaches:
            more = f" (and {len(breaches) - 1} more)" if len(breaches) > 1 else ""
            raise SpecBreach(f"GET {path} broke the {self.api} spec: {breaches[0].detail}{more}")


def _retry_after(response: httpx.Response, default: float) -> float:
    raw = response.headers.get("retry-after")
    try:
        return max(0.0, float(raw)) if raw is not None else default
    except ValueError:
        return default


def _excerpt(response: httpx.Response) -> str:
    text = " ".join(response.text.split())
    return text[:200]
