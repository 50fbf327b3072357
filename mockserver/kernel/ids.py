"""Deterministic identifiers and random streams, fixed by the seed.

Every id is a hash of (seed, kind, n) where n is a per-kind counter kept in the store, so
the same seed and the same calls give the same ids, a reset gives them again, and a
restarted server with saved state carries on without collisions.
"""

from __future__ import annotations

import base64
import hashlib
import random
import uuid

from .store import Store, Table


class Ids:
    def __init__(self, seed: int, store: Store, namespace: str) -> None:
        self.seed = seed
        self.namespace = namespace
        self._counters: Table = store.table(f"{namespace}._counters")

    def _next(self, kind: str) -> int:
        n = int(self._counters.get(kind, 0)) + 1
        self._counters.put(kind, n)
        return n

    def digest(self, kind: str) -> bytes:
        """32 fresh deterministic bytes for `kind`."""
        n = self._next(kind)
        return hashlib.sha256(f"{self.seed}:{self.namespace}:{kind}:{n}".encode()).digest()

    def uuid(self, kind: str) -> str:
        return str(uuid.UUID(bytes=self.digest(kind)[:16], version=4))

    def hex(self, kind: str, length: int = 32) -> str:
        out = ""
        while len(out) < length:
            out += self.digest(kind).hex()
        return out[:length]

    def token(self, kind: str, nbytes: int = 24) -> str:
        """URL-safe random-looking token."""
        raw = b""
        while len(raw) < nbytes:
            raw += self.digest(kind)
        return base64.urlsafe_b64encode(raw[:nbytes]).decode().rstrip("=")

    def rng(self, kind: str) -> random.Random:
        """A fresh random stream for one generated thing (a packet, a catalogue)."""
        return random.Random(self.digest(kind))

    def number(self, kind: str) -> int:
        return self._next(kind)
