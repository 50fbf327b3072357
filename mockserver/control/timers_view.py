"""What fires next on the mock clock, in words: webhook retries, and each API's own timers
(`ApiModule.describe_timer`: Hubby's reminders).

Timers are plain callbacks (`functools.partial` of an engine or model method), so this reads
the method's name and arguments to say what each one is. An unknown callback is still
listed, under its qualified name.
"""

from __future__ import annotations

import functools
from typing import Any

from .. import apis
from ..kernel.runtime import Runtime


def upcoming(rt: Runtime, limit: int) -> list[dict[str, Any]]:
    """The next `limit` timers that will do something, soonest first (stale ones skipped)."""
    window = 2 * limit + 16  # stale timers are skipped: look further only when there are many
    while True:
        timers = rt.timers.upcoming(window)
        out: list[dict[str, Any]] = []
        for when, callback in timers:
            item = describe(rt, callback)
            if item is not None:
                out.append({"at": when, **item})
                if len(out) >= limit:
                    return out
        if len(timers) < window:
            return out
        window *= 4


def describe(rt: Runtime, callback: Any) -> dict[str, Any] | None:
    """{"kind", "label", ...} for one timer callback; None for a stale one that will do nothing."""
    func, args = callback, ()
    if isinstance(callback, functools.partial):
        func, args = callback.func, callback.args
    name = getattr(func, "__name__", "")
    owner = getattr(func, "__self__", None)
    if name == "_fire" and owner is rt.webhooks and args:
        message = rt.webhooks.get(args[0]) if rt.webhooks is not None else None
        if message is None:
            return None
        attempt = len(message.get("attempts") or ()) + 1
        return {
            "kind": "webhook attempt",
            "api": message.get("api"),
            "message_id": message["id"],
            "label": f"{message.get('api')} webhook {message.get('event_type')} to {message.get('url')} (attempt {attempt})",
        }
    for api in apis.REGISTRY:  # an API's own timers (Hubby's reminders), in its words
        if api.describe_timer is not None:
            item = api.describe_timer(name, args, owner)
            if item is not NotImplemented:
                return item
    return {"kind": "timer", "label": getattr(func, "__qualname__", repr(func))}
