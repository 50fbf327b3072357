"""Issue 12, item 13: a frozen clock keeps its position across a restart with `--state`,
also when nobody moved it through the control plane (PRODUCT.md: "Everything ... reads one
clock, so a test can freeze it"; README: state persists across restarts with --state)."""

from __future__ import annotations

from pathlib import Path

from starlette.testclient import TestClient

from mockserver.app import create_app
from mockserver.settings import Settings


def _clock(settings: Settings) -> dict:
    with TestClient(create_app(settings)) as client:
        return client.get("/_mock/clock").json()


def test_a_frozen_clock_does_not_move_over_a_restart(tmp_path: Path) -> None:
    settings = Settings(scenario="empty", clock="frozen", state_path=str(tmp_path / "state.db"))
    first = _clock(settings)
    assert first["mode"] == "frozen"
    second = _clock(settings)  # a restart: time went by, the frozen clock did not
    assert second == first


def test_a_moved_frozen_clock_still_resumes_where_it_was(tmp_path: Path) -> None:
    settings = Settings(scenario="empty", clock="frozen", state_path=str(tmp_path / "state.db"))
    with TestClient(create_app(settings)) as client:
        moved = client.post("/_mock/clock", json={"advance_seconds": 3600}).json()
    assert _clock(settings)["now"] == moved["now"]
