"""How one API's webhooks are retried: the `RetryPolicy` each API package declares.

`delays[k]` is the time, in clock seconds, from the START of attempt k+1 to the start of
attempt k+2, so a message gets `1 + len(delays)` attempts in all and then is canceled.
Measuring from the start keeps the schedule exact under a frozen clock (attempts at t0,
t0+d0, t0+d0+d1, ...).

Each API owns its policy, next to the code that sends its webhooks
(`mockserver/apis/<api>/webhooks.py`, `POLICY`; the API package exposes it as
`WEBHOOK_POLICY`), and the engine is given a `{api name: policy}` table when it is built.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any


@dataclass(frozen=True)
class RetryPolicy:
    delays: list[float] = field(default_factory=list)
    """Seconds from the start of attempt k to attempt k+1; len(delays) retries, then give up."""
    timeout: float = 30.0
    """Per-attempt limit in real seconds (connect, send, wait for and read the answer)."""
    cancel_on_4xx: bool = False
    """A 4xx answer cancels the message at once instead of being retried."""
    store_error_body: bool = False
    """Keep the receiver's `{"error": ...}` message (JSON answers with a 4xx or 5xx status)."""
    error_excerpt_limit: int = 750
    """Characters of that error message to keep."""
    follow_redirects: bool = False
    """A redirect is a failed attempt ("redirect to <location> not followed") unless True."""
    user_agent: str | None = None
    """User-Agent sent when the message's own headers do not set one."""

    @property
    def max_attempts(self) -> int:
        return 1 + len(self.delays)

    def with_(self, **changes: Any) -> RetryPolicy:
        """A copy with some fields changed (tests shorten delays and timeouts this way)."""
        return replace(self, **changes)
