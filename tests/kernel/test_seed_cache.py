"""The disk cache of seeded tables (kernel/seedcache.py): a start that takes it has exactly
the state and answers of a start that seeds, and an entry that does not fit (another
scenario, other code, other settings, another clock reading, a damaged file) is never used.

Each test has a cache folder of its own (MOCKSERVER_CACHE_DIR); `seeded_from_cache` tells
which APIs a start took from it, so every "is used" / "is not used" claim is checked, not
assumed.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import orjson
import pytest
from test_reset_equivalence import T0, _heavy_use, _reads, _tables

from mockserver.kernel import seedcache
from mockserver.kernel.runtime import REANCHOR_SECONDS
from mockserver.scenarios import ScenarioError, load_scenario
from mockserver.testing import HubbySigner, MockServer
from mockserver.testing.plugin import BumblebeeApi, HubbleApi, HubbyApi, _client

APIS = {"hubble", "hubby", "bumblebee"}


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("MOCKSERVER_CACHE_DIR", str(folder))
    return folder / "seeds"


@pytest.fixture
def start() -> Iterator[Callable[..., MockServer]]:
    """Start servers (frozen at T0 unless told); each is stopped at the end of the test."""
    started: list[MockServer] = []

    def run(scenario: str = "demo", **overrides) -> MockServer:
        options = {"clock": "frozen", "clock_start": T0, "rate_limit": False, **overrides}
        server = MockServer(scenario=scenario, **options).start()
        started.append(server)
        return server

    yield run
    for server in started:
        server.stop()


def _uncached(monkeypatch: pytest.MonkeyPatch, start: Callable[..., MockServer], scenario: str = "demo", **kw) -> MockServer:
    with monkeypatch.context() as m:
        m.setenv("MOCKSERVER_CACHE_DIR", "off")
        server = start(scenario, **kw)
    assert server.runtime.seeded_from_cache == set()
    return server


def _same_writes(server: MockServer) -> bytes:
    """Writes whose results come from the seeded id counters and random streams (no webhook
    URL, which differs per call): a cached start must go on generating what a seeded one does."""
    creds = server.credentials()
    with _client(base_url=creds["hubble"]["base_url"], headers={"Authorization": f"Bearer {creds['hubble']['token']}"}) as c:
        hubble = HubbleApi(server, c)
        devices = hubble.add_devices(2, names=["x", "y"])
        hubble.transmit([d["device_id"] for d in devices], count=3)
        hubble.transmit(count=2)
    signer = HubbySigner(creds["hubby"]["api_key"], creds["hubby"]["secret"], clock_ms=server.runtime.clock.now_ms)
    with _client(base_url=creds["hubby"]["base_url"], auth=signer) as c:
        HubbyApi(server, c, signer).create_booking(booking_id="SAME-1", communication_options={"should_send_message": False})
    with _client(base_url=creds["bumblebee"]["base_url"]) as c:
        bumblebee = BumblebeeApi(server, c)
        bumblebee.report(bumblebee.add_node()["id"])
    return _tables(server)


def _entries(cache: Path, api: str) -> list[Path]:
    return sorted(cache.glob(f"*-{api}-*.json"))


def _org_name(server: MockServer) -> str:
    return server.snapshot()["tables"]["hubble.orgs"][server.credentials()["hubble"]["org_id"]]["name"]


@pytest.mark.parametrize("scenario", ["demo", "empty"])
def test_a_start_from_the_cache_is_the_seeded_state(scenario, cache, start, monkeypatch):
    seeded = _uncached(monkeypatch, start, scenario)
    tables, reads = _tables(seeded), _reads(seeded)
    writer = start(scenario)
    assert writer.runtime.seeded_from_cache == set()  # the first start seeds and writes
    assert {p.name.split("-")[1] for p in cache.glob("*.json")} == APIS
    reader = start(scenario)
    assert reader.runtime.seeded_from_cache == APIS
    assert _tables(reader) == tables
    assert _reads(reader) == reads
    _heavy_use(reader)  # the cached rows are a reset's pristine copy too
    reader.reset()
    assert _tables(reader) == tables
    assert _reads(reader) == reads
    if scenario == "demo":
        assert _same_writes(reader) == _same_writes(seeded)


def test_the_large_scenario_from_the_cache_is_its_seeded_state(cache, start, monkeypatch):
    seeded = _uncached(monkeypatch, start, "large")
    tables, reads = _tables(seeded), _reads(seeded)
    seeded.stop()
    start("large").stop()
    reader = start("large")
    assert reader.runtime.seeded_from_cache == APIS
    assert _tables(reader) == tables
    assert _reads(reader) == reads


def test_an_edited_scenario_never_gets_the_old_entry(cache, start, tmp_path):
    scenario = tmp_path / "mine.yaml"
    scenario.write_text("hubble:\n  org: {name: Before}\n  devices: [{count: 2}]\n")
    assert _org_name(start(str(scenario))) == "Before"
    again = start(str(scenario))
    assert again.runtime.seeded_from_cache == APIS  # unchanged: the entry is used
    scenario.write_text("hubble:\n  org: {name: After}\n  devices: [{count: 2}]\n")
    edited = start(str(scenario))
    assert edited.runtime.seeded_from_cache == set()
    assert _org_name(edited) == "After"


def _tamper(cache: Path) -> None:
    """Rename the organization inside the hubble entry: a start that uses it shows it."""
    for path in _entries(cache, "hubble"):
        doc = orjson.loads(path.read_bytes())
        orgs = doc["tables"]["hubble.orgs"]
        for key, row in orgs.items():
            orgs[key] = orjson.dumps({**orjson.loads(row), "name": "From The Cache"}).decode()
        path.write_bytes(orjson.dumps(doc))


def test_a_code_change_never_gets_the_old_entry(cache, start, monkeypatch):
    start()
    _tamper(cache)
    assert _org_name(start()) == "From The Cache"  # the entry is what a start reads
    monkeypatch.setattr(seedcache, "code_fingerprint", lambda: "another version of the code")
    changed = start()
    assert changed.runtime.seeded_from_cache == set()
    assert _org_name(changed) == "Acme Asset Tracking"  # demo.yaml's


def test_the_code_fingerprint_follows_every_file(tmp_path, monkeypatch):
    package = tmp_path / "pkg"
    (package / "apis").mkdir(parents=True)
    module = package / "apis" / "models.py"
    module.write_text("NAMES = ['a']\n")
    monkeypatch.setattr(seedcache, "_PACKAGE", package)
    seedcache.code_fingerprint.cache_clear()
    try:
        first = seedcache.code_fingerprint()
        module.write_text("NAMES = ['b']\n")
        seedcache.code_fingerprint.cache_clear()
        assert seedcache.code_fingerprint() != first
        (package / "apis" / "new.py").write_text("")
        seedcache.code_fingerprint.cache_clear()
        second = seedcache.code_fingerprint()
        module.write_text("NAMES = ['a']\n")
        (package / "apis" / "new.py").unlink()
        seedcache.code_fingerprint.cache_clear()
        assert seedcache.code_fingerprint() == first != second
    finally:
        seedcache.code_fingerprint.cache_clear()


def test_other_settings_never_get_the_entry_but_another_port_does(cache, start):
    start()
    _tamper(cache)
    assert start(seed=2).runtime.seeded_from_cache == set()
    assert start(hubble_org_id="11111111-2222-4333-8444-555555555555").runtime.seeded_from_cache == set()
    assert _org_name(start(strict=True)) == "From The Cache"  # not something seeding reads


@pytest.mark.parametrize("damage", [b"", b"{not json", b'{"format": "mockserver-seed-cache-1"}', b"[]"])
def test_a_damaged_entry_is_ignored_and_written_again(damage, cache, start, monkeypatch):
    tables = _tables(_uncached(monkeypatch, start))
    start()
    for path in cache.glob("*.json"):
        path.write_bytes(damage)
    damaged = start()
    assert damaged.runtime.seeded_from_cache == set()
    assert _tables(damaged) == tables
    assert start().runtime.seeded_from_cache == APIS  # the seeding start wrote good entries


def test_a_frozen_clock_takes_only_the_entry_of_its_own_instant(cache, start, monkeypatch):
    start()
    _tamper(cache)
    later = start(clock_start=T0 + 1)
    assert later.runtime.seeded_from_cache == set()
    assert _tables(later) == _tables(_uncached(monkeypatch, start, clock_start=T0 + 1))
    assert _org_name(start()) == "From The Cache"  # T0's entry is still there for T0


def test_the_real_clock_takes_an_entry_only_within_the_reanchor_window(cache, start):
    start(clock="real", clock_start=None)
    assert start(clock="real", clock_start=None).runtime.seeded_from_cache == APIS
    for path in cache.glob("*-real.json"):
        doc = orjson.loads(path.read_bytes())
        doc["at"] = time.time() - REANCHOR_SECONDS - 5
        path.write_bytes(orjson.dumps(doc))
    assert start(clock="real", clock_start=None).runtime.seeded_from_cache == set()
    assert start(clock="frozen", clock_start=None).runtime.seeded_from_cache == set()  # a real entry is not a frozen one


def test_with_state_on_disk_a_cached_start_persists_every_row(cache, start, monkeypatch, tmp_path):
    tables = _tables(_uncached(monkeypatch, start))
    start().stop()
    path = tmp_path / "state.db"
    first = start(state_path=str(path))
    assert first.runtime.seeded_from_cache == APIS
    first.stop()
    with monkeypatch.context() as m:
        m.setenv("MOCKSERVER_CACHE_DIR", "off")
        restarted = start(state_path=str(path))
    assert orjson.loads(_tables(restarted)) == orjson.loads(tables)


def test_an_unwritable_cache_folder_changes_nothing(tmp_path, start, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("")
    tables = _tables(_uncached(monkeypatch, start))
    monkeypatch.setenv("MOCKSERVER_CACHE_DIR", str(blocker / "cache"))
    server = start()
    assert server.runtime.seeded_from_cache == set()
    assert _tables(server) == tables


def test_a_parsed_scenario_is_kept_by_content_and_never_served_stale(cache, tmp_path):
    entries = cache.parent / "scenarios"
    path = tmp_path / "mine.yaml"
    path.write_text("hubble:\n  org: {name: One}\n")
    assert load_scenario(str(path))["hubble"]["org"]["name"] == "One"
    [entry] = entries.glob("*.json")
    entry.write_bytes(orjson.dumps({"hubble": {"org": {"name": "From The Cache"}}}))
    assert load_scenario(str(path))["hubble"]["org"]["name"] == "From The Cache"  # the entry is read
    path.write_text("hubble:\n  org: {name: Two}\n")
    assert load_scenario(str(path))["hubble"]["org"]["name"] == "Two"
    for damage in (b'{"hubble": {"org"', b"[]", b'"a string"'):
        for entry in entries.glob("*.json"):
            entry.write_bytes(damage)
        assert load_scenario(str(path))["hubble"]["org"]["name"] == "Two"
    before = set(entries.glob("*.json"))
    path.write_text("hubble:\n  org: {name: Two, colour: blue}\n")
    with pytest.raises(ScenarioError):
        load_scenario(str(path))
    assert set(entries.glob("*.json")) == before  # a refused scenario is never kept


def test_the_cache_keeps_only_its_newest_entries(tmp_path):
    for i in range(6):
        path = tmp_path / f"entry-{i}.json"
        path.write_bytes(b"x" * 100)
        os.utime(path, (1_000_000 + i, 1_000_000 + i))  # entry-5 is the newest
    seedcache.prune(tmp_path, keep_files=4, keep_bytes=10_000)
    assert sorted(p.name for p in tmp_path.glob("*.json")) == [f"entry-{i}.json" for i in (2, 3, 4, 5)]
    seedcache.prune(tmp_path, keep_files=4, keep_bytes=250)
    assert sorted(p.name for p in tmp_path.glob("*.json")) == ["entry-4.json", "entry-5.json"]
