"""What the pytest plugin's per-API fixtures hand a test: a handle per API, and its client.

`ApiHandle` is what every API's handle does; each API's class (named by `ApiModule.handle`)
says how its client authenticates (`client_options`) and adds that API's helpers. They live
here, with the plugin, not in the API packages: the API packages never import the testing
package (which would pull the server and the app into everything that imports an API).
"""

from __future__ import annotations

import functools
import ssl
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import httpx

from .signer import HubbySigner

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


class HubbleApi(ApiHandle):
    """`client` has base URL `.../hubble` and the sandbox bearer token; `org_id` is the
    sandbox organization; `org_path("/devices")` is `/api/org/<org_id>/devices`."""

    api = "hubble"

    @classmethod
    def client_options(cls, credentials: dict[str, Any], clock_ms: Callable[[], int]) -> dict[str, Any]:
        return {"headers": {"Authorization": f"Bearer {credentials['token']}"}}

    def org_path(self, path: str = "", version: int = 1) -> str:
        prefix = "/api/v2" if version == 2 else "/api"
        return f"{prefix}/org/{self.credentials['org_id']}{path}"

    def add_devices(self, count: int = 1, *, encryption: str = "AES-256-CTR", names: list[str] | None = None, **fields: Any) -> list[dict[str, Any]]:
        """Register devices through the API (POST /api/v2/org/{org}/devices); each with its key."""
        body: dict[str, Any] = {"n_devices": count, "encryption": encryption, **fields}
        if names is not None:
            body["names"] = names
        result = self._ok(self.client.post(self.org_path("/devices", version=2), json=body))
        return result["devices"] if isinstance(result, dict) and "devices" in result else result

    def add_device(self, name: str | None = None, **fields: Any) -> dict[str, Any]:
        return self.add_devices(1, names=[name] if name is not None else None, **fields)[0]

    def add_webhook(self, url: str, name: str = "test", max_batch_size: int | None = None) -> dict[str, Any]:
        """Register a packet webhook for the org; the answer includes its `secret`."""
        body: dict[str, Any] = {"url": url, "name": name}
        if max_batch_size is not None:
            body["max_batch_size"] = max_batch_size
        return self._ok(self.client.post(self.org_path("/webhooks"), json=body))

    def transmit(self, device_ids: str | list[str] | None = None, count: int = 1, **fields: Any) -> dict[str, Any]:
        """The devices send `count` packets each (POST /_mock/hubble/packets); they reach the
        packet stream and the org's webhooks."""
        body: dict[str, Any] = {"count": count, **fields}
        if device_ids is not None:
            body["device_ids"] = [device_ids] if isinstance(device_ids, str) else list(device_ids)
        return self.simulate("/packets", body)

    def devices(self) -> list[dict[str, Any]]:
        return self._ok(self.client.get(self.org_path("/devices")))["devices"]


