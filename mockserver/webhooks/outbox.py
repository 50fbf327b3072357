"""The outbox: webhook messages as records in the store table `webhooks.messages`.

Records are immutable values: every change builds a new dict and goes through `table.put`,
so snapshots, restore and SQLite persistence see every state change, and a record a caller
holds never changes under it. The functions here say what a record looks like after each
event (enqueued, attempted, resent, retargeted, canceled); `engine.py` decides when those
events happen.

States: `pending` (not attempted in the current cycle), `sent` (a 2xx), `failed` (the last
attempt failed and a retry is scheduled), `canceled` (gave up, a 4xx under a cancel-on-4xx
policy, or canceled by hand).

A message record:

    {"id", "api", "endpoint_id", "url", "event_type", "body", "headers", "state",
     "created_at", "next_attempt_at", "attempts": [attempt, ...], "last_error", "meta"}
    (+ "chaos" when delivery chaos changed it, see chaos.py)

An attempt:

    {"number" (1-based within its cycle; `resend` starts a new cycle), "at" (clock time the
     attempt started), "status" (int | None), "latency_ms" (real wall time),
     "response_excerpt" (first 500 chars), "error" (None or a readable reason),
     "error_message" (only under store_error_body policies: the receiver's {"error": ...})}
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from mockserver.kernel.store import Store

from .client import Outcome
from .policy import RetryPolicy

MESSAGES_TABLE = "webhooks.messages"
STATES = ("pending", "sent", "failed", "canceled")
ACTIVE_STATES = frozenset({"pending", "failed"})
RESPONSE_EXCERPT_CHARS = 500

Record = dict[str, Any]


def serialise(body: Any) -> bytes:
    """The bytes sent on every attempt (compact JSON); TypeError for a body JSON cannot hold."""
    return json.dumps(body, separators=(",", ":")).encode()


class Outbox:
    """The message table, with a cache of each active message's serialised body."""

    def __init__(self, store: Store) -> None:
        self.table = store.table(MESSAGES_TABLE)
        # message id -> (the stored body object, the bytes sent on every attempt); the body is
        # compared by identity, so a record replaced behind our back (restore) is re-serialised
        self._payloads: dict[str, tuple[Any, bytes]] = {}

    def __contains__(self, message_id: str) -> bool:
        return message_id in self.table

    def get(self, message_id: str) -> Record | None:
        record: Record | None = self.table.get(message_id)
        return record

    def require(self, message_id: str) -> Record:
        """The record; KeyError when there is none."""
        record = self.get(message_id)
        if record is None:
            raise KeyError(message_id)
        return record

    def put(self, record: Record, payload: bytes | None = None) -> Record:
        """Store the record (and the bytes of its body, when already serialised)."""
        self.table.put(record["id"], record)
        if payload is not None:
            self._payloads[record["id"]] = (record["body"], payload)
        elif record["state"] not in ACTIVE_STATES:
            self._payloads.pop(record["id"], None)  # no attempt will need it
        return record

    def delete(self, message_id: str) -> None:
        self._payloads.pop(message_id, None)
        self.table.delete(message_id)

    def forget_payloads(self) -> None:
        self._payloads.clear()

    def payload(self, record: Record) -> bytes:
        """The bytes to send for this record's body (serialised once per active message)."""
        cached = self._payloads.get(record["id"])
        if cached is not None and cached[0] is record["body"]:
            return cached[1]
        payload = serialise(record["body"])
        self._payloads[record["id"]] = (record["body"], payload)
        return payload

    def records(self) -> Iterator[tuple[str, Record]]:
        """(id, record) of every message, oldest insertion first (a copy: safe to change the table)."""
        return iter(list(self.table.items()))

    # -- reading ------------------------------------------------------------------------
    def messages(
        self,
        api: str | None = None,
        endpoint_id: str | None = None,
        state: str | None = None,
        event_type: str | None = None,
        limit: int | None = None,
    ) -> list[Record]:
        """Matching records, newest first (creation time, then insertion order)."""
        rows = [
            m
            for m in reversed(list(self.table.values()))
            if (api is None or m.get("api") == api)
            and (endpoint_id is None or m.get("endpoint_id") == endpoint_id)
            and (state is None or m.get("state") == state)
            and (event_type is None or m.get("event_type") == event_type)
        ]
        rows.sort(key=lambda m: m.get("created_at") or 0.0, reverse=True)  # stable: ties stay newest first
        return rows if limit is None else rows[: max(0, limit)]

    def stats(
        self,
        api: str,
        endpoint_id: str | None = None,
        since: float | None = None,
        until: float | None = None,
    ) -> dict[str, int]:
        """Real counts. With since/until (clock seconds, half-open), messages are counted by
        creation time and attempts by their own `at`."""
        out = {
            "messages": 0,
            "sent": 0,
            "failed": 0,
            "canceled": 0,
            "pending": 0,
            "attempts": 0,
            "successful_attempts": 0,
        }
        for m in self.table.values():
            if m.get("api") != api or (endpoint_id is not None and m.get("endpoint_id") != endpoint_id):
                continue
            if _in_window(m.get("created_at"), since, until):
                out["messages"] += 1
                state = m.get("state")
                if state in out:
                    out[state] += 1
            for attempt in m.get("attempts", ()):
                if _in_window(attempt.get("at"), since, until):
                    out["attempts"] += 1
                    status = attempt.get("status")
                    if status is not None and 200 <= status < 300:
                        out["successful_attempts"] += 1
        return out


