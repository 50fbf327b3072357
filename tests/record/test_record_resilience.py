"""Recording through rate limits, a 429 storm and a connection reset halfway (resumed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mockserver.record import hubble as hubble_recorder

from .conftest import SMALL, load, record, start_source
from .helpers import all_devices


@pytest.fixture
def small_pages(monkeypatch):
    """Pages of 10 devices and detail batches of 10, so a 30-device account has several."""
    monkeypatch.setattr(hubble_recorder, "DEVICE_PAGE", 10)
    monkeypatch.setattr(hubble_recorder, "DETAIL_BATCH", 10)


@pytest.fixture
def small(small_source):
    return small_source


def _recorded_matches(source, out: Path) -> None:
    doc = load(out)
    devices = all_devices(source.hubble)
    assert [d["id"] for d in doc["hubble"]["recorded"]["devices"]] == [d["id"] for d in devices]
    details = {d["id"]: d.get("encryption") for d in doc["hubble"]["recorded"]["devices"]}
    assert sorted(details.values()).count("AES-128-EAX") == sum(d["name"].startswith("bike") for d in devices)
    packets = source.hubble.get("/packets", params={"start": 0}).json()["packets"]
    assert len(doc["hubble"]["recorded"]["packets"]) == len(packets) > 50


def test_rate_limits_on_are_respected(tmp_path, small_pages, capsys):
    src = start_source(scenario=str(SMALL))  # the vendor's limits: 3/s per endpoint, 15/s per org
    try:
        out = tmp_path / "limited.yaml"
        assert record(src.args(out, quiet=False)) == 0
        err = capsys.readouterr().err
        assert "record hubble devices: 3 pages" in err and "record hubble device details: 29 done" in err
        # a full bucket (X-RateLimit-Remaining: 0) makes the recorder wait for a slot instead
        # of being refused: 29 detail calls in a row would meet ~9 429s otherwise
        assert len(src.server.requests(api="hubble", status=429)) <= 2
        _recorded_matches(src, out)
    finally:
        src.close()
        src.server.stop()


def test_a_429_storm_is_ridden_out(small, tmp_path, small_pages, capsys):
    small.server.add_fault(api="hubble", kind="status", status=429, retry_after=0, count=40)
    small.server.add_fault(api="hubble", operation_id="get-device", kind="status", status=429, retry_after=1, count=2)
    try:
        out = tmp_path / "storm.yaml"
        assert record(small.args(out, quiet=False)) == 0
        err = capsys.readouterr().err
        assert err.count("rate limited (429): waiting 0 s") >= 40 and "waiting 1 s" in err
        _recorded_matches(small, out)
    finally:
        small.server.clear_faults()


def test_a_reset_halfway_is_resumed(small, tmp_path, small_pages, capsys):
    out = tmp_path / "reset.yaml"
    devices = all_devices(small.hubble)
    victim = devices[14]["id"]  # after one batch of details is saved and four more are read
    small.server.clear_requests()
    small.server.add_fault(api="hubble", kind="reset", path=f"/devices/{victim}$", count=4)
    try:
        assert record(small.args(out)) == 3  # interrupted: state saved
        assert "run the same command again to resume" in capsys.readouterr().err
        assert not out.exists() and out.with_name(out.name + ".partial").is_dir()
        first = small.server.requests(api="hubble", operation_id="get-device", limit=1000)
        assert record(small.args(out)) == 0
        assert not out.with_name(out.name + ".partial").exists()
        calls = small.server.requests(api="hubble", limit=1000)
    finally:
        small.server.clear_faults()
    listed = [c for c in calls if c.get("operation_id") == "list-devices"]
    assert len(listed) == 3  # three pages, read once: the second run did not start over
    details = [c for c in calls if c.get("operation_id") == "get-device"]
    assert len(first) >= 14 + 4 and len(details) - len(first) == len(devices) - 14  # only what was not read yet
    _recorded_matches(small, out)
    clean = tmp_path / "clean.yaml"
    assert record(small.args(clean)) == 0
    a, b = load(out), load(clean)
    assert a["hubble"]["recorded"]["devices"] == b["hubble"]["recorded"]["devices"]
    assert a["hubble"]["recorded"]["packets"] == b["hubble"]["recorded"]["packets"]
