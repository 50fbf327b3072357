"""Bumblebee (asset-tracking webhooks), mounted at /bumblebee.

Bumblebee has no public REST API: its webhooks are configured in the back office. The fake
offers a sandbox API for that (resources/bumblebee-openapi.yaml), delivers the five data
types exactly as Bumblebee documents them (resources/bumblebee-webhooks.yaml) through the
shared webhook engine, and simulates assets and nodes under /_mock/bumblebee.
"""

from __future__ import annotations

from ...kernel.api import ApiMount
from ...kernel.runtime import Runtime
from ...kernel.spec import Spec
from . import errors, routes, simulation
from .models import NAME, BumblebeeBackend
from .webhooks import POLICY, BumblebeeWebhooks

MOUNT = "/bumblebee"
SPEC_FILE = "bumblebee-openapi.yaml"
WEBHOOK_POLICY = POLICY
"""How this API's failed webhook deliveries are retried (the engine's policy for NAME)."""

__all__ = ["MOUNT", "NAME", "WEBHOOK_POLICY", "control_routes", "mount"]


def _backend(runtime: Runtime) -> BumblebeeBackend:
    backend = runtime.backends.get(NAME)
    if not isinstance(backend, BumblebeeBackend):
        spec = Spec.from_resource(NAME, SPEC_FILE)
        backend = BumblebeeBackend(runtime, spec.component_schema("WebhookCreate"))
        backend.spec = spec
        backend.emitter = BumblebeeWebhooks(backend)
        runtime.register(backend)
    return backend


def mount(runtime: Runtime) -> ApiMount:
    backend = _backend(runtime)
    assert backend.spec is not None  # _backend sets it
    return ApiMount(NAME, backend.spec, routes.HANDLERS, runtime, backend, errors.render)


def control_routes(runtime: Runtime) -> list:
    backend = _backend(runtime)
    return simulation.control_routes(runtime, backend, backend.emitter)