# -- what a record looks like after each event ----------------------------------------------------
def json_copy(value: Any) -> Any:
    """A deep copy through JSON (what the store can hold); TypeError when it cannot."""
    return json.loads(json.dumps(value))


def new_record(
    message_id: str,
    api: str,
    endpoint_id: str,
    url: str,
    payload: bytes,
    headers: dict[str, str],
    *,
    event_type: str,
    meta: dict[str, Any],
    now: float,
) -> Record:
    """A pending message due now, its body read back from the bytes that will be sent (so
    the caller's objects stay the caller's)."""
    return {
        "id": message_id,
        "api": api,
        "endpoint_id": endpoint_id,
        "url": url,
        "event_type": event_type,
        "body": json.loads(payload),
        "headers": {str(k): str(v) for k, v in headers.items()},
        "state": "pending",
        "created_at": now,
        "next_attempt_at": now,
        "attempts": [],
        "last_error": None,
        "meta": meta,
    }


def resent(record: Record, now: float) -> Record:
    """A new attempt cycle, due now (the attempts so far are kept)."""
    return {**record, "state": "pending", "next_attempt_at": now, "last_error": None}


def retargeted(record: Record, url: str, headers: dict[str, str]) -> Record:
    """Later attempts go to this URL with these headers; the body and history stay."""
    return {**record, "url": url, "headers": dict(headers)}


def canceled(record: Record, reason: str) -> Record:
    return {**record, "state": "canceled", "next_attempt_at": None, "last_error": reason}


def attempt_number(record: Record) -> int:
    """The number the next attempt of this record gets (1 at the start of a cycle)."""
    previous = record.get("attempts") or []
    if record["state"] == "pending" or not previous:
        return 1
    return int(previous[-1].get("number", len(previous))) + 1


def new_attempt(number: int, at: float, outcome: Outcome, latency_ms: float, policy: RetryPolicy) -> dict[str, Any]:
    attempt: dict[str, Any] = {
        "number": number,
        "at": at,
        "status": outcome.status,
        "latency_ms": latency_ms,
        "response_excerpt": outcome.text[:RESPONSE_EXCERPT_CHARS],
        "error": outcome.error,
    }
    if policy.store_error_body:
        attempt["error_message"] = outcome.error_message
    return attempt


def with_attempt(record: Record, attempt: dict[str, Any]) -> Record:
    """The attempt appended, the state left as it is (a newer cycle decides it)."""
    return {**record, "attempts": [*record.get("attempts", ()), attempt]}


def after_attempt(record: Record, attempt: dict[str, Any], policy: RetryPolicy) -> Record:
    """The attempt appended and the policy applied: sent, failed with the next attempt's
    time (`attempt.at + delays[k]`), or canceled (a 4xx under cancel_on_4xx, or no retry left)."""
    out = with_attempt(record, attempt)
    status = attempt["status"]
    if status is not None and 200 <= status < 300:
        out.update(state="sent", next_attempt_at=None, last_error=None)
    elif policy.cancel_on_4xx and status is not None and 400 <= status < 500:
        out.update(
            state="canceled",
            next_attempt_at=None,
            last_error=f"{attempt['error']} (a 4xx answer cancels delivery)",
        )
    elif attempt["number"] <= len(policy.delays):
        when = attempt["at"] + float(policy.delays[attempt["number"] - 1])
        out.update(state="failed", next_attempt_at=when, last_error=attempt["error"])
    else:
        out.update(
            state="canceled",
            next_attempt_at=None,
            last_error=f"{attempt['error']} (gave up after {attempt['number']} attempts)",
        )
    return out


def _in_window(value: float | None, since: float | None, until: float | None) -> bool:
    if since is None and until is None:
        return True
    if value is None:
        return False
    return (since is None or value >= since) and (until is None or value < until)