class HubbyApi(ApiHandle):
    """`client` has base URL `.../hubby/api` and signs every request (x-api-key,
    x-timestamp from the fake's clock, x-signature); `signer` signs by hand."""

    api = "hubby"

    def __init__(self, server: MockServer, client: httpx.Client, signer: HubbySigner | None = None) -> None:
        super().__init__(server, client)
        self.signer: HubbySigner = signer if signer is not None else client.auth  # type: ignore[assignment]

    @classmethod
    def client_options(cls, credentials: dict[str, Any], clock_ms: Callable[[], int]) -> dict[str, Any]:
        return {"auth": HubbySigner(credentials["api_key"], credentials["secret"], clock_ms=clock_ms)}

    def create_booking(self, **fields: Any) -> dict[str, Any]:
        """POST /bookings with sensible defaults (departure in 30 days, one 1GB package for
        Turkey); any field given replaces the default."""
        import datetime as dt  # noqa: PLC0415

        now = dt.datetime.fromtimestamp(self.server.runtime.clock.now(), dt.UTC)
        body: dict[str, Any] = {
            "departure_date": (now + dt.timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "return_date": (now + dt.timedelta(days=44)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "booking_id": f"TEST-{self.server.runtime.next_request_id()[:8]}",
            "email": "traveller@example.com",
            "first_name": "Ada",
            "last_name": "Lovelace",
            "package_specifications": [{"destination": "TUR", "package_type": "data-limited", "size": "1GB"}],
            **fields,
        }
        return self._ok(self.client.post("/bookings", json=body))

    def bookings(self, **params: Any) -> Any:
        """GET /bookings with these query parameters (signed); the whole answer."""
        return self._ok(self.client.get("/bookings", params=params))

    def add_webhook(self, url: str, *, webhook_api_key: str | None = None, scenario_events: bool = False) -> dict[str, Any]:
        """Register the sandbox partner's webhook URL (PUT /_mock/hubby/webhook). By default it
        hears only about bookings the test creates: the scenario's own bookings, whose reminders
        fire when a test moves the clock, are logged in `events()` but not sent to it
        (`scenario_events=True` sends those too, as `mockserver serve` does)."""
        body: dict[str, Any] = {"url": url, "scenario_events": scenario_events}
        if webhook_api_key is not None:
            body["webhook_api_key"] = webhook_api_key
        return self.control("PUT", "/webhook", json=body)

    def remove_webhook(self) -> dict[str, Any]:
        """DELETE /_mock/hubby/webhook: pending deliveries are canceled."""
        return self.control("DELETE", "/webhook")

    def redeem(self, code: str, *, external_user_id: str | None = None, destination: str | None = None) -> dict[str, Any]:
        """A traveller redeems a promo code: `{"promo_code": ..., "esim": ...}`."""
        body = {k: v for k, v in {"external_user_id": external_user_id, "destination": destination}.items() if v}
        return self.simulate(f"/promo-codes/{code}/redeem", body)

    def install(self, iccid: str) -> dict[str, Any]:
        """The traveller installs the eSIM (sends esim.installed)."""
        return self.simulate(f"/esims/{iccid}/install", {})["esim"]

    def remove(self, iccid: str) -> dict[str, Any]:
        """The traveller removes the eSIM (sends esim.removed)."""
        return self.simulate(f"/esims/{iccid}/remove", {})["esim"]

    def activate(self, iccid: str, package_id: str | None = None) -> dict[str, Any]:
        """The eSIM's next (or the given) package becomes active (sends package.activated)."""
        return self.simulate(f"/esims/{iccid}/activate", {"package_id": package_id} if package_id else {})["esim"]

    def consume(self, iccid: str, *, bytes: int | None = None, percent: float | None = None,
                package_id: str | None = None) -> dict[str, Any]:  # fmt: skip
        """The traveller uses data: `bytes=N` or `percent=P` of the active package (usage events)."""
        body: dict[str, Any] = {"bytes": bytes} if bytes is not None else {"percent": percent}
        if package_id:
            body["package_id"] = package_id
        return self.simulate(f"/esims/{iccid}/consume", body)["esim"]

    def events(self, **filters: Any) -> list[dict[str, Any]]:
        """Every state change and the webhook message it produced (filters: type, booking, partner)."""
        return self.control("GET", "/events", params=filters)["events"]


class BumblebeeApi(ApiHandle):
    """`client` has base URL `.../bumblebee` (the sandbox webhook configuration API)."""

    api = "bumblebee"

    DATA_TYPES = (
        "battery_level/update",
        "geo_location/create",
        "temperature/create",
        "sensor_value/create",
        "sigfox_message_info/create",
    )

    def add_webhook(self, url: str, data_types: list[str] | tuple[str, ...] = DATA_TYPES, **fields: Any) -> dict[str, Any]:
        """Configure a webhook (POST /bumblebee/webhooks), by default for every data type."""
        body: dict[str, Any] = {"url": url, "data_types": list(data_types), **fields}
        return self._ok(self.client.post("/webhooks", json=body))

    def add_node(self, **fields: Any) -> dict[str, Any]:
        """A tracker node in the world (POST /_mock/bumblebee/nodes)."""
        return self.simulate("/nodes", fields)

    def report(self, node_id: str, **reading: Any) -> dict[str, Any]:
        """The node sends one Sigfox message; every matching webhook gets its bodies."""
        return self.simulate(f"/nodes/{node_id}/report", reading)
