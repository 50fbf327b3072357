"""Hubby eSIM booking API 2.0, mounted at /hubby/api (paths below it: /hubby/api/bookings...)."""

from __future__ import annotations

from ...kernel.api import ApiMount
from ...kernel.runtime import Runtime
from ...kernel.spec import Spec
from . import auth, errors, routes, simulation, webhooks
from .models import HubbyBackend

NAME = "hubby"
MOUNT = "/hubby/api"
SPEC_FILE = "hubby-openapi.yaml"
WEBHOOK_POLICY = webhooks.POLICY
"""How this API's failed webhook deliveries are retried (the engine's policy for NAME)."""


def mount(runtime: Runtime) -> ApiMount:
    spec = Spec.from_resource(NAME, SPEC_FILE)
    errors.configure(spec)
    backend = HubbyBackend(runtime, spec)
    runtime.register(backend)
    return ApiMount(
        NAME,
        spec,
        routes.HANDLERS,
        runtime,
        backend,
        errors.render,
        authenticate=auth.authenticate,
        rate_buckets=None,  # Hubby documents no rate limits
    )


def control_routes(runtime: Runtime) -> list:
    return simulation.control_routes(runtime)
