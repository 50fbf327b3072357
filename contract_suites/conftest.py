"""Point the suites at a target: the one `mockserver contracts run` described in
MOCKSERVER_CONTRACTS_* variables, or else a fresh fake started here for the session."""

from __future__ import annotations

import pytest

from mockserver.contracts.fake import ensure_targets, stop_fake


def pytest_configure(config: pytest.Config) -> None:
    ensure_targets()


def pytest_unconfigure(config: pytest.Config) -> None:
    stop_fake()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # schemathesis names each generated test after its function only; put the operation in
    # the test id so the progress lines and the JUnit report say which operation it was
    for item in items:
        label = getattr(item, "operation_label", None)
        if label and not item.nodeid.endswith("]"):
            _rename(item, f"{item.nodeid}[{label}]")


def _rename(item: pytest.Item, nodeid: str) -> None:
    if hasattr(item, "_id"):  # pytest >= 9 keeps a structured id
        from _pytest.nodeid import NodeId

        item._id = NodeId.parse(nodeid)
    else:
        item._nodeid = nodeid
