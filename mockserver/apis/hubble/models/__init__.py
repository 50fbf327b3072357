"""Hubble's state and rules (no HTTP), assembled from one mixin per area.

`HubbleBackend` is the one backend the runtime knows. It owns the tables and indexes and
mixes in the rules: organizations, keys, users, invitations and webhook registrations
(`accounts`), devices (`devices`), packets (`packets`) and metrics and billing (`metrics`).
Each mixin subclasses the Protocol in `state` that lists what it reads, so mypy checks it
alone; scenario loading is `seed` (and `recorded` for the `recorded:` block).

Every record sits in a `hubble.<name>` store table (each mixin's docstring lists its own);
the in-memory indexes (token hashes, device order, packet streams, the crypto decoders) are
rebuilt by `loaded()` and, after a reset put a few rows back, by `reload()`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ....kernel.ids import Ids
from ....kernel.pagination import TokenCodec
from ..webhooks import HubbleWebhooks
from .accounts import ALL_SCOPES, INVITATION_TTL, SCOPES, AccountsMixin, Principal
from .common import DEVICE_TOKEN, PACKET_TOKEN, iso, not_found
from .devices import DevicesMixin
from .metrics import MetricsMixin
from .packets import PacketsMixin
from .seed import seed_scenario

if TYPE_CHECKING:
    from ....kernel.runtime import Runtime
    from ..simulation import Transmitter


class HubbleBackend(AccountsMixin, DevicesMixin, PacketsMixin, MetricsMixin):
    name = "hubble"

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.settings = runtime.settings
        self.clock = runtime.clock
        store = runtime.store
        self.ids = Ids(runtime.settings.seed, store, "hubble")
        self.orgs = store.table("hubble.orgs")
        self.keys = store.table("hubble.keys")
        self.users = store.table("hubble.users")
        self.invitations = store.table("hubble.invitations")
        self.webhooks = store.table("hubble.webhooks")
        self.invoices = store.table("hubble.invoices")
        self.api_counts = store.table("hubble.api_counts")
        store.defer("hubble.api_counts")  # counts, bumped by reads too: no commit of their own
        self.device_pages = TokenCodec(
            lambda: runtime.token_secret.key() + b"devices", runtime.clock, ttl_seconds=3600.0, shape=DEVICE_TOKEN
        )
        self.packet_pages = TokenCodec(
            lambda: runtime.token_secret.key() + b"packets", runtime.clock, ttl_seconds=86400.0, shape=PACKET_TOKEN
        )
        self.emitter = HubbleWebhooks(self)
        self._by_token = {}
        self._transmitter: Transmitter | None = None
        DevicesMixin.__init__(self, store)
        PacketsMixin.__init__(self, store)

    # -- backend protocol -----------------------------------------------------------------
    def seed(self, scenario: dict[str, Any]) -> None:
        self.loaded()  # the tables are empty: start the indexes from nothing too
        seed_scenario(self, scenario or {})

    def loaded(self) -> None:
        self.reload({"hubble.keys", "hubble.devices", "hubble.packets"})

    def reload(self, tables: set[str]) -> None:
        """Rebuild the indexes made from these tables (a reset put a few rows back)."""
        if "hubble.keys" in tables:
            self._by_token = {k["token_sha256"]: kid for kid, k in self.keys.items() if k.get("token_sha256")}
        if "hubble.devices" in tables:
            self._rebuild_devices()
        if "hubble.packets" in tables:
            self._rebuild_packets()

    def now(self) -> float:
        return self.clock.now()

    @property
    def transmitter(self) -> Transmitter:
        """The seeded packet generator, created on first use: importing the simulation loads
        Faker, which is slow to start, so a server that never simulates never pays for it."""
        if self._transmitter is None:
            from ..simulation import Transmitter

            self._transmitter = Transmitter(self)
        return self._transmitter


__all__ = ["ALL_SCOPES", "INVITATION_TTL", "SCOPES", "HubbleBackend", "Principal", "iso", "not_found"]
