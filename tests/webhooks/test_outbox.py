"""The outbox's record rules without any HTTP: what a message looks like after an attempt
under each API's policy (the engine tests show the same through real receivers)."""

from __future__ import annotations

import pytest

from mockserver.apis.bumblebee.webhooks import POLICY as BUMBLEBEE
from mockserver.apis.hubble.webhooks import POLICY as HUBBLE
from mockserver.apis.hubby.webhooks import POLICY as HUBBY
from mockserver.kernel.store import Store
from mockserver.webhooks import RetryPolicy
from mockserver.webhooks.client import Outcome
from mockserver.webhooks.outbox import (
    Outbox,
    after_attempt,
    attempt_number,
    new_attempt,
    new_record,
    resent,
    serialise,
)

T0 = 1_767_225_600.0


def _record(**changes: object) -> dict:
    record = new_record("m1", "test", "ep", "http://127.0.0.1:9/hook", serialise({"a": [1]}), {"X": "1"},
                        event_type="e", meta={}, now=T0)  # fmt: skip
    return {**record, **changes}


def _attempts(policy: RetryPolicy, statuses: list[int | None]) -> dict:
    """Apply one attempt per status, each at the time the record asked for."""
    record = _record()
    for status in statuses:
        assert record["state"] in ("pending", "failed")
        at = record["next_attempt_at"]
        error = None if status is not None and 200 <= status < 300 else (f"HTTP {status}" if status else "timeout")
        outcome = Outcome(status, "", error, None)
        record = after_attempt(record, new_attempt(attempt_number(record), at, outcome, 1.0, policy), policy)
    return record


@pytest.mark.parametrize(
    ("policy", "times"),
    [
        (BUMBLEBEE, [0, 60, 360, 1260, 4860, 15660]),
        (HUBBY, [0, 60, 360, 2160]),
        (HUBBLE, [0, 30, 90, 210, 450, 930, 1890, 3810, 7650]),
    ],
)
def test_each_apis_schedule_then_cancel(policy: RetryPolicy, times: list[int]) -> None:
    record = _attempts(policy, [503] * len(times))
    assert [a["at"] - T0 for a in record["attempts"]] == times
    assert [a["number"] for a in record["attempts"]] == list(range(1, len(times) + 1))
    assert record["state"] == "canceled" and record["next_attempt_at"] is None
    assert record["last_error"] == f"HTTP 503 (gave up after {len(times)} attempts)"


def test_a_4xx_cancels_only_under_a_cancel_on_4xx_policy() -> None:
    assert _attempts(BUMBLEBEE, [404])["state"] == "canceled"
    assert _attempts(BUMBLEBEE, [404])["last_error"] == "HTTP 404 (a 4xx answer cancels delivery)"
    hubby = _attempts(HUBBY, [404])
    assert hubby["state"] == "failed" and hubby["next_attempt_at"] == T0 + 60


def test_a_2xx_after_failures_is_sent_and_a_resend_starts_a_new_cycle() -> None:
    record = _attempts(HUBBY, [None, 500, 200])
    assert record["state"] == "sent" and record["last_error"] is None and record["next_attempt_at"] is None
    again = resent(record, T0 + 9999)
    assert again["state"] == "pending" and again["next_attempt_at"] == T0 + 9999
    assert attempt_number(again) == 1 and len(again["attempts"]) == 3  # history kept
    assert record["state"] == "sent"  # records are values: the old one is unchanged


def test_only_error_body_policies_keep_the_receivers_message() -> None:
    outcome = Outcome(400, '{"error":"no"}', "HTTP 400", "no")
    assert new_attempt(1, T0, outcome, 1.0, BUMBLEBEE)["error_message"] == "no"
    assert "error_message" not in new_attempt(1, T0, outcome, 1.0, HUBBY)


def test_the_payload_is_serialised_once_and_again_after_a_restore() -> None:
    box = Outbox(Store())
    record = _record()
    box.put(record, serialise(record["body"]))
    assert box.payload(record) == b'{"a":[1]}'
    replaced = {**record, "body": {"a": [2]}}  # a restore puts a new record behind the cache
    box.table.put("m1", replaced)
    assert box.payload(replaced) == b'{"a":[2]}'
