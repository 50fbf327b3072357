"""Fixtures every test folder may use, and the rule for reference material.

Some tests compare the project with documents that live beside the repository, never in it
(`../shared/reference`, `../shared/seeds`: the vendor's OpenAPI document, the seeds). A clone
has no copy, so those tests take the `reference` fixture (or `hubble_vendor_spec`), which
skips them with the reason when the material is absent. Taking the fixture marks the test
`reference`, so CI can run exactly these where the material is present
(`pytest -m reference` with MOCKSERVER_REQUIRE_REFERENCE=1 turns a skip into a failure),
and a skip that mentions ../shared from an unmarked test fails: nothing is silently left out.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
REFERENCE_FIXTURES = {"reference", "hubble_vendor_spec"}


def shared_dir() -> Path:
    return Path(os.environ.get("MOCKSERVER_SHARED_DIR") or ROOT.parent / "shared")


def _absent(what: str) -> None:
    reason = (
        f"needs {what}, reference material outside the repository (../shared in the project's "
        f"workspace; absent in a plain clone)"
    )
    if os.environ.get("MOCKSERVER_REQUIRE_REFERENCE") == "1":
        pytest.fail(f"MOCKSERVER_REQUIRE_REFERENCE=1 but {reason}")
    pytest.skip(reason)


@pytest.fixture
def reference() -> Callable[[str], Path]:
    """`reference("seeds/002_....txt")` is that file under ../shared, or the test is skipped."""

    def need(relative: str) -> Path:
        path = shared_dir() / relative
        if not path.exists():
            _absent(f"../shared/{relative}")
        return path

    return need


@pytest.fixture
def hubble_vendor_spec(reference: Callable[[str], Path]) -> Path:
    """The Hubble vendor's own OpenAPI document (MOCKSERVER_HUBBLE_VENDOR_SPEC wins)."""
    given = os.environ.get("MOCKSERVER_HUBBLE_VENDOR_SPEC")
    if given:
        if not Path(given).is_file():
            pytest.fail(f"MOCKSERVER_HUBBLE_VENDOR_SPEC={given} is not a file")
        return Path(given)
    return reference("reference/hubble-openapi.yaml")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "reference: needs material from ../shared (skipped in a plain clone)")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if REFERENCE_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.reference)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    report = yield
    if report.skipped and "../shared" in str(report.longrepr) and item.get_closest_marker("reference") is None:
        report.outcome = "failed"
        report.longrepr = (
            f"{item.nodeid} skipped for want of ../shared without taking the `reference` fixture: "
            f"take it (tests/conftest.py) so CI runs this test where the material is present"
        )
    return report
