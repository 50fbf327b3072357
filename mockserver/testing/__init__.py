"""Test helpers for projects that test against the fake, and the pytest plugin.

- `server`: `MockServer` (a real server on a free loopback port, in a thread) and
  `ServerThread` (any ASGI app served the same way).
- `signer`: `HubbySigner`, an httpx auth signing Hubby requests.
- `webhook_sink`: `WebhookSink`, a real HTTP receiver that records webhook deliveries.
- `plugin`: the pytest fixtures (registered as `mockserver.pytest_plugin`).
"""

from .server import MockServer, ServerThread
from .signer import HubbySigner
from .webhook_sink import WebhookSink

__all__ = ["HubbySigner", "MockServer", "ServerThread", "WebhookSink"]
