"""The JSON the dashboard reads, through HTTP (no browser): server-side paging and filters,
masking with an explicit reveal, timers in words, next-timer, state tables, and the admin
token (the page shell is public, every read is not)."""

from __future__ import annotations

import copy
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from mockserver.testing import MockServer

TOKEN = "dashboard-admin-token-123"


@pytest.fixture(scope="module")
def server() -> Iterator[MockServer]:
    with MockServer(scenario="demo", clock="frozen", rate_limit=False) as server:
        yield server


@pytest.fixture
def control(server: MockServer) -> httpx.Client:
    assert server.control is not None
    server.control.post("/reset").raise_for_status()
    server.control.delete("/requests").raise_for_status()
    server.control.post("/clock", json={"reset": True}).raise_for_status()
    return server.control


@pytest.fixture(scope="module")
def guarded() -> Iterator[MockServer]:
    with MockServer(scenario="empty", clock="frozen", admin_token=TOKEN) as server:
        yield server


def _devices(server: MockServer, **params: Any) -> httpx.Response:
    creds = server.credentials()["hubble"]
    return httpx.get(
        f"{server.hubble_url}/api/org/{creds['org_id']}/devices",
        headers={"Authorization": f"Bearer {creds['token']}"},
        params=params,
    )


def test_requests_are_paged_on_the_server_newest_first(server: MockServer, control: httpx.Client):
    for _ in range(7):
        assert _devices(server).status_code == 200
    assert _devices(server, limit="x").status_code == 400
    first = control.get("/requests/page", params={"limit": 3}).json()
    second = control.get("/requests/page", params={"limit": 3, "offset": 3}).json()
    assert first["total"] == second["total"] == 8
    seqs = [r["seq"] for r in first["items"] + second["items"]]
    assert seqs == sorted(seqs, reverse=True) and len(set(seqs)) == 6
    assert first["latest_seq"] == seqs[0]
    assert first["items"][0]["violations"] == 1 and "request" not in first["items"][0]  # a summary, no headers

    bad = control.get("/requests/page", params={"status": "4xx"}).json()
    assert [r["status"] for r in bad["items"]] == [400]
    assert control.get("/requests/page", params={"status": "200"}).json()["total"] == 7
    assert control.get("/requests/page", params={"violations": "1"}).json()["total"] == 1
    assert control.get("/requests/page", params={"api": "hubby"}).json()["total"] == 0


@pytest.mark.parametrize("params", [{"limit": "0"}, {"limit": "501"}, {"offset": "-1"}, {"limit": "x"}, {"status": "abc"}, {"status": "6xx"}])
def test_bad_paging_or_filters_are_a_400_that_says_why(control: httpx.Client, params: dict[str, str]):
    response = control.get("/requests/page", params=params)
    assert response.status_code == 400
    assert next(iter(params)) in response.json()["error"]


def test_a_journal_entry_is_masked_unless_revealed(server: MockServer, control: httpx.Client):
    token = server.credentials()["hubble"]["token"]
    _devices(server)
    seq = control.get("/requests/page").json()["items"][0]["seq"]
    masked = control.get(f"/requests/{seq}").json()
    assert token not in str(masked)
    assert masked["request"]["headers"]["authorization"].startswith("Bearer •••• (")
    assert control.get(f"/requests/{seq}", params={"reveal": "1"}).json()["request"]["headers"]["authorization"] == f"Bearer {token}"
    assert control.get("/requests", params={"limit": 1}).json()["requests"][0]["request"]["headers"]["authorization"] == f"Bearer {token}"  # the journal itself is untouched
    missing = control.get("/requests/999999")
    assert missing.status_code == 404 and "999999" in missing.json()["error"]


def test_timers_are_described_and_next_timer_fires_the_soonest(control: httpx.Client):
    timers = control.get("/clock/timers", params={"limit": 5}).json()
    assert 0 < len(timers["timers"]) <= 5 and timers["timers_pending"] >= len(timers["timers"])
    soonest = timers["timers"][0]
    assert soonest["kind"] == "hubby reminder" and "booking" in soonest["label"]
    assert [t["at"] for t in timers["timers"]] == sorted(t["at"] for t in timers["timers"])
    moved = control.post("/clock/next-timer").json()
    assert moved["now"] == soonest["at"] and moved["timers_fired"] >= 1
    assert moved["timers_pending"] < timers["timers_pending"]


def test_next_timer_with_nothing_pending_is_a_409(guarded: MockServer):
    assert guarded.control is not None
    assert guarded.control.get("/clock").json()["timers_pending"] == 0  # the empty scenario schedules nothing
    response = guarded.control.post("/clock/next-timer")
    assert response.status_code == 409 and "no timer" in response.json()["error"]


def test_state_summary_and_a_table_page(control: httpx.Client):
    summary = control.get("/state/summary").json()
    assert summary["seed"] == 1 and summary["scenario"] == "demo"
    hubble = summary["apis"]["hubble"]["tables"]
    assert hubble[0]["main"] and {t["short"] for t in hubble if t["main"]} == {"devices", "webhooks"}
    snapshot = control.get("/state").json()["tables"]
    for table in hubble:
        assert table["count"] == len(snapshot[table["name"]])
    page = control.get("/state/tables/hubble.devices", params={"limit": 2, "offset": 1}).json()
    assert page["total"] == len(snapshot["hubble.devices"]) and len(page["rows"]) == 2
    key = page["rows"][0]["key"]
    assert page["rows"][0]["value"]["key"] != snapshot["hubble.devices"][key]["key"]  # the device key is masked
    revealed = control.get("/state/tables/hubble.devices", params={"limit": 2, "offset": 1, "reveal": "1"}).json()
    assert revealed["rows"][0]["value"] == snapshot["hubble.devices"][key]
    assert control.get("/state/tables/kernel.clock").status_code == 404
    assert control.get("/state/tables/nope").status_code == 404


