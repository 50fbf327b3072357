"""Outgoing webhooks: one delivery engine for every API; each API brings its retry policy.

- `engine.py`: `WebhookEngine`, scheduling attempts on the mock clock;
- `outbox.py`: the message records (`webhooks.messages`) and how each event changes them;
- `client.py`: one POST and its `Outcome`; `transport.py`: httpx pools per origin;
  `http1.py`: the keep-alive client for plain `http://` receivers;
- `diagnosis.py`: failures as readable reasons; `policy.py`: `RetryPolicy`;
- `chaos.py`: opt-in duplicates, reordering and delays.
"""

from .engine import WebhookEngine
from .outbox import ACTIVE_STATES, MESSAGES_TABLE, STATES
from .policy import RetryPolicy

__all__ = [
    "ACTIVE_STATES",
    "MESSAGES_TABLE",
    "STATES",
    "RetryPolicy",
    "WebhookEngine",
]
