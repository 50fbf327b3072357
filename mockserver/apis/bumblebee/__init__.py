"""Bumblebee (asset-tracking webhooks), mounted at /bumblebee.

Bumblebee has no public REST API: its webhooks are configured in the back office. The fake
offers a sandbox API for that (resources/bumblebee-openapi.yaml), delivers the five data
types exactly as Bumblebee documents them (resources/bumblebee-webhooks.yaml) through the
shared webhook engine, and simulates assets and nodes under /_mock/bumblebee.
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.routing import BaseRoute

from ...kernel.runtime import Runtime
from ...kernel.spec import Spec
from .. import ApiModule
from . import errors, routes, simulation
from .models import NAME, BumblebeeBackend
from .webhooks import POLICY, BumblebeeWebhooks

MOUNT = "/bumblebee"
SPEC_FILE = "bumblebee-openapi.yaml"
WEBHOOK_POLICY = POLICY
"""How this API's failed webhook deliveries are retried (the engine's policy for NAME)."""

__all__ = ["API", "MOUNT", "NAME", "WEBHOOK_POLICY"]


def _backend(runtime: Runtime, spec: Spec) -> BumblebeeBackend:
    backend = BumblebeeBackend(runtime, spec.component_schema("WebhookCreate"))
    backend.spec = spec
    backend.emitter = BumblebeeWebhooks(backend)
    return backend


def _control_routes(runtime: Runtime, backend: BumblebeeBackend) -> Sequence[BaseRoute]:
    return simulation.control_routes(runtime, backend, backend.emitter)


API = ApiModule(
    name=NAME,
    title="Bumblebee",
    mount_path=MOUNT,
    spec_file=SPEC_FILE,
    handlers=routes.HANDLERS,
    backend=_backend,
    render_error=errors.render,
    control_routes=_control_routes,
    retry_policy=WEBHOOK_POLICY,
    handle="mockserver.testing.handles:BumblebeeApi",
    fixtures=("bumblebee_api", "bumblebee"),  # `bumblebee` came first; both stay
    main_tables=("nodes", "assets", "webhooks"),
)
