"""The package list in pyproject.toml is written by hand (three data folders at the top of the
repository install inside the package), so a new package must not be forgotten there."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _config() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]


def test_every_package_under_mockserver_is_listed():
    on_disk = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for init in (ROOT / "mockserver").rglob("__init__.py")
        if "__pycache__" not in init.parts
    }
    listed = set(_config()["packages"])
    missing = sorted(on_disk - listed)
    assert not missing, f"add these to [tool.setuptools] packages in pyproject.toml: {missing}"


def test_the_data_folders_at_the_top_are_packages_mapped_into_mockserver():
    config = _config()
    mapped = config["package-dir"]
    assert set(mapped) <= set(config["packages"])
    for package, folder in mapped.items():
        assert package.startswith("mockserver."), package
        assert (ROOT / folder / "__init__.py").is_file(), f"{folder}/ needs an __init__.py to be installed as {package}"
        assert not (ROOT / folder).is_symlink()
        assert not (ROOT / "mockserver" / package.split(".", 1)[1]).exists(), f"{package} has two homes"
    for package in set(config["packages"]) - set(mapped):
        assert (ROOT / Path(*package.split(".")) / "__init__.py").is_file(), f"{package} is listed but missing"


def test_an_editable_install_reads_the_top_level_folders():
    from mockserver import datafiles

    assert datafiles.resources() == (ROOT / "resources").resolve()
    assert datafiles.fixtures() == (ROOT / "fixtures").resolve()
    assert datafiles.contract_suites() == (ROOT / "contract_suites").resolve()
