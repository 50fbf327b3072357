"""openapi-core, the reference validator, agrees with the fake's compiled validators.

The fake compiles its schemas with jsonschema-rs for speed. Here real traffic to a live
server (requests the fake accepted and the responses it sent, errors included) is checked
again with openapi-core against the same documents: if the two validators ever disagree,
this fails.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from openapi_core import OpenAPI
from openapi_core.datatypes import RequestParameters
from werkzeug.datastructures import Headers, ImmutableMultiDict

from mockserver.kernel.spec import resource_path
from mockserver.settings import Settings
from mockserver.testing import HubbySigner, MockServer


class HttpxRequest:
    """An httpx request seen through openapi-core's Request protocol."""

    def __init__(self, request: httpx.Request) -> None:
        url = urlparse(str(request.url))
        self._path = url.path
        self.host_url = f"{url.scheme}://{url.netloc}"
        self.method = request.method.lower()
        self.body = request.content or None
        self.content_type = request.headers.get("content-type", "application/json")
        self.parameters = RequestParameters(
            query=ImmutableMultiDict([(k, v) for k, vs in parse_qs(url.query).items() for v in vs]),
            header=Headers(dict(request.headers)),
            cookie=ImmutableMultiDict(),
        )

    @property
    def path(self) -> str:
        return self._path


class HttpxResponse:
    def __init__(self, response: httpx.Response) -> None:
        self.status_code = response.status_code
        self.headers = Headers(dict(response.headers))
        self.content_type = response.headers.get("content-type", "")
        self.data = response.content


def reference(name: str, server_url: str) -> OpenAPI:
    import yaml

    document = yaml.safe_load(resource_path(name).read_text())
    document["servers"] = [{"url": server_url}]
    return OpenAPI.from_dict(document)


@pytest.fixture(scope="module")
def server():
    with MockServer(Settings(scenario="demo", strict=True, rate_limit=False)) as srv:
        yield srv


def check(openapi: OpenAPI, response: httpx.Response) -> None:
    request = HttpxRequest(response.request)
    result_request = openapi.unmarshal_request(request)
    if response.status_code < 400:
        assert not result_request.errors, f"{request.method} {request.path}: {result_request.errors}"
    result = openapi.unmarshal_response(request, HttpxResponse(response))
    assert not result.errors, f"{request.method} {request.path} -> {response.status_code}: {result.errors}"


def test_hubble_traffic_validates_with_openapi_core(server):
    creds = server.credentials()["hubble"]
    api = reference("hubble-openapi.yaml", server.hubble_url)
    org = creds["org_id"]
    with httpx.Client(base_url=f"{server.hubble_url}/api/org/{org}",
                      headers={"Authorization": f"Bearer {creds['token']}"}) as c:
        devices = c.get("/devices", params={"limit": 10})
        device_id = devices.json()["devices"][0]["id"]
        responses = [
            c.get("/check"),
            c.get(f"{server.hubble_url}/api/org/{org}"),
            devices,
            c.get(f"/devices/{device_id}"),
            c.patch(f"/devices/{device_id}", json={"set_name": "renamed"}),
            c.get("/packets"),
            c.get("/key"),
            c.get("/key_scopes"),
            c.get("/users"),
            c.get("/invitations"),
            c.get("/webhooks"),
            c.get("/packet_metrics"),
            c.get("/device_metrics", params={"days": 7, "time_interval": "day"}),
            c.get("/billing/invoices"),
            c.get("/billing/usage"),
            c.post("/webhooks", json={"url": "http://127.0.0.1:9/hook", "name": "ref"}),
            # errors are part of the contract too
            c.get("/devices", params={"limit": 5000}),
            c.get("/devices/00000000-0000-4000-8000-000000000000"),
            c.get("/devices", headers={"Authorization": "Bearer nope"}),
        ]
    for response in responses:
        assert response.status_code < 500, response.text
        check(api, response)


def test_hubby_traffic_validates_with_openapi_core(server):
    creds = server.credentials()["hubby"]
    api = reference("hubby-openapi.yaml", server.hubby_url)
    signer = HubbySigner(creds["api_key"], creds["secret"], clock_ms=server.runtime.clock.now_ms)
    with httpx.Client(base_url=server.hubby_url, auth=signer) as c:
        bookings = c.get("/bookings")
        booking_id = bookings.json()["data"][0]["id"]
        responses = [
            bookings,
            c.get(f"/bookings/{booking_id}"),
            c.get("/packages"),
            c.get("/countries"),
            c.post("/bookings", json={
                "departure_date": "2030-07-15T14:30:00+02:00",
                "booking_id": "REF-001",
                "package_specifications": [{"destination": "NL"}],
            }),
            c.post("/bookings", json={"package_specifications": []}),
            c.get("/bookings/does-not-exist"),
        ]
    for response in responses:
        assert response.status_code < 500, response.text
        check(api, response)
