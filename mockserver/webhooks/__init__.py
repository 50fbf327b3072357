"""Outgoing webhooks: one delivery engine for every API, with per-API retry policies."""

from .engine import ACTIVE_STATES, MESSAGES_TABLE, STATES, WebhookEngine
from .policies import BUMBLEBEE, DEFAULT_POLICIES, HUBBLE, HUBBY, RetryPolicy

__all__ = [
    "ACTIVE_STATES",
    "BUMBLEBEE",
    "DEFAULT_POLICIES",
    "HUBBLE",
    "HUBBY",
    "MESSAGES_TABLE",
    "STATES",
    "RetryPolicy",
    "WebhookEngine",
]
