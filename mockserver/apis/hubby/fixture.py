"""The `hubby_api` fixture's handle (mockserver.testing.plugin): a signing client, bookings, the partner webhook, the traveller."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import httpx

from ...testing.handle import ApiHandle
from ...testing.signer import HubbySigner

if TYPE_CHECKING:
    from ...testing.server import MockServer

__all__ = ["HubbyApi"]


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
