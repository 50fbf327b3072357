"""Make docs/dashboard-requests.png, the README's picture of the dashboard (a script, not a test).

    python docs/dashboard_screenshot.py

A frozen demo sandbox gets a few requests of each kind (valid, invalid, a bad Hubby
signature, a fault, a rate-limited one), then headless Chromium opens the requests view
with the invalid request's detail, at 1280 x 720.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mockserver.testing import (  # noqa: E402
    HubbySigner,
    MockServer,
    WebhookSink,  # noqa: E402
)
from tests.ui.conftest import CHROMIUM_ARGS, chromium_path  # noqa: E402


def traffic(server: MockServer, sink: WebhookSink) -> None:
    creds = server.credentials()
    hubble = f"{server.hubble_url}/api/org/{creds['hubble']['org_id']}"
    bearer = {"Authorization": f"Bearer {creds['hubble']['token']}"}
    signer = HubbySigner(creds["hubby"]["api_key"], creds["hubby"]["secret"])
    bad_signature = {"x-api-key": creds["hubby"]["api_key"], "x-timestamp": str(int(time.time() * 1000)), "x-signature": "0" * 64}
    with httpx.Client(timeout=10) as client:
        client.get(f"{hubble}/devices", headers=bearer)
        client.get(f"{hubble}/devices", params={"limit": 2}, headers=bearer)
        client.get(f"{server.hubby_url}/countries", auth=signer)
        client.get(f"{server.hubby_url}/packages", auth=signer)
        client.post(f"{server.bumblebee_url}/webhooks", json={"url": sink.url, "data_types": ["temperature/create"]})
        server.call("POST", "/bumblebee/nodes/Ref001/report", json={"data_type": "temperature/create"})
        client.get(f"{server.hubby_url}/bookings", headers=bad_signature)
        server.call("POST", "/faults", json={"kind": "status", "status": 503, "api": "hubble", "count": 1})
        client.get(f"{hubble}/packets", headers=bearer)
        client.get(f"{hubble}/devices", params={"limit": "many"}, headers=bearer)
        client.get(f"{server.bumblebee_url}/webhooks")
        client.get(f"{hubble}/devices", headers=bearer)


def main() -> None:
    from playwright.sync_api import sync_playwright

    path = chromium_path()
    if path is None:
        sys.exit("no chromium on this machine")
    with MockServer(scenario="demo", clock="frozen") as server, WebhookSink() as sink:
        traffic(server, sink)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 720})
            page.goto(f"{server.base_url}/_mock/ui")
            page.locator("#req-table tbody tr[data-key]", has_text="limit=many").click()
            page.wait_for_selector("#req-detail h3")
            page.screenshot(path=str(ROOT / "docs" / "dashboard-requests.png"))
            browser.close()


if __name__ == "__main__":
    main()
