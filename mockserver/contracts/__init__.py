"""The contract-test harness: verify the fake, the real APIs and users' own clients against
the specs.

- `target`: what a run points at (API, base URL, credentials, limits).
- `schema`, `links`, `auth`, `checks`, `suite`: the schemathesis suites' machinery.
- `fake`: the fake as a target, started when no base URL is given.
- `runner`: `mockserver contracts run` (preflight, pytest, JUnit XML).
- `webhooks`: webhook payload contracts (the fake's deliveries, a user's receiver).
- `client`: `mockserver contracts client -- CMD` (a user's client against a fresh fake).
- `vendor`: requests checked against a vendor document with openapi-core.
- `sdk_report`: what pyhubblenetwork sends that the vendor document does not describe.
- `proxy`: `mockserver proxy`, a validating proxy in front of a real API.
- `cli`: the `mockserver contracts ...` and `mockserver proxy` subcommands.
"""

from typing import Any

from .errors import HarnessError, MissingExtra

__all__ = ["APIS", "HarnessError", "MissingExtra", "Target"]


def __getattr__(name: str) -> Any:
    """`APIS` and `Target` load the specs' paths: imported on first use, so the CLI can name the
    harness' errors without that cost."""
    if name in ("APIS", "Target"):
        from . import target

        return getattr(target, name)
    raise AttributeError(name)
