"""Per-API delivery rules: how often to retry, how long to wait, what counts as final.

A `RetryPolicy` lists the delays between attempts: `delays[k]` is the time, in clock
seconds, from the START of attempt k+1 to the start of attempt k+2, so a message gets
`1 + len(delays)` attempts in all and then is canceled. Measuring from the start keeps the
schedule exact under a frozen clock (attempts at t0, t0+d0, t0+d0+d1, ...).

The ready-made policies:

- `BUMBLEBEE` (documented, seed 003): first attempt at once, then after 1 min, 5 min,
  15 min, 1 h and 3 h; "if all 6 attempts fail, the webhook message will be marked as
  canceled". A 4xx answer cancels the message at once; the receiver's `{"error": ...}`
  message is kept on 4xx and 5xx answers, truncated to 750 characters. Attempts land at
  t0, t0+60, t0+360, t0+1260, t0+4860, t0+15660.
- `HUBBY` (documented in the partner guide): non-2xx answers are retried up to 3 times,
  after 1, 5 and 30 minutes, then the event is dropped (state `canceled`). Attempts land at
  t0, t0+60, t0+360, t0+2160. Every non-2xx, 4xx included, is retried.
- `HUBBLE` (NOT documented by Hubble; our choice, written down in the fidelity table):
  exponential backoff starting at 30 s and doubling, 8 retries (30 s, 1 min, 2 min, 4 min,
  8 min, 16 min, 32 min, 64 min), so 9 attempts over about 2 h 7 min, then canceled.
  Attempts land at t0, t0+30, t0+90, t0+210, t0+450, t0+930, t0+1890, t0+3810, t0+7650.
  Every non-2xx is retried.

All three use a 30 s per-attempt timeout (real seconds) and do not follow redirects (a 3xx
is a failed attempt whose reason names the Location).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace


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

    def with_(self, **changes: object) -> RetryPolicy:
        """A copy with some fields changed (tests shorten delays and timeouts this way)."""
        return replace(self, **changes)  # type: ignore[arg-type]


HUBBLE = RetryPolicy(
    delays=[30.0 * 2**k for k in range(8)],
    timeout=30.0,
    user_agent="Hubble-Webhooks/1.0",
)

HUBBY = RetryPolicy(
    delays=[60.0, 300.0, 1800.0],
    timeout=30.0,
    user_agent="Hubby-Webhooks/2.0",
)

BUMBLEBEE = RetryPolicy(
    delays=[60.0, 300.0, 900.0, 3600.0, 10800.0],
    timeout=30.0,
    cancel_on_4xx=True,
    store_error_body=True,
    error_excerpt_limit=750,
    user_agent="Bumblebee v0.11.0 webhooks",
)

DEFAULT_POLICIES: dict[str, RetryPolicy] = {
    "hubble": HUBBLE,
    "hubby": HUBBY,
    "bumblebee": BUMBLEBEE,
}
