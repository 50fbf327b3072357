"""Hubby's timers in words, for the dashboard's "what fires next" (control/timers_view.py).

The reminders and usage thresholds are `functools.partial`s of the webhook scheduler's
`_booking_due`, `_time_due` and `_expiry_due`, whose first argument is the scheduling epoch:
one from before a reset finds nothing to do.
"""

from __future__ import annotations

from typing import Any

_MINE = ("_booking_due", "_time_due", "_expiry_due")


def describe_timer(name: str, args: tuple[Any, ...], owner: Any) -> Any:
    """{"kind", "api", "label"}; None for a stale timer; NotImplemented for another's."""
    if name not in _MINE or not args:
        return NotImplemented
    epoch = getattr(owner, "epoch", None)
    if epoch is not None and args[0] != epoch:
        return None  # scheduled before a reset: it will find nothing to do
    if name == "_booking_due":
        label = f"Hubby reminder booking.{args[2]} for booking {args[1]}"
    elif name == "_time_due":
        label = f"Hubby package.usage.{args[3]}_percent (time used) for eSIM {args[1]}"
    else:
        label = f"Hubby package expiry for eSIM {args[1]}"
    return {"kind": "hubby reminder", "api": "hubby", "label": label}
