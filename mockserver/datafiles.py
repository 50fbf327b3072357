"""Where the package's data folders are, installed or in a clone.

The repository keeps them at its top level (`resources/`, `fixtures/`, `contract_suites/`);
setuptools maps each into the package (`[tool.setuptools.package-dir]` in pyproject.toml),
so an installed wheel has them as `mockserver.resources` and so on, and an editable
install finds them in the clone. Looking them up by package name works in both cases.
"""

from __future__ import annotations

import importlib.util
from functools import cache
from pathlib import Path


@cache
def package_folder(name: str) -> Path:
    """The folder of the data package `mockserver.<name>` (imports nothing but `mockserver`)."""
    spec = importlib.util.find_spec(f"mockserver.{name}")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"mockserver.{name} is missing from this installation (reinstall mockserver)")
    return Path(next(iter(spec.submodule_search_locations))).resolve()


def resources() -> Path:
    """The specs the fake serves (`resources/`)."""
    return package_folder("resources")


def fixtures() -> Path:
    """The shipped scenario files (`fixtures/`)."""
    return package_folder("fixtures")


def contract_suites() -> Path:
    """The contract suites `mockserver contracts run` runs (`contract_suites/`)."""
    return package_folder("contract_suites")
