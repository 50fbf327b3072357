"""Hubble Network Cloud API, mounted at /hubble (vendor paths below it: /hubble/api/org/...)."""

from __future__ import annotations

from ...kernel.api import ApiMount
from ...kernel.runtime import Runtime
from ...kernel.spec import Spec
from . import auth, errors, routes, simulation, webhooks
from .models import HubbleBackend

NAME = "hubble"
MOUNT = "/hubble"
SPEC_FILE = "hubble-openapi.yaml"
WEBHOOK_POLICY = webhooks.POLICY
"""How this API's failed webhook deliveries are retried (the engine's policy for NAME)."""


def mount(runtime: Runtime) -> ApiMount:
    backend = HubbleBackend(runtime)
    runtime.register(backend)
    return ApiMount(
        NAME,
        Spec.from_resource(NAME, SPEC_FILE),
        routes.HANDLERS,
        runtime,
        backend,
        errors.render,
        authenticate=auth.authenticate,
        rate_buckets=auth.rate_buckets,
        rate_limited_headers=auth.rate_limited_headers,
    )


def control_routes(runtime: Runtime) -> list:
    return simulation.control_routes(runtime)
