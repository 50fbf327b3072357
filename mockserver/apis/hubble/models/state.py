"""The state the Hubble mixins share, written down as a Protocol.

Each mixin (`accounts`, `devices`, `packets`, `metrics`) subclasses the Protocol of what it
reads: the tables, clock and ids that `HubbleBackend.__init__` sets, and the few methods one
mixin calls on another. mypy then checks every mixin on its own, and checks that the backend,
which mixes them all in, provides everything each one declares (a missing method makes the
backend abstract, which mypy reports where it is built).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from ....kernel.clock import Clock
    from ....kernel.ids import Ids
    from ....kernel.pagination import TokenCodec
    from ....kernel.runtime import Runtime
    from ....kernel.store import Table
    from ....settings import Settings
    from .. import crypto
    from ..webhooks import PacketWebhooks


class HubbleState(Protocol):
    """What every Hubble mixin may read."""

    runtime: Runtime
    settings: Settings
    clock: Clock
    ids: Ids
    orgs: Table
    keys: Table
    users: Table
    invitations: Table
    webhooks: Table
    invoices: Table
    api_counts: Table
    devices: Table
    packets: Table
    device_pages: TokenCodec
    packet_pages: TokenCodec
    emitter: PacketWebhooks

    def now(self) -> float: ...

    def org(self, org_id: str) -> dict[str, Any]: ...


class AccountsState(HubbleState, Protocol):
    """What `AccountsMixin` needs beyond the shared state: nothing (it owns the organizations)."""


class DevicesState(HubbleState, Protocol):
    """What `DevicesMixin` reads from the packets mixin: each device's latest packet."""

    def last_heard(self, device_id: str) -> float | None: ...


class PacketsState(HubbleState, Protocol):
    """What `PacketsMixin` reads from the devices mixin: records, views and the decoders."""

    decoders: dict[str, crypto.Decoder]

    def device(self, org_id: str, device_id: str) -> dict[str, Any]: ...


class MetricsState(HubbleState, Protocol):
    """What `MetricsMixin` reads from the devices and packets mixins."""

    def device_ids(self, org_id: str) -> list[str]: ...
