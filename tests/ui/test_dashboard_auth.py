"""With MOCKSERVER_ADMIN_TOKEN set, the page asks for the token and shows nothing before it
is given: the page shell loads (it holds no data), every read behind it answers 401."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from mockserver.testing import MockServer

from .conftest import VIEWPORT, screenshot

expect = pytest.importorskip("playwright.sync_api", reason="Playwright for Python is not installed (the test extra has it)").expect

TOKEN = "dashboard-admin-token-123"


@pytest.fixture(scope="module")
def guarded() -> Iterator[MockServer]:
    with MockServer(scenario="demo", clock="frozen", admin_token=TOKEN) as server:
        yield server


def test_nothing_is_readable_before_login(browser: Any, guarded: MockServer):
    creds = guarded.credentials()["hubble"]
    secret_path = f"/hubble/api/org/{creds['org_id']}/devices"
    assert httpx.get(f"{guarded.base_url}{secret_path}", headers={"Authorization": f"Bearer {creds['token']}"}).status_code == 200

    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    try:
        page.goto(f"{guarded.base_url}/_mock/ui")
        expect(page.locator("#login")).to_be_visible()
        expect(page.locator("#app")).to_be_hidden()
        assert "devices" not in page.locator("body").inner_text()
        assert secret_path not in page.content()
        screenshot(page, "login")

        page.fill("#token", "wrong")
        page.click("#login-form button[type=submit]")
        expect(page.locator("#login-error")).to_contain_text("not accepted")
        expect(page.locator("#app")).to_be_hidden()

        page.fill("#token", TOKEN)
        page.click("#login-form button[type=submit]")
        expect(page.locator("#app")).to_be_visible()
        expect(page.locator("#req-table tbody tr[data-key]").first).to_contain_text("devices")

        page.click("#logout")
        expect(page.locator("#login")).to_be_visible()
        expect(page.locator("#app")).to_be_hidden()
    finally:
        context.close()
