"""Hubble Network Cloud API, mounted at /hubble (vendor paths below it: /hubble/api/org/...)."""

from __future__ import annotations

from typing import Any

from ...kernel.runtime import Runtime
from ...kernel.spec import Spec
from ...settings import Option, Settings
from .. import ApiModule
from . import auth, errors, routes, simulation, webhooks
from .models import HubbleBackend

NAME = "hubble"
MOUNT = "/hubble"
SPEC_FILE = "hubble-openapi.yaml"
DEFAULT_ORG_ID = "2f4c5a8e-1d3b-4e6f-9a7c-0b1d2e3f4a5b"
DEFAULT_TOKEN = "hubble-sandbox-token-0123456789abcdef"
WEBHOOK_POLICY = webhooks.POLICY
"""How this API's failed webhook deliveries are retried (the engine's policy for NAME)."""


def _backend(runtime: Runtime, spec: Spec) -> HubbleBackend:
    return HubbleBackend(runtime)


def _credentials(settings: Settings) -> dict[str, Any]:
    return {"org_id": settings.hubble_org_id, "token": settings.hubble_token}


API = ApiModule(
    name=NAME,
    title="Hubble",
    mount_path=MOUNT,
    spec_file=SPEC_FILE,
    handlers=routes.HANDLERS,
    backend=_backend,
    render_error=errors.render,
    control_routes=simulation.control_routes,
    authenticate=auth.authenticate,
    rate_buckets=auth.rate_buckets,
    rate_limited_headers=auth.rate_limited_headers,
    credentials=_credentials,
    banner=(("org_id", "org_id"), ("token", "token")),
    options=(
        Option("hubble_org_id", "MOCKSERVER_HUBBLE_ORG_ID", DEFAULT_ORG_ID),
        # the bootstrap key; the server's signing secret has always been derived from it
        Option("hubble_token", "MOCKSERVER_HUBBLE_TOKEN", DEFAULT_TOKEN, secret_input=True),
    ),
    retry_policy=WEBHOOK_POLICY,
    handle="mockserver.testing.handles:HubbleApi",
    main_tables=("devices", "webhooks"),
)
