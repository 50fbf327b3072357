"""Paths outside every operation still get an answer in the right API's error shape."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from mockserver.app import create_app
from mockserver.settings import Settings


@pytest.fixture(scope="module")
def client():
    app = create_app(Settings(scenario="empty", strict=True))
    with TestClient(app) as c:
        yield c


def test_a_path_with_a_newline_gets_the_hubble_error_shape(client):
    r = client.get("/hubble/api/org/x%0Ay/devices")
    assert r.status_code == 404
    assert r.json()["name"] == "Not Found" and r.json()["code"] == 404


def test_a_path_with_a_newline_under_hubby_gets_the_hubby_shape(client):
    r = client.get("/hubby/api/book%0Aings")
    assert r.status_code == 404
    assert r.json()["success"] is False


def test_an_unknown_top_level_path_is_a_json_404(client):
    r = client.get("/nothing-here")
    assert r.status_code == 404 and "no such endpoint" in r.json()["error"]


@pytest.mark.parametrize("path", ["/hubble/api/org/x%0Ay/devices", "/hubby/api/book%0Aings", "/bumblebee/webhooks/a%0Ab"])
def test_an_unroutable_path_still_carries_a_request_id(client, path):
    """Every response of these APIs documents `X-Request-ID`, the router's own 404 included."""
    fresh = client.get(path)
    assert fresh.status_code == 404 and fresh.headers.get("X-Request-ID")
    echoed = client.get(path, headers={"X-Request-ID": "trace-42"})
    assert echoed.headers["X-Request-ID"] == "trace-42"
