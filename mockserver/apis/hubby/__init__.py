"""Hubby eSIM booking API 2.0, mounted at /hubby/api (paths below it: /hubby/api/bookings...)."""

from __future__ import annotations

from typing import Any

from ...kernel.runtime import Runtime
from ...kernel.spec import Spec
from ...settings import Option, Settings
from .. import ApiModule
from . import auth, errors, routes, simulation, timers, webhooks
from .models import HubbyBackend

NAME = "hubby"
MOUNT = "/hubby/api"
SPEC_FILE = "hubby-openapi.yaml"
DEFAULT_API_KEY = "hubby-sandbox-key"
DEFAULT_SECRET = "hubby-sandbox-secret-0123456789"
WEBHOOK_POLICY = webhooks.POLICY
"""How this API's failed webhook deliveries are retried (the engine's policy for NAME)."""


def _backend(runtime: Runtime, spec: Spec) -> HubbyBackend:
    return HubbyBackend(runtime, spec)


def _credentials(settings: Settings) -> dict[str, Any]:
    return {"api_key": settings.hubby_api_key, "secret": settings.hubby_secret}


API = ApiModule(
    name=NAME,
    title="Hubby",
    mount_path=MOUNT,
    spec_file=SPEC_FILE,
    handlers=routes.HANDLERS,
    backend=_backend,
    render_error=errors.render,
    control_routes=simulation.control_routes,
    authenticate=auth.authenticate,
    rate_buckets=None,  # Hubby documents no rate limits
    credentials=_credentials,
    banner=(("x-api-key", "api_key"), ("secret", "secret")),
    options=(
        Option("hubby_api_key", "MOCKSERVER_HUBBY_API_KEY", DEFAULT_API_KEY),
        Option("hubby_secret", "MOCKSERVER_HUBBY_SECRET", DEFAULT_SECRET),
        Option("hubby_signature_window", "MOCKSERVER_HUBBY_SIGNATURE_WINDOW", 300.0),  # seconds either way
    ),
    retry_policy=WEBHOOK_POLICY,
    handle="mockserver.testing.handles:HubbyApi",
    main_tables=("bookings", "esims"),
    describe_timer=timers.describe_timer,
)
