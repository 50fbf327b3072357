"""The dashboard in a real browser: what happens on the server shows up without a reload, the
filters narrow the journal, the buttons change the server's state, and secrets stay masked.

Expectations are read back from the server's own JSON, never assumed; every wait is for a
condition (Playwright's auto-waiting), never a duration."""

from __future__ import annotations

import re
import time
from typing import Any

import httpx
import pytest

from mockserver.testing import MockServer, WebhookSink

from .conftest import screenshot

expect = pytest.importorskip("playwright.sync_api", reason="Playwright for Python is not installed (the test extra has it)").expect


def hubble(server: MockServer, path: str, headers: dict[str, str] | None = None, **kwargs: Any) -> httpx.Response:
    creds = server.credentials()["hubble"]
    headers = {"Authorization": f"Bearer {creds['token']}", **(headers or {})}
    return httpx.get(f"{server.hubble_url}/api/org/{creds['org_id']}{path}", headers=headers, **kwargs)


def hubby_badly_signed(server: MockServer) -> httpx.Response:
    creds = server.credentials()["hubby"]
    headers = {"x-api-key": creds["api_key"], "x-timestamp": str(int(time.time() * 1000)), "x-signature": "0" * 64}
    return httpx.get(f"{server.hubby_url}/countries", headers=headers)


def rows(page: Any, table: str) -> Any:
    return page.locator(f"#{table} tbody tr[data-key]")


def page_of(control: httpx.Client, **params: Any) -> dict[str, Any]:
    response = control.get("/requests/page", params=params)
    response.raise_for_status()
    return response.json()


def test_requests_appear_live_and_the_filters_narrow_them(page: Any, fresh: MockServer, control: httpx.Client):
    expect(page.locator("#req-table tbody")).to_contain_text("No requests match")
    assert hubble(fresh, "/devices").status_code == 200
    expect(rows(page, "req-table")).to_have_count(1)  # polled in, no reload
    assert hubble(fresh, "/devices", params={"limit": "many"}).status_code == 400
    assert hubby_badly_signed(fresh).status_code == 401
    expect(rows(page, "req-table")).to_have_count(3)
    expect(rows(page, "req-table").first).to_contain_text("hubby")  # newest first
    screenshot(page, "requests")

    page.select_option("#req-filters select[name=api]", "hubby")
    expect(rows(page, "req-table")).to_have_count(page_of(control, api="hubby")["total"])
    expect(page.locator("#req-table tbody")).not_to_contain_text("hubble")

    page.select_option("#req-filters select[name=api]", "")
    page.fill("#req-filters input[name=status]", "4")  # half typed: no filter yet, no error
    expect(rows(page, "req-table")).to_have_count(3)
    expect(page.locator("#banner")).to_be_hidden()
    page.fill("#req-filters input[name=status]", "4xx")
    expect(rows(page, "req-table")).to_have_count(page_of(control, status="4xx")["total"])
    expect(page.locator("#req-table tbody")).not_to_contain_text("200")

    page.fill("#req-filters input[name=status]", "")
    page.check("#req-filters input[name=violations]")
    expect(rows(page, "req-table")).to_have_count(1)
    expect(rows(page, "req-table").first).to_contain_text("1 violation")

    page.click("#req-filters button[type=reset]")
    page.fill("#req-filters input[name=operation_id]", "list-devices")
    expect(rows(page, "req-table")).to_have_count(page_of(control, operation_id="list-devices")["total"])


