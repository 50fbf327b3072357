"""The fake as a contract target: started by the harness when no base URL is given.

It runs with rate limits off (schemathesis sends requests back to back; a 429 is allowed by
the spec but tests nothing), lenient (the suites validate the responses themselves, with an
independent validator), and a second Hubble key holding one scope, so `scope_enforcement`
has something to probe with.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import httpx

from .target import APIS, ENV_PREFIX, Target

LIMITED_SCOPES = ("read-billing-usage",)

_running: list[Any] = []


def start_fake(**overrides: Any) -> tuple[Any, dict[str, Target]]:
    """Start a fresh fake on a free loopback port; returns (server, {api: Target})."""
    from ..settings import Settings
    from ..testing import MockServer

    settings = Settings.from_env()
    options = {"rate_limit": False, "strict": False, **overrides}
    server = MockServer(settings, **options).start()
    try:
        creds = server.credentials()
        hubble_url = server.hubble_url
        limited = provision_limited_key(hubble_url, creds["hubble"]["org_id"], creds["hubble"]["token"])
        targets = {
            "hubble": Target(
                "hubble",
                hubble_url,
                token=creds["hubble"]["token"],
                org_id=creds["hubble"]["org_id"],
                limited_token=limited,
                limited_scopes=LIMITED_SCOPES,
                is_fake=True,
            ),
            "hubby": Target(
                "hubby",
                server.hubby_url,
                api_key=creds["hubby"]["api_key"],
                secret=creds["hubby"]["secret"],
                is_fake=True,
            ),
            "bumblebee": Target("bumblebee", server.bumblebee_url, is_fake=True),
        }
    except Exception:
        server.stop()
        raise
    return server, targets


def provision_limited_key(hubble_url: str, org_id: str, token: str) -> str | None:
    """Create a key that holds only LIMITED_SCOPES through the API itself (None if the fake cannot)."""
    try:
        response = httpx.post(
            f"{hubble_url}/api/org/{org_id}/key",
            json={"name": "contracts: scope probe", "scopes": list(LIMITED_SCOPES)},
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )
    except httpx.HTTPError as exc:
        print(f"mockserver contracts: could not create a limited key: {exc}", file=sys.stderr)
        return None
    if response.status_code != 200:
        print(
            f"mockserver contracts: could not create a limited key: {response.status_code} {response.text[:200]}",
            file=sys.stderr,
        )
        return None
    return response.json().get("key")


def targets_configured(environ: dict[str, str] | None = None) -> bool:
    env = os.environ if environ is None else environ
    return any(env.get(f"{ENV_PREFIX}{api.upper()}_URL") for api in APIS)


def ensure_targets() -> dict[str, Target] | None:
    """For the suites' conftest: unless a target is configured, start the fake and describe it
    in the environment (the suite modules read it when they are imported)."""
    if targets_configured():
        return None
    server, targets = start_fake()
    _running.append(server)
    for target in targets.values():
        # where and who only: the shared knobs (max examples, seed...) still decide the rest
        os.environ.update(target.to_env(knobs=False))
    return targets


def stop_fake() -> None:
    while _running:
        _running.pop().stop()
