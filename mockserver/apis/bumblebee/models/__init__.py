"""Bumblebee's state and its rules, no HTTP: webhooks, assets and nodes.

`BumblebeeBackend` owns the tables and mixes in one mixin per area (`webhooks`, `assets`,
`nodes`), each typed against the `state.BumblebeeState` Protocol; `rules` holds the constants,
schemas and checks they share.

Tables (all JSON-able dicts, written only through `put`/`delete`):

- `bumblebee.webhooks`  {id, url, data_types, headers, description, enabled, created_at, updated_at}
- `bumblebee.assets`    {id, name, created_at}
- `bumblebee.nodes`     {id, sigfox_id, asset_id, version, configuration, battery, latitude,
                         longitude, temperature, sensors, external_io, sequence, message_number,
                         created_at, last_message_at}
- `bumblebee.settings`  {"timezone": "Europe/Amsterdam"}
- `bumblebee.unknown_devices`  Sigfox id -> the counters and last readings of a device that
                         no node is registered for

Times are Unix seconds (floats) here; the routes and payloads format them.
A node's `id` is its reference ("Ref001"), `sigfox_id` its Sigfox device id ("123ABC").
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any

from ....kernel.errors import ApiError, BadRequest
from ....kernel.ids import Ids
from ....kernel.spec import Schema, Spec
from .assets import AssetsMixin
from .nodes import NodesMixin
from .rules import (
    ALPHANUM,
    DEFAULT_TIMEZONE,
    NAME,
    SCENARIO,
    _zone,
    check,
    round_to_5,
    version_tuple,
)
from .webhooks import WebhooksMixin

if TYPE_CHECKING:
    from ....kernel.runtime import Runtime


class BumblebeeBackend(WebhooksMixin, AssetsMixin, NodesMixin):
    name = NAME

    def __init__(self, runtime: Runtime, webhook_schema: Schema | None = None) -> None:
        self.runtime = runtime
        store = runtime.store
        self.webhooks = store.table("bumblebee.webhooks")
        self.assets = store.table("bumblebee.assets")
        self.nodes = store.table("bumblebee.nodes")
        self.settings = store.table("bumblebee.settings")
        self.unknown_devices = store.table("bumblebee.unknown_devices")
        self.ids = Ids(runtime.settings.seed, store, NAME)
        self._webhook_schema = webhook_schema  # the sandbox spec's WebhookCreate, for scenarios
        self._faker: Any = None
        self.spec: Spec | None = None  # the sandbox API document, set by the package
        self.emitter: Any = None  # its BumblebeeWebhooks (webhooks.py), set by the package

    def now(self) -> float:
        return self.runtime.clock.now()

    # -- runtime protocol ---------------------------------------------------------------
    def seed(self, scenario: dict[str, Any]) -> None:
        scenario = scenario or {}
        try:
            check(SCENARIO, scenario, "bumblebee")
            tz = scenario.get("timezone", DEFAULT_TIMEZONE)
            _zone(tz)
            self.settings.put("timezone", tz)
            for item in scenario.get("assets") or []:
                self.create_asset(item)
            for item in scenario.get("nodes") or []:
                self.create_node(item)
            for item in scenario.get("webhooks") or []:
                if self._webhook_schema is not None:
                    found = self._webhook_schema.errors(item, "webhooks[]")
                    if found:
                        raise BadRequest("invalid webhook", violations=found)
                self.create_webhook(item)
        except ApiError as err:
            raise ValueError(f"scenario section 'bumblebee': {err.detailed_message()}") from None

    def loaded(self) -> None:
        """Nothing to rebuild: every lookup reads the tables."""

    # -- settings -----------------------------------------------------------------------
    @property
    def timezone(self) -> Any:
        return _zone(self.settings.get("timezone", DEFAULT_TIMEZONE))

    # -- ids ----------------------------------------------------------------------------
    def new_id(self, kind: str, taken: Any = (), length: int = 8) -> str:
        """A short mixed-case id like Bumblebee's ("Abc123"), deterministic from the seed."""
        while True:
            rng = self.ids.rng(kind)
            value = "".join(rng.choice(ALPHANUM) for _ in range(length))
            if value not in taken:
                return value

    def rng(self, kind: str) -> random.Random:
        return self.ids.rng(kind)

    def faker(self, kind: str) -> Any:
        """A Faker (Dutch locale: Bumblebee tracks assets around the Netherlands) seeded for one use."""
        if self._faker is None:
            from faker import Faker  # on first use: Faker is slow to import

            self._faker = Faker("nl_NL")
        self._faker.seed_instance(self.ids.rng(kind).getrandbits(64))
        return self._faker


__all__ = ["NAME", "BumblebeeBackend", "_zone", "check", "round_to_5", "version_tuple"]
