"""The state the Hubble mixins share, written down as one Protocol.

Every mixin (`accounts`, `devices`, `packets`, `metrics`) subclasses `HubbleState`: the tables,
clock and ids that `HubbleBackend.__init__` sets, and the few indexes and methods one mixin
reads from another. mypy then checks each mixin on its own, and checks that the backend,
which mixes them all in, provides everything declared here (a method nobody implements
leaves the backend abstract, which mypy reports where it is built).

One Protocol per API rather than one per mixin: a Protocol's declarations are class
attributes, so a per-mixin Protocol placed before another mixin in the backend's MRO would
shadow that mixin's real method with its `...` stub. The shared one sits after every mixin.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from ....kernel.clock import Clock
    from ....kernel.ids import Ids
    from ....kernel.memo import BoundedDict
    from ....kernel.pagination import TokenCodec
    from ....kernel.runtime import Runtime
    from ....kernel.store import Table
    from ....settings import Settings
    from .. import crypto
    from ..webhooks import HubbleWebhooks
    from .packets import Stream


class HubbleState(Protocol):
    """What the Hubble mixins read from the backend and from each other."""

    # set by HubbleBackend.__init__
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
    device_pages: TokenCodec
    packet_pages: TokenCodec
    emitter: HubbleWebhooks

    def now(self) -> float: ...

    # accounts (read by every mixin that takes an org_id)
    def org(self, org_id: str) -> dict[str, Any]: ...

    # devices (read by packets and metrics)
    devices: Table
    _views: BoundedDict[str, tuple[dict[str, Any], dict[str, Any]]]  # device list views (a packet drops one)
    _page_bytes: BoundedDict[tuple[int, ...], tuple[tuple, bytes, dict[int | None, tuple[object, bytes]]]]  # encoded device pages
    _device_walks: BoundedDict[tuple, tuple]  # list-devices walks by query and cursor (models/devices.py)

    def device(self, org_id: str, device_id: str) -> dict[str, Any]: ...

    def device_ids(self, org_id: str) -> list[str]: ...

    def _decoder(self, org_id: str) -> crypto.Decoder: ...

    # packets (read by devices and metrics)
    packets: Table
    _streams: dict[str, Stream]
    _page_memo: BoundedDict[tuple, tuple]  # packet pages by their walk (models/packets.py)
    _last: dict[str, dict[str, tuple[float, float, float]]]  # device -> network -> (ts, lat, lon)

    def stream(self, key: str) -> Stream: ...