def test_a_request_opens_with_violations_in_words_masked_headers_and_the_string_to_sign(page: Any, fresh: MockServer):
    token = fresh.credentials()["hubble"]["token"]
    api_key = fresh.credentials()["hubby"]["api_key"]
    hubble(fresh, "/devices", params={"limit": "many"})
    hubby_badly_signed(fresh)

    rows(page, "req-table").filter(has_text="limit=many").click()
    detail = page.locator("#req-detail")
    expect(detail).to_contain_text("What does not match the specification")
    expect(detail).to_contain_text("query parameter “limit”")
    expect(detail).to_contain_text("Bearer •••• (")
    expect(detail).not_to_contain_text(token)
    expect(detail.locator("h3", has_text="Rate limit")).to_have_count(1)
    screenshot(page, "request-detail")

    page.keyboard.press("Escape")
    expect(detail).to_be_hidden()
    rows(page, "req-table").filter(has_text="hubby").click()
    expect(detail).to_contain_text("the strings the server expected to be signed")
    signed = detail.locator(".sts pre").first.inner_text()
    assert "GET" in signed and signed.endswith("/countries"), signed
    expect(detail).not_to_contain_text(api_key)
    page.check("#reveal")
    expect(detail).to_contain_text(api_key)  # the reveal toggle shows what was masked


def test_a_fault_shows_on_the_request_it_hit(page: Any, fresh: MockServer, control: httpx.Client):
    control.post("/faults", json={"kind": "status", "status": 503, "api": "hubble", "count": 1}).raise_for_status()
    assert hubble(fresh, "/devices").status_code == 503
    row = rows(page, "req-table").first
    expect(row).to_contain_text("fault: status")
    row.click()
    expect(page.locator("#req-detail")).to_contain_text("Fault applied")


def test_keyboard_alone_switches_views_and_opens_a_row(page: Any, fresh: MockServer):
    hubble(fresh, "/devices")
    expect(rows(page, "req-table")).to_have_count(1)
    rows(page, "req-table").first.focus()
    page.keyboard.press("Enter")
    expect(page.locator("#req-detail")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.locator("#req-detail")).to_be_hidden()
    page.keyboard.press("3")
    expect(page.locator("#view-clock")).to_be_visible()
    expect(page.locator("#tab-clock")).to_have_attribute("aria-selected", "true")
    page.keyboard.press("ArrowRight")
    expect(page.locator("#view-state")).to_be_visible()


def _bumblebee_hook(server: MockServer, url: str) -> dict[str, Any]:
    response = httpx.post(f"{server.bumblebee_url}/webhooks", json={"url": url, "data_types": ["temperature/create"]})
    assert response.status_code == 201, response.text
    return response.json()


def _report(control: httpx.Client) -> None:
    response = control.post("/bumblebee/nodes/Ref001/report", json={"data_type": "temperature/create"})
    assert response.status_code == 201, response.text


def _message(control: httpx.Client, api: str = "bumblebee") -> dict[str, Any]:
    (message,) = control.get("/webhooks/deliveries", params={"api": api}).json()["deliveries"]
    return message


def test_webhook_attempts_show_live_and_resend_sends_again(page: Any, fresh: MockServer, control: httpx.Client, sink: WebhookSink):
    sink.script(500)  # the first attempt fails, the next ones succeed
    _bumblebee_hook(fresh, sink.url)
    page.click("#tab-webhooks")
    _report(control)
    row = rows(page, "wh-table").first
    expect(row).to_contain_text("failed")
    expect(row).to_contain_text("500")
    row.click()
    detail = page.locator("#wh-detail")
    expect(detail.locator("table.attempts tbody tr")).to_have_count(1)
    page.click("#wh-detail button:has-text('Open payload')")
    expect(detail).to_contain_text("temperature/create")
    screenshot(page, "webhooks")

    before = len(_message(control)["attempts"])
    detail.get_by_role("button", name="Resend").click()
    expect(row).to_contain_text("sent")
    assert len(_message(control)["attempts"]) == before + 1
    assert _message(control)["state"] == "sent"
    expect(detail.locator("table.attempts tbody tr")).to_have_count(before + 1)

    page.select_option("#wh-filters select[name=state]", "failed")
    expect(page.locator("#wh-table tbody")).to_contain_text("No webhook messages match")
    page.select_option("#wh-filters select[name=state]", "sent")
    expect(rows(page, "wh-table")).to_have_count(1)


