"""Bumblebee's webhooks: which webhooks get a body, with which headers, handed to the one
delivery engine, and how failed deliveries are retried (`POLICY`).

Every enabled webhook subscribed to a data type gets its own message (attempts at t0,
+1 min, +5 min, +15 min, +1 h, +3 h; a 4xx cancels at once). Headers:
Content-Type, User-Agent ("Bumblebee v0.11.0 webhooks"), X-Request-ID (the message id, the
same on every retry and resend) and the webhook's custom headers.

An attempt always uses the webhook's configuration of that moment: changing a webhook's URL
or headers re-targets its messages still pending or failed, and a resend uses the current
configuration too.
"""

from __future__ import annotations

import logging
from typing import Any

from ...kernel.spec import Schema, Spec, load_document, resource_path
from ...webhooks import ACTIVE_STATES, RetryPolicy, WebhookEngine
from .models import NAME, BumblebeeBackend
from .payloads import utc_time

VERSION = "0.11.0"
USER_AGENT = f"Bumblebee v{VERSION} webhooks"
WEBHOOKS_SPEC = "bumblebee-webhooks.yaml"
BODY_SCHEMAS = {
    "battery_level/update": "BatteryLevelUpdate",
    "geo_location/create": "GeoLocationCreate",
    "temperature/create": "TemperatureCreate",
    "sensor_value/create": "SensorValueCreate",
    "sigfox_message_info/create": "SigfoxMessageInfoCreate",
}

log = logging.getLogger("mockserver.bumblebee")

POLICY = RetryPolicy(
    delays=[60.0, 300.0, 900.0, 3600.0, 10800.0],
    timeout=30.0,
    cancel_on_4xx=True,
    store_error_body=True,
    error_excerpt_limit=750,
    user_agent=USER_AGENT,
)
"""Documented (seed 003): first attempt at once, then after 1 min, 5 min, 15 min, 1 h and
3 h; "if all 6 attempts fail, the webhook message will be marked as canceled". A 4xx answer
cancels the message at once; the receiver's `{"error": ...}` message is kept on 4xx and 5xx
answers, truncated to 750 characters. Attempts land at t0, t0+60, t0+360, t0+1260, t0+4860,
t0+15660. A 30 s per-attempt timeout (real seconds); redirects are not followed."""


class BodyBreaksSpec(RuntimeError):
    """The fake built a body its own bumblebee-webhooks.yaml rejects (a bug in the fake)."""


class BumblebeeWebhooks:
    """Bumblebee's sender (`backend.emitter`): one message per subscribed webhook."""

    def __init__(self, backend: BumblebeeBackend) -> None:
        self.runtime = backend.runtime
        self.backend = backend
        spec = Spec("bumblebee-webhooks", load_document(str(resource_path(WEBHOOKS_SPEC))))
        self._schemas: dict[str, Schema] = {t: spec.component_schema(n) for t, n in BODY_SCHEMAS.items()}

    @property
    def engine(self) -> WebhookEngine:
        assert self.runtime.webhooks is not None, "the webhook engine is not set up"
        return self.runtime.webhooks

    def emit_all(
        self, bodies: list[tuple[str, dict[str, Any]]]
    ) -> list[tuple[str, dict[str, Any], list[dict[str, Any]]]]:
        """Emit several bodies (one Sigfox message's); all are checked before any is sent."""
        for data_type, body in bodies:
            self.check(data_type, body)
        return [(data_type, body, self.emit(data_type, body, checked=True)) for data_type, body in bodies]

    def emit(self, data_type: str, body: dict[str, Any], *, checked: bool = False) -> list[dict[str, Any]]:
        """One message per subscribed, enabled webhook. Returns the message records."""
        if not checked:
            self.check(data_type, body)
        records = []
        for hook in self.backend.subscribers(data_type):
            message_id = self.backend.ids.uuid("message")
            records.append(
                self.engine.enqueue(
                    NAME,
                    hook["id"],
                    hook["url"],
                    body,
                    request_headers(hook, message_id),
                    event_type=data_type,
                    message_id=message_id,
                )
            )
        return records

    def check(self, data_type: str, body: dict[str, Any]) -> None:
        problems = self._schemas[data_type].errors(body, "body")
        if problems:
            text = "; ".join(str(p) for p in problems)
            if self.runtime.settings.strict:
                raise BodyBreaksSpec(f"{data_type} body breaks bumblebee-webhooks.yaml: {text}")
            log.warning("%s body breaks bumblebee-webhooks.yaml: %s", data_type, text)

    # -- the message log ------------------------------------------------------------------
    def messages(self, webhook_id: str, state: str | None, limit: int) -> list[dict[str, Any]]:
        return self.engine.messages(api=NAME, endpoint_id=webhook_id, state=state, limit=limit)

    def message(self, webhook_id: str, message_id: str) -> dict[str, Any] | None:
        msg = self.engine.get(message_id)
        if msg is None or msg.get("api") != NAME or msg.get("endpoint_id") != webhook_id:
            return None
        return msg

    def resend(self, hook: dict[str, Any], message_id: str) -> dict[str, Any]:
        msg = self.engine.get(message_id)
        if msg is None:
            raise KeyError(message_id)
        self._retarget(hook, msg)
        return self.engine.resend(message_id)

    def retarget(self, hook: dict[str, Any]) -> None:
        """Point the webhook's pending and failed messages at its current URL and headers."""
        for msg in self.engine.messages(api=NAME, endpoint_id=hook["id"]):
            if msg["state"] in ACTIVE_STATES:
                self._retarget(hook, msg)

    def drop(self, webhook_id: str) -> int:
        return self.engine.clear(api=NAME, endpoint_id=webhook_id)

    def _retarget(self, hook: dict[str, Any], msg: dict[str, Any]) -> None:
        self.engine.retarget(msg["id"], hook["url"], request_headers(hook, msg["id"]))


def request_headers(hook: dict[str, Any], message_id: str) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Request-ID": message_id,
        **hook["headers"],
    }


# -- rendering for the sandbox API -------------------------------------------------------
def render_message(msg: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": msg["id"],
        "webhook_id": msg["endpoint_id"],
        "data_type": msg["event_type"],
        "state": msg["state"],
        "status_message": status_message(msg),
        "created_at": utc_time(msg["created_at"]),
        "payload": msg["body"],
        "attempts": [render_attempt(a) for a in msg.get("attempts", ())],
        "next_attempt_at": utc_time(msg.get("next_attempt_at")),
    }


def render_attempt(attempt: dict[str, Any]) -> dict[str, Any]:
    return {
        "at": utc_time(attempt["at"]),
        "status": attempt.get("status"),
        "latency_ms": max(0, round(attempt.get("latency_ms") or 0)),
        "error": attempt.get("error_message"),
        "reason": attempt.get("error"),
    }


def status_message(msg: dict[str, Any]) -> str | None:
    """Why delivery failed ("HTTP 404: Unknown asset", "connection reset"), for failed and
    canceled messages; null otherwise."""
    if msg["state"] not in ("failed", "canceled"):
        return None
    reason: str | None = msg.get("last_error")
    attempts = msg.get("attempts") or []
    last = attempts[-1] if attempts else None
    if last is None:
        return reason
    told = last.get("error_message")
    cause: str = last.get("error") or (f"HTTP {last['status']}" if last.get("status") else "delivery failed")
    if told:
        cause = f"{cause}: {told}"
    if reason and last.get("error") and reason.startswith(last["error"]):
        return cause + reason[len(last["error"]) :]  # keep the engine's "(gave up after 6 attempts)"
    return reason if reason and not last.get("error") else cause
