"""The dashboard driven in a real headless Chromium (Debian's `chromium`, through Playwright
for Python with `executable_path`: no browser download). Every test skips with the reason
when Chromium or Playwright is missing; `.ci/run` installs both.

Screenshots of each view go to `artifacts/screenshots/` (git-ignored), or to
$MOCKSERVER_SCREENSHOTS when set (`.ci/run` points it at the checkout it was started in).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from mockserver.testing import MockServer, WebhookSink

# MOCKSERVER_SCREENSHOTS moves them (CI runs the suite in a throwaway clone and keeps this folder)
SCREENSHOTS = Path(os.environ.get("MOCKSERVER_SCREENSHOTS") or Path(__file__).resolve().parents[2] / "artifacts" / "screenshots")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1280, "height": 800}


def chromium_path() -> str | None:
    explicit = os.environ.get("MOCKSERVER_CHROMIUM")
    if explicit:
        return explicit if Path(explicit).exists() else None
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    """One Chromium for tests/ui. Not session-wide: Playwright's sync API keeps an asyncio loop
    running in the main thread while it is open, and every later test that calls
    asyncio.run() (tests/webhooks...) would fail with "cannot be called from a running loop"."""
    path = chromium_path()
    if path is None:
        explicit = os.environ.get("MOCKSERVER_CHROMIUM")
        pytest.skip(f"MOCKSERVER_CHROMIUM={explicit} does not exist" if explicit else "no Chromium on this machine (apt-get install chromium; .ci/run does it)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright for Python is not installed (the test extra has it)")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="module")
def server() -> Iterator[MockServer]:
    with MockServer(scenario="demo", clock="frozen", strict=True, webhook_timeout=2.0) as server:
        yield server


@pytest.fixture
def control(server: MockServer) -> httpx.Client:
    assert server.control is not None
    return server.control


@pytest.fixture
def fresh(server: MockServer, control: httpx.Client) -> MockServer:
    """A clean slate for one test: seeded state, an empty journal, no faults, the start clock."""
    control.post("/reset").raise_for_status()
    control.delete("/requests").raise_for_status()
    control.delete("/faults").raise_for_status()
    control.post("/clock", json={"reset": True}).raise_for_status()
    return server


@pytest.fixture
def page(browser: Any, fresh: MockServer) -> Iterator[Any]:
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.set_default_timeout(10_000)
    page.goto(f"{fresh.base_url}/_mock/ui")
    page.evaluate("window.__loadedOnce = true")  # gone if the page ever reloads
    try:
        yield page
        assert page.evaluate("window.__loadedOnce") is True, "the page reloaded"
        assert errors == [], f"JavaScript errors on the page: {errors}"
    finally:
        context.close()


@pytest.fixture
def sink() -> Iterator[WebhookSink]:
    with WebhookSink() as sink:
        yield sink


def screenshot(page: Any, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path
