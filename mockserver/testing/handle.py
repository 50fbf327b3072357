"""What the pytest plugin's per-API fixtures hand a test: `ApiHandle`, and the clients it opens.

Each API's handle class (`ApiModule.handle`, e.g. `apis/hubble/fixture.py`) subclasses
`ApiHandle`: it says how its client authenticates (`client_options`) and adds helpers.
"""

from __future__ import annotations

import functools
import ssl
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    from .server import MockServer


@functools.cache
def _tls() -> ssl.SSLContext:
    """One TLS context for every client the fixtures open: building one costs tens of ms
    (loading CA certificates), which would otherwise be paid in every test."""
    return ssl.create_default_context()


def _client(**kwargs: Any) -> httpx.Client:
    return httpx.Client(timeout=30, trust_env=False, verify=_tls(), **kwargs)


class ApiHandle:
    """One API of the running fake: where it is, its credentials, a ready client, helpers."""

    api = ""

    def __init__(self, server: MockServer, client: httpx.Client) -> None:
        self.server = server
        self.client = client
        self.credentials: dict[str, Any] = server.credentials()[self.api]
        self.base_url: str = self.credentials["base_url"]

    @classmethod
    def client_options(cls, credentials: dict[str, Any], clock_ms: Callable[[], int]) -> dict[str, Any]:
        """httpx client arguments that authenticate as the sandbox (`headers`, `auth`), from
        this API's entry of GET /_mock/credentials; `clock_ms` reads the fake's clock."""
        return {}

    def __getattr__(self, name: str) -> Any:
        credentials = self.__dict__.get("credentials") or {}
        if name in credentials:
            return credentials[name]
        raise AttributeError(f"{type(self).__name__} has no attribute {name!r}")

    def simulate(self, path: str, body: Any = None) -> Any:
        """POST /_mock/<api>/<path>: make the world do something (see each API's docs)."""
        return self.server.simulate(self.api, path, body)

    def control(self, method: str, path: str, **kwargs: Any) -> Any:
        """Any call under /_mock/<api>/."""
        return self.server.call(method, f"/{self.api}/{path.lstrip('/')}", **kwargs)

    def deliveries(self, **filters: Any) -> list[dict[str, Any]]:
        """This API's outgoing webhook messages and their attempts, newest first."""
        return self.server.deliveries(api=self.api, **filters)

    def requests(self, **filters: Any) -> list[dict[str, Any]]:
        """This API's entries in the request journal, newest first."""
        return self.server.requests(api=self.api, **filters)

    def _ok(self, response: httpx.Response) -> Any:
        if response.status_code >= 400:
            raise AssertionError(
                f"{response.request.method} {response.request.url} answered {response.status_code}: {response.text}"
            )
        return response.json() if response.content else None
