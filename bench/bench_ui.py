"""Benchmark the dashboard with a full sandbox (a script, not a test).

    python bench/bench_ui.py [--entries 10000] [--messages 10000] [--runs 5]

Fills a frozen sandbox with N journal entries (copies of a few real requests: valid,
invalid, a failed Hubby signature) and M webhook messages (restored through
PUT /_mock/state, with attempts), then measures, in the same run:

1. before: what a user without the dashboard reads, the whole journal
   (GET /_mock/requests) and every delivery (GET /_mock/webhooks/deliveries);
2. after: what the dashboard's first paint costs over HTTP (the page, its two files, one
   page of 50 requests, the clock), and one page of 50 deliveries;
3. in headless Chromium (when it and Playwright are installed): from navigation start to
   the first row of the requests view and of the webhooks view, next to the floor of the
   same run (a new tab loading a tiny JSON document from the same server); medians of --runs.
"""

from __future__ import annotations

import argparse
import copy
import shutil
import statistics
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mockserver.testing import MockServer  # noqa: E402

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]  # fmt: skip
FIRST_ROW = """
window.__firstRow = null;
new MutationObserver((_, observer) => {
  if (document.querySelector("[role=tabpanel]:not([hidden]) tbody tr[data-key]")) {
    window.__firstRow = performance.now();
    observer.disconnect();
  }
}).observe(document, {childList: true, subtree: true});
"""


def fill(server: MockServer, entries: int, messages: int) -> None:
    creds = server.credentials()
    org, token = creds["hubble"]["org_id"], creds["hubble"]["token"]
    hubble = f"{server.hubble_url}/api/org/{org}/devices"
    with httpx.Client(timeout=30) as client:
        client.get(hubble, headers={"Authorization": f"Bearer {token}"})
        client.get(hubble, params={"limit": "x"}, headers={"Authorization": f"Bearer {token}"})
        client.get(f"{server.hubby_url}/countries", headers={"x-api-key": creds["hubby"]["api_key"], "x-timestamp": "1", "x-signature": "0"})
    journal = server.runtime.journal
    samples = journal.entries()
    for i in range(entries - len(samples)):  # no request is in flight: the journal is ours to fill
        journal.record(copy.deepcopy(samples[i % len(samples)]))

    state = server.call("GET", "/state")
    now = state["clock"]["now"]
    rows = state["tables"].setdefault("webhooks.messages", {})
    for i in range(messages):
        mid = f"bench-{i:05d}"
        sent = i % 4 != 0
        rows[mid] = {
            "id": mid, "api": ("hubble", "hubby", "bumblebee")[i % 3], "endpoint_id": f"ep-{i % 7}",
            "url": f"http://127.0.0.1:9/hook/{i % 7}", "event_type": "bench.event", "body": {"n": i, "text": "x" * 200},
            "headers": {"Content-Type": "application/json", "X-Api-Key": "secret-key"},
            "state": "sent" if sent else "failed", "created_at": now - messages + i,
            "next_attempt_at": None if sent else now + 86400 * 365,
            "attempts": [{"number": 1, "at": now - messages + i, "status": 200 if sent else 500, "latency_ms": 3.2,
                          "response_excerpt": "ok", "error": None if sent else "HTTP 500"}],
            "last_error": None if sent else "HTTP 500", "meta": {},
        }  # fmt: skip
    server.call("PUT", "/state", json=state)


def timed_get(client: httpx.Client, paths: list[str]) -> tuple[float, int]:
    started = time.perf_counter()
    size = 0
    for path in paths:
        response = client.get(path)
        response.raise_for_status()
        size += len(response.content)
    return (time.perf_counter() - started) * 1000, size


def median_get(client: httpx.Client, paths: list[str], runs: int) -> tuple[float, int]:
    results = [timed_get(client, paths) for _ in range(runs)]
    return statistics.median(r[0] for r in results), results[0][1]


def browser_times(server: MockServer, runs: int) -> dict[str, float] | None:
    path = shutil.which("chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return None
    if path is None:
        return None
    out: dict[str, list[float]] = {"requests": [], "webhooks": [], "floor": []}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        for _ in range(runs):
            # the floor in this run: a new tab loading a tiny JSON document from the same server
            context = browser.new_context()
            page = context.new_page()
            page.goto(f"{server.base_url}/_mock/health")
            out["floor"].append(page.evaluate("performance.getEntriesByType('navigation')[0].loadEventEnd"))
            context.close()
            for view in ("requests", "webhooks"):
                context = browser.new_context(viewport={"width": 1280, "height": 800})
                page = context.new_page()
                page.add_init_script(FIRST_ROW)
                page.goto(f"{server.base_url}/_mock/ui#{view}", wait_until="commit")
                out[view].append(_first_row(page))
                context.close()
        browser.close()
    return {view: statistics.median(times) for view, times in out.items()}


def _first_row(page: object) -> float:
    """Poll the page's own mark (no selector engine: Playwright's injected script would
    compete with the page for the main thread while it loads)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        mark = page.evaluate("window.__firstRow")  # type: ignore[attr-defined]
        if mark is not None:
            return float(mark)
        time.sleep(0.02)
    raise RuntimeError("no row appeared within 30 s")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=10_000)
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with MockServer(scenario="demo", clock="frozen", rate_limit=False, journal_limit=args.entries) as server:
        started = time.perf_counter()
        fill(server, args.entries, args.messages)
        print(f"filled {args.entries} journal entries and {args.messages} webhook messages in {time.perf_counter() - started:.1f} s")
        with httpx.Client(base_url=f"{server.base_url}/_mock", timeout=60) as client:
            rows = [
                ("before: GET /_mock/requests (whole journal)", ["/requests"]),
                ("before: GET /_mock/webhooks/deliveries (all)", ["/webhooks/deliveries"]),
                ("after: dashboard first paint over HTTP", ["/ui", "/ui/app.css", "/ui/app.js", "/requests/page?limit=50", "/clock"]),
                ("after: GET /_mock/requests/page?limit=50", ["/requests/page?limit=50"]),
                ("after: GET /_mock/requests/page?status=4xx&limit=50", ["/requests/page?status=4xx&limit=50"]),
                ("after: GET /_mock/webhooks/deliveries/page?limit=50", ["/webhooks/deliveries/page?limit=50"]),
                ("after: GET /_mock/clock/timers", ["/clock/timers"]),
            ]
            print(f"{'what':58} {'median ms':>10} {'bytes':>12}")
            for label, paths in rows:
                ms, size = median_get(client, paths, args.runs)
                print(f"{label:58} {ms:10.1f} {size:12,}")
        times = browser_times(server, args.runs)
        if times is None:
            print("headless Chromium: skipped (chromium or playwright missing)")
        else:
            print(f"headless Chromium, a tab loading /_mock/health (the floor, median of {args.runs}): {times.pop('floor'):.0f} ms")
            for view, ms in times.items():
                print(f"headless Chromium, navigation start to the first {view} row (median of {args.runs}): {ms:.0f} ms")


if __name__ == "__main__":
    main()
