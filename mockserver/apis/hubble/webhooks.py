"""Packet webhooks: every packet that enters an organization's stream (simulated, ingested
or decoded) goes to each of the organization's webhooks, in batches of 1..max_batch_size,
as `{"packets": [...]}` in the list-packets packet shape, with the webhook's secret in
`HTTP-X-HUBBLE-TOKEN` (the contract of `POST /api/webhook/testBatch`).

Delivery, retries and the attempt log are the shared engine's (`runtime.webhooks`, policy
"hubble"); this module only decides what is sent where.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...webhooks import ACTIVE_STATES

if TYPE_CHECKING:
    from .models import HubbleBackend

API = "hubble"
EVENT_TYPE = "packet-batch"
TOKEN_HEADER = "HTTP-X-HUBBLE-TOKEN"


class PacketWebhooks:
    def __init__(self, backend: HubbleBackend) -> None:
        self.backend = backend

    def emit(self, org_id: str, records: list[dict[str, Any]]) -> int:
        """Enqueue batches of these stored packet records for each webhook of the org.
        Returns how many messages were enqueued."""
        engine = self.backend.runtime.webhooks
        if engine is None or not records:
            return 0
        hooks = [w for w in self.backend.webhooks.values() if w["org_id"] == org_id]
        if not hooks:
            return 0
        views = [self.backend.packet_view(p) for p in records]
        sent = 0
        for hook in sorted(hooks, key=lambda w: (w["created_at"], w["webhook_id"])):
            size = max(1, int(hook["max_batch_size"]))
            for i in range(0, len(views), size):
                batch = views[i : i + size]
                engine.enqueue(
                    API,
                    hook["webhook_id"],
                    hook["url"],
                    {"packets": batch},
                    {TOKEN_HEADER: hook["secret"], "Content-Type": "application/json"},
                    event_type=EVENT_TYPE,
                    meta={"org_id": org_id, "packets": len(batch)},
                )
                sent += 1
        return sent

    def cancel_pending(self, webhook_id: str) -> int:
        """A deleted webhook gets nothing more: cancel its queued and retrying messages."""
        engine = self.backend.runtime.webhooks
        if engine is None:
            return 0
        n = 0
        for message in engine.messages(api=API, endpoint_id=webhook_id):
            if message["state"] in ACTIVE_STATES:
                engine.cancel(message["id"], "the webhook was deleted")
                n += 1
        return n
