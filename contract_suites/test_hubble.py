"""Hubble Network Cloud API contract: every operation fuzzed with valid and invalid data,
the device life cycle followed through the spec's links, paged lists walked to their end.

Checks: not_a_server_error, status_code_conformance, response_schema_conformance,
content_type_conformance, negative_data_rejection, ignored_auth, use_after_free,
ensure_resource_availability, and ours: linked_resource_availability, scope_enforcement,
paging_terminates (see mockserver/contracts/checks.py).
"""

from __future__ import annotations

import pytest

from mockserver.contracts.suite import Suite

S = Suite.for_module("hubble")
schema = S.schema


@schema.parametrize()
def test_hubble_operation(case):
    S.check(case)


def test_hubble_stateful():
    """register device -> get -> patch -> list -> delete -> get (404), keys and webhooks alike."""
    S.run_stateful()


@pytest.mark.parametrize("operation", S.paged_operations(), ids=lambda op: op.label)
def test_hubble_paging_terminates(operation):
    S.check_paging(operation)
