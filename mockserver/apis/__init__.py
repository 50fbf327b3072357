"""The APIs this server fakes. Each module offers the same surface:

NAME, MOUNT, mount(runtime) -> ASGI app, control_routes(runtime) -> list of routes under
/_mock/<NAME>/ (the world simulation), WEBHOOK_POLICY (the `RetryPolicy` of its webhooks).
"""

from __future__ import annotations

from types import ModuleType

from . import bumblebee, hubble, hubby

REGISTRY: list[ModuleType] = [hubble, hubby, bumblebee]
