"""The state the Bumblebee mixins share, written down as a Protocol.

`webhooks`, `assets` and `nodes` each subclass `BumblebeeState`: the tables and helpers that
`BumblebeeBackend.__init__` sets up, so mypy checks each mixin alone and checks that the
backend provides what they read.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from ....kernel.ids import Ids
    from ....kernel.runtime import Runtime
    from ....kernel.store import Table


class BumblebeeState(Protocol):
    """What every Bumblebee mixin may read."""

    runtime: Runtime
    ids: Ids
    webhooks: Table
    assets: Table
    nodes: Table
    settings: Table
    unknown_devices: Table

    def now(self) -> float: ...

    def new_id(self, kind: str, taken: Any = (), length: int = 8) -> str: ...

    def rng(self, kind: str) -> random.Random: ...

    def faker(self, kind: str) -> Any: ...
