"""BoundedDict: the one shape of every cache on the request path.

A dict that holds at most `limit` entries and, when full, forgets the one put in first
(dicts keep insertion order): a sandbox sees the same few keys over and over, so the
oldest entry is as good a victim as the least recently used, at no bookkeeping cost. Reads
are the dict's own (`get`, `in`, `[]`), at C speed; writes that may grow it go through `put`.
"""

from __future__ import annotations

from typing import TypeVar

K = TypeVar("K")
V = TypeVar("V")


class BoundedDict(dict[K, V]):
    __slots__ = ("limit",)

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError("a BoundedDict holds at least one entry")
        super().__init__()
        self.limit = limit

    def put(self, key: K, value: V) -> V:
        """Keep `value` under `key`, forgetting the oldest entry first when full; returns it."""
        if len(self) >= self.limit and key not in self:
            del self[next(iter(self))]
        self[key] = value
        return value
