"""schemathesis hooks for the plain CLI run from the repository root (`schemathesis.toml`).

`schemathesis run resources/hubby-openapi.yaml` needs every request HMAC-signed, which no
static header can do: this module registers a global auth provider that signs each Hubby
request at send time with the harness's own `HubbyHmacAuth` (same signature, same path rules),
using the sandbox's partner key and secret (`MOCKSERVER_HUBBY_API_KEY` and
`MOCKSERVER_HUBBY_SECRET` when set, as for `mockserver serve`). Other specs are left alone:
the provider answers None for any document without Hubby's `x-signature` scheme.

The harness (`mockserver contracts run`) does not use this module; it attaches the same auth
per schema in code (`mockserver.contracts.schema.attach_auth`).
"""

from __future__ import annotations

from typing import Any

import schemathesis

from ..settings import Settings
from .auth import HubbyHmacAuth
from .schema import credential_headers, negates_credentials

SIGNATURE_HEADER = "x-signature"


def is_hubby(document: dict[str, Any]) -> bool:
    """Whether a document uses Hubby's HMAC scheme (an apiKey header named x-signature)."""
    return SIGNATURE_HEADER in credential_headers(document)


def hubby_auth(base_url: str) -> HubbyHmacAuth:
    settings = Settings.from_env()  # the sandbox's defaults, or MOCKSERVER_HUBBY_* when set
    return HubbyHmacAuth(settings.hubby_api_key, settings.hubby_secret, base_url)


@schemathesis.auth(refresh_interval=None, retry_on=[])
class HubbySignature:
    """Signs Hubby requests; a negative case about the credential headers goes out unsigned."""

    def get(self, case: Any, context: Any) -> HubbyHmacAuth | None:
        document = case.operation.schema.raw_schema
        if not is_hubby(document) or negates_credentials(case, credential_headers(document)):
            return None
        return hubby_auth(case.operation.schema.get_base_url())

    def set(self, case: Any, data: HubbyHmacAuth, context: Any) -> None:
        case._auth = data  # applied by `requests` at send time, after the URL is encoded
