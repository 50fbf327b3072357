"""The key continuation tokens are signed with: one no client can derive (the seed and the
sandbox token are public), random per process, kept in the store so that with --state a
token survives a restart, and never part of a snapshot (GET /_mock/state shows state, not
keys; a restore keeps this server's key)."""

from __future__ import annotations

import os
from typing import Any

from .store import Store

TABLE = "kernel.secrets"
ROW = "tokens"


class TokenSecret:
    def __init__(self, store: Store) -> None:
        self._store = store
        self._key: bytes | None = None

    def key(self) -> bytes:
        if self._key is None:
            saved = self._store.table(TABLE).get(ROW)
            try:
                self._key = bytes.fromhex(saved) if isinstance(saved, str) and len(saved) == 64 else None
            except ValueError:
                self._key = None
            if self._key is None:
                self._key = os.urandom(32)
                self._store.table(TABLE).put(ROW, self._key.hex())
        return self._key

    @staticmethod
    def without(tables: dict[str, Any]) -> dict[str, Any]:
        """`tables` (a snapshot's) minus the key."""
        return {name: rows for name, rows in tables.items() if name != TABLE}

    def rewrite(self) -> None:
        """Put the key back after a restore replaced every table."""
        self._store.table(TABLE).put(ROW, self.key().hex())
