"""Issue 10: with `--state`, a read no longer pays an SQLite commit for the API-metrics
counter it bumps. Counter tables are *deferred*: written with the next flush that carries
any other row, or after `DEFER_SECONDS`; an acknowledged client write is on disk before its
response, counters included."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from mockserver.app import create_app
from mockserver.kernel import store as store_module
from mockserver.kernel.store import Store
from mockserver.settings import Settings

S = Settings()
AUTH = {"Authorization": f"Bearer {S.hubble_token}"}
COUNTS = "hubble.api_counts"


def _on_disk(path: Path, table: str) -> dict[str, dict]:
    with sqlite3.connect(str(path)) as db:
        rows = db.execute("SELECT key, value FROM records WHERE tbl = ?", (table,)).fetchall()
    return {key: json.loads(value) for key, value in rows}


def _total(rows: dict[str, dict]) -> int:
    return sum(row["total"] for row in rows.values())


def test_a_deferred_table_waits_for_a_flush_that_writes_anything_else(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    store = Store(path)
    store.defer("counts")
    store.table("counts").put("a", {"n": 1})
    assert store.flush(deferrable=True) == 0
    assert _on_disk(path, "counts") == {}
    store.table("rows").put("x", {"v": 1})  # an acknowledged write takes the counter along
    assert store.flush(deferrable=True) == 2
    assert _on_disk(path, "counts") == {"a": {"n": 1}} and _on_disk(path, "rows") == {"x": {"v": 1}}
    store.table("counts").put("a", {"n": 2})
    assert store.flush() == 1  # a plain flush (the background flusher, shutdown) writes it all
    assert _on_disk(path, "counts") == {"a": {"n": 2}}
    store.close()


def test_a_deferred_change_is_written_once_it_has_waited_long_enough(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "s.sqlite"
    store = Store(path)
    store.defer("counts")
    clock = [1000.0]
    monkeypatch.setattr(store_module.time, "monotonic", lambda: clock[0])
    store.table("counts").put("a", {"n": 1})
    clock[0] += store_module.DEFER_SECONDS / 2
    store.table("counts").put("a", {"n": 2})  # a later change does not restart the wait
    assert store.flush(deferrable=True) == 0
    clock[0] += store_module.DEFER_SECONDS / 2
    assert store.flush(deferrable=True) == 1
    assert _on_disk(path, "counts") == {"a": {"n": 2}}
    store.close()


def test_reads_defer_their_counts_and_a_write_carries_them_to_disk(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    settings = Settings(scenario="demo", rate_limit=False, state_path=str(path))
    with TestClient(create_app(settings)) as client:
        devices = f"/hubble/api/org/{S.hubble_org_id}/devices"
        before = _total(_on_disk(path, COUNTS))
        for _ in range(3):
            assert client.get(devices, params={"limit": 10}, headers=AUTH).status_code == 200
        device = client.get(devices, params={"limit": 10}, headers=AUTH).json()["devices"][0]["id"]
        renamed = client.patch(f"{devices}/{device}", json={"set_name": "deferred-counts"}, headers=AUTH)
        assert renamed.status_code == 200
        # the rename is on disk when the client hears of it, and so is every count before it
        stored = json.loads(
            sqlite3.connect(str(path)).execute("SELECT value FROM records WHERE tbl = 'hubble.devices' AND key = ?", (device,)).fetchone()[0]
        )
        assert stored["name"] == "deferred-counts"
        assert _total(_on_disk(path, COUNTS)) == before + 5
        assert client.get(devices, params={"limit": 10}, headers=AUTH).status_code == 200
    # a clean shutdown writes the counts still waiting
    assert _total(_on_disk(path, COUNTS)) == before + 6
