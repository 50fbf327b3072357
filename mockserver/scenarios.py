"""Scenario files: declarative YAML that seeds each API's state (fixtures/*.yaml)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

FIXTURES = Path(__file__).resolve().parent / "fixtures"


class ScenarioError(ValueError):
    pass


def scenario_path(name: str) -> Path:
    candidate = Path(name)
    if candidate.suffix in (".yaml", ".yml") and candidate.exists():
        return candidate
    named = FIXTURES / f"{name}.yaml"
    if named.exists():
        return named
    known = sorted(p.stem for p in FIXTURES.glob("*.yaml"))
    raise ScenarioError(f"no scenario {name!r}: give a YAML file path or one of {known}")


def load_scenario(name: str | None) -> dict[str, Any]:
    """The scenario as a dict keyed by API name; `None` or "empty" gives no data."""
    if name in (None, "", "empty", "none"):
        return {}
    path = scenario_path(name)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ScenarioError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ScenarioError(f"{path}: a scenario is a mapping with keys hubble, hubby, bumblebee")
    unknown = set(data) - {"hubble", "hubby", "bumblebee", "description", "clock"}
    if unknown:
        raise ScenarioError(f"{path}: unknown top-level keys {sorted(unknown)}")
    return data
