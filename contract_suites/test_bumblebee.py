"""Bumblebee sandbox API contract (mockserver's own API; no credentials): every operation
fuzzed with valid and invalid data, and the webhook life cycle followed through the spec's
links: create -> get -> patch -> list its messages -> delete -> get / patch / list (404).

Checks: not_a_server_error, status_code_conformance, response_schema_conformance,
content_type_conformance, negative_data_rejection, use_after_free,
ensure_resource_availability.
"""

from __future__ import annotations

from mockserver.contracts.suite import Suite

S = Suite.for_module("bumblebee")
schema = S.schema


@schema.parametrize()
def test_bumblebee_operation(case):
    S.check(case)


def test_bumblebee_stateful():
    """create webhook -> get -> patch -> list messages -> delete -> get (404)."""
    S.run_stateful()