def test_clock_buttons_move_the_server_clock_and_fire_the_next_timer(page: Any, fresh: MockServer, control: httpx.Client):
    page.click("#tab-clock")
    timers = control.get("/clock/timers").json()
    assert timers["timers"], "the demo scenario schedules Hubby reminders"
    expect(page.locator("#timers-table tbody tr").first).to_contain_text(timers["timers"][0]["kind"])
    screenshot(page, "clock")

    start = control.get("/clock").json()["now"]
    page.click("button[data-advance='3600']")
    expect(page.locator("#clock-result")).to_contain_text("timer(s) fired")
    assert control.get("/clock").json()["now"] == start + 3600

    due = control.get("/clock/timers").json()["timers"][0]["at"]
    pending = control.get("/clock").json()["timers_pending"]
    page.click("#clock-next")
    expect(page.locator("#clock-result")).to_contain_text(re.compile(r"[1-9]\d* timer\(s\) fired"))
    clock = control.get("/clock").json()
    assert clock["now"] == due and clock["timers_pending"] < pending

    page.click("#clock-freeze")  # frozen -> real
    expect(page.locator("#clock-mode")).to_have_text("real")
    assert control.get("/clock").json()["mode"] == "real"
    page.click("#clock-reset")
    expect(page.locator("#clock-mode")).to_have_text("frozen")
    assert control.get("/clock").json()["now"] < start + 3600  # back from the fast-forward


def test_state_shows_counts_and_tables_and_resets_one_api(page: Any, fresh: MockServer, control: httpx.Client, sink: WebhookSink):
    summary = control.get("/state/summary").json()
    devices = next(t for t in summary["apis"]["hubble"]["tables"] if t["short"] == "devices")
    _bumblebee_hook(fresh, sink.url)
    page.click("#tab-state")
    card = page.locator(".card.api", has=page.locator("h2", has_text="bumblebee"))
    expect(card.locator("li", has_text="webhooks")).to_contain_text("1")
    hubble_card = page.locator(".card.api", has=page.locator("h2", has_text="hubble"))
    expect(hubble_card.locator("li", has_text="devices")).to_contain_text(str(devices["count"]))
    hubble_card.get_by_role("button", name="show table hubble.devices").click()
    expect(page.locator("#state-table tbody tr")).to_have_count(min(devices["count"], 50))
    expect(page.locator("#state-table")).to_contain_text("chars hidden")  # device keys are masked
    screenshot(page, "state")

    card.get_by_role("button", name="Reset bumblebee").click()
    expect(card.locator("li", has_text="webhooks")).to_contain_text("0")
    after = control.get("/state/summary").json()["apis"]["bumblebee"]["tables"]
    assert next(t["count"] for t in after if t["short"] == "webhooks") == 0

    with page.expect_download() as download:
        page.click("#state-download")
    assert download.value.suggested_filename.startswith("mockserver-state-")


def test_faults_form_adds_a_rule_and_clear_removes_them(page: Any, fresh: MockServer, control: httpx.Client):
    page.click("#tab-faults")
    form = page.locator("#fault-form")
    form.locator("select[name=api]").select_option("hubble")
    form.locator("input[name=status]").fill("429")
    form.locator("input[name=retry_after]").fill("7")
    form.get_by_role("button", name="Add").click()
    expect(page.locator("#faults-table tbody")).to_contain_text("429")
    (rule,) = control.get("/faults").json()["faults"]
    assert rule["kind"] == "status" and rule["status"] == 429 and rule["retry_after"] == 7 and rule["api"] == "hubble"

    form.locator("select[name=kind]").select_option("latency")  # no latency given: the server says why
    form.get_by_role("button", name="Add").click()
    expect(page.locator("#fault-error")).to_contain_text("latency_ms")
    screenshot(page, "faults")

    page.click("#faults-clear")
    expect(page.locator("#faults-table tbody")).to_contain_text("No fault rules")
    assert control.get("/faults").json()["faults"] == []


def test_markup_in_a_request_is_shown_as_text_never_run(page: Any, fresh: MockServer):
    markup = '<img src=x onerror="window.__pwned = 1">'
    hubble(fresh, "/devices", headers={"X-Note": markup})
    rows(page, "req-table").first.click()
    expect(page.locator("#req-detail")).to_contain_text(markup)
    assert page.evaluate("window.__pwned") is None
    assert page.locator("#req-detail img").count() == 0
