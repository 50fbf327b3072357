"""Start-up and the cyclic garbage collector: the app (specs, compiled schemas, seeded rows)
is built with the collector paused, which is then left as the caller had it."""

from __future__ import annotations

import gc
from pathlib import Path
from typing import Any

import pytest

from mockserver import app as app_module
from mockserver.app import create_app
from mockserver.kernel.runtime import Runtime
from mockserver.settings import Settings


@pytest.fixture
def seeding_sees(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[bool]:
    """Whether the collector was enabled while the APIs seeded, for each start (an empty
    cache folder: every start compiles and seeds, as a cold start does)."""
    monkeypatch.setenv("MOCKSERVER_CACHE_DIR", str(tmp_path / "cache"))
    seen: list[bool] = []
    start_state = Runtime.start_state

    def watched(self: Runtime, *args: Any, **kwargs: Any) -> Any:
        seen.append(gc.isenabled())
        return start_state(self, *args, **kwargs)

    monkeypatch.setattr(Runtime, "start_state", watched)
    return seen


def test_the_app_is_built_with_the_collector_paused(seeding_sees: list[bool]) -> None:
    assert gc.isenabled()
    app = create_app(Settings.from_env(scenario="demo", seed=42))
    assert app.state.runtime.seeded_from_cache == set()  # it did seed
    assert seeding_sees == [False]
    assert gc.isenabled()  # the collector runs again afterwards


def test_a_paused_collector_stays_paused(seeding_sees: list[bool]) -> None:
    gc.disable()
    try:
        create_app(Settings.from_env(scenario="empty", seed=42))
        assert seeding_sees == [False]
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_a_failed_build_gives_the_collector_back(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(app_module, "load_scenario", broken)
    with pytest.raises(RuntimeError, match="boom"):
        create_app(Settings.from_env(scenario="demo", seed=42))
    assert gc.isenabled()
