"""Before any suite runs: the spec parses, the base URL answers, the credentials are accepted.

Each problem is a `HarnessError` with one line that says what to fix; the CLI prints it and
exits 2. A server error on the probe is not a preflight problem: the suites report it.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import requests

from .auth import session_for
from .schema import read_document
from .target import HarnessError, Target

PROBES = {
    "hubble": ("GET", "/api/org/{org_id}/check"),
    "hubby": ("GET", "/countries"),
    "bumblebee": ("GET", "/webhooks"),
}
TIMEOUT = 10.0


def check_base_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise HarnessError(f"not an http(s) base URL: {url!r}")


def check_target(target: Target) -> None:
    read_document(target.spec_path)
    check_base_url(target.base_url)
    missing = target.missing_credentials()
    if missing:
        flags = ", ".join("--" + name.replace("_", "-") for name in missing)
        raise HarnessError(f"{target.api}: credentials missing for {target.base_url} (give {flags})")
    method, template = PROBES[target.api]
    path = template.format(org_id=target.org_id or "")
    url = target.base_url + path
    try:
        with session_for(target) as session:
            response = session.request(method, url, timeout=TIMEOUT, headers={"Accept": "application/json"})
    except requests.exceptions.ConnectionError as exc:
        raise HarnessError(f"{target.api}: cannot reach {target.base_url}: {_reason(exc)}") from None
    except requests.exceptions.Timeout:
        raise HarnessError(f"{target.api}: no answer from {target.base_url} within {TIMEOUT:g} s") from None
    except requests.exceptions.RequestException as exc:
        raise HarnessError(f"{target.api}: request to {url} failed: {_reason(exc)}") from None
    status = response.status_code
    if status in (401, 403):
        what = "token / org id" if target.api == "hubble" else "API key / secret"
        raise HarnessError(
            f"{target.api}: the credentials were refused ({status} from {method} {path}); check the {what}"
        )
    if status == 404:
        raise HarnessError(
            f"{target.api}: {method} {url} answered 404; is {target.base_url} the {target.profile.title} "
            f"base URL{' and ' + str(target.org_id) + ' your organization' if target.org_id else ''}?"
        )


def _reason(exc: Exception) -> str:
    text = str(exc)
    for marker in ("Connection refused", "Name or service not known", "nodename nor servname",
                   "Temporary failure in name resolution", "No route to host", "timed out",
                   "certificate verify failed"):
        if marker in text:
            return marker.lower()
    return text.splitlines()[0][:160] if text else type(exc).__name__