def test_deliveries_page_and_detail(server: MockServer, control: httpx.Client):
    hook = httpx.post(f"{server.bumblebee_url}/webhooks", json={"url": "http://127.0.0.1:9/", "data_types": ["temperature/create"], "headers": {"X-Secret-Token": "abc123"}})
    assert hook.status_code == 201, hook.text
    control.post("/bumblebee/nodes/Ref001/report", json={"data_type": "temperature/create"}).raise_for_status()
    deadline = time.monotonic() + 10
    while True:  # the first attempt (to a closed port) is recorded by the background timer loop
        page = control.get("/webhooks/deliveries/page", params={"api": "bumblebee"}).json()
        if page["items"] and page["items"][0]["attempts"]:
            break
        assert time.monotonic() < deadline, page
        time.sleep(0.02)
    item = page["items"][0]
    assert page["total"] == 1 and page["states"] == {item["state"]: 1}
    assert item["state"] == "failed" and item["last_attempt"]["status"] is None and item["next_attempt_at"] > item["created_at"]
    assert "body" not in item
    detail = control.get(f"/webhooks/deliveries/{item['id']}").json()
    assert detail["attempts"][0]["error"] and detail["body"]["data_type"] == "temperature/create"
    assert "abc123" not in str(detail["headers"])
    assert control.get(f"/webhooks/deliveries/{item['id']}", params={"reveal": "1"}).json()["headers"].get("X-Secret-Token") == "abc123"
    assert control.get("/webhooks/deliveries/page", params={"state": "sent"}).json()["total"] == 0
    assert control.get("/webhooks/deliveries/nope").status_code == 404
    assert control.get("/webhooks/deliveries", params={"api": "bumblebee"}).json()["deliveries"][0]["id"] == item["id"]  # the old read is unchanged

    soonest = control.get("/clock/timers", params={"limit": 1}).json()["timers"][0]
    assert soonest["kind"] == "webhook attempt" and soonest["message_id"] == item["id"] and soonest["at"] == item["next_attempt_at"]
    assert "(attempt 2)" in soonest["label"] and "temperature/create" in soonest["label"]
    moved = control.post("/clock/next-timer").json()
    assert moved["now"] == item["next_attempt_at"] and moved["timers_fired"] == 1
    assert len(control.get(f"/webhooks/deliveries/{item['id']}").json()["attempts"]) == 2  # the retry ran


@pytest.mark.parametrize("path", ["/requests/page", "/requests/1", "/webhooks/deliveries/page", "/webhooks/deliveries/x", "/clock/timers", "/state/summary", "/state/tables/hubble.devices"])
def test_every_read_the_page_makes_needs_the_token(guarded: MockServer, path: str):
    assert httpx.get(f"{guarded.base_url}/_mock{path}").status_code == 401
    assert httpx.get(f"{guarded.base_url}/_mock{path}", headers=guarded.admin_headers()).status_code in (200, 404)
    assert httpx.post(f"{guarded.base_url}/_mock/clock/next-timer").status_code == 401


@pytest.mark.parametrize("path", ["/ui", "/ui/", "/ui/app.js", "/ui/app.css"])
def test_the_page_shell_loads_without_the_token_and_holds_no_data(guarded: MockServer, path: str):
    response = httpx.get(f"{guarded.base_url}/_mock{path}")
    assert response.status_code == 200
    assert "default-src 'none'" in response.headers["content-security-policy"]
    assert guarded.credentials()["hubble"]["org_id"] not in response.text
    assert httpx.get(f"{guarded.base_url}/_mock/ui/other.js").status_code == 401  # only the shell is public


def test_the_page_names_its_files_relative_to_where_it_is_served(server: MockServer):
    html = httpx.get(f"{server.base_url}/_mock/ui").text
    assert '<base href="/_mock/ui/">' in html and 'src="app.js"' in html


def test_a_page_counts_every_match_but_returns_only_its_own(server: MockServer, control: httpx.Client):
    assert _devices(server, limit="x").status_code == 400
    assert _devices(server).status_code == 200
    bad, good = server.runtime.journal.entries(limit=2)[::-1]
    extra = 600
    for _ in range(extra):  # no request is in flight: the journal is ours to fill
        server.runtime.journal.record(copy.deepcopy(bad))
    filtered = control.get("/requests/page", params={"status": "4xx", "limit": 10, "offset": 5}).json()
    assert filtered["total"] == extra + 1 and [r["status"] for r in filtered["items"]] == [400] * 10
    tail = control.get("/requests/page", params={"status": "2xx"}).json()
    assert tail["total"] == 1 and tail["items"][0]["seq"] == good["seq"]
    everything = control.get("/requests/page", params={"limit": 5}).json()
    assert everything["total"] == extra + 2 and len(everything["items"]) == 5


def test_a_non_editable_install_ships_the_page():
    """Every file of the page matches a package-data pattern (a wheel would leave it out otherwise)."""
    import tomllib
    from pathlib import Path, PurePosixPath

    import mockserver

    root = Path(mockserver.__file__).parent
    patterns = tomllib.loads((root.parent / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["mockserver"]
    files = [p.relative_to(root).as_posix() for p in (root / "control" / "ui").rglob("*") if p.is_file()]
    assert {"control/ui/index.html", "control/ui/app.js", "control/ui/app.css"} <= set(files)
    assert [f for f in files if not any(PurePosixPath(f).match(pattern) for pattern in patterns)] == []  # "*" stays in its folder
