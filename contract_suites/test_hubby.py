"""Hubby eSIM API 2.0 contract: every operation fuzzed with valid and invalid data, each
request HMAC-signed, and the booking life cycle (create -> get -> update -> cancel) followed
through the spec's links.

Checks: not_a_server_error, status_code_conformance, response_schema_conformance,
negative_data_rejection, ignored_auth, ensure_resource_availability (a cancelled booking
still exists, so use_after_free does not apply).
"""

from __future__ import annotations

from mockserver.contracts.suite import Suite

S = Suite.for_module("hubby")
schema = S.schema


@schema.parametrize()
def test_hubby_operation(case):
    S.check(case)


def test_hubby_stateful():
    """create booking -> get -> update -> cancel (by id or by the partner's booking_id)."""
    S.run_stateful()
