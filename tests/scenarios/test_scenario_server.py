"""Scenarios through a running server: the generated large scenario seeds every API, and
`mockserver serve --scenario` refuses a bad file with its line and column."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx

from mockserver.testing import MockServer


def test_the_large_scenario_seeds_every_api():
    with MockServer(scenario="large", rate_limit=False) as server:
        hubble = server.credentials()["hubble"]
        metrics = httpx.get(
            f"{hubble['base_url']}/api/org/{hubble['org_id']}/device_metrics",
            headers={"Authorization": f"Bearer {hubble['token']}"}, timeout=60,
        )  # fmt: skip
        assert metrics.status_code == 200, metrics.text
        assert metrics.json()["total_registered_devices"] == 10_000
        spare = server.call("GET", "/bumblebee/nodes/node-0500")
        mounted = server.call("GET", "/bumblebee/nodes/node-0250")
        assert spare["asset_id"] is None and mounted["asset_id"] == "asset-0250"
        assert mounted["sigfox_id"] == "0000FA"
        snapshot = server.snapshot()
        bookings = snapshot["tables"]["hubby.bookings"].values()
        assert len(bookings) == 2000
        assert {b["booking_id"] for b in bookings} >= {"LOAD-00001", "LOAD-02000"}


def test_serve_refuses_a_bad_scenario_with_line_and_column(tmp_path: Path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("hubble:\n  devices:\n    - {count: many}\n")
    result = subprocess.run(
        [sys.executable, "-m", "mockserver", "serve", "--scenario", str(bad), "--port", "0"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 2
    assert f"{bad}:3:15: hubble.devices[0].count:" in result.stderr
