"""The request journal: what every API request was, what it got, and what was wrong with it.

Bounded (a ring of the newest entries), unlike WireMock's unbounded journal that grew to
gigabytes under load. Violations are kept in a second, smaller ring so a long run of valid
traffic cannot push them out before `mockserver contracts client` reads them.
"""

from __future__ import annotations

import itertools
from collections import deque
from typing import Any


class Journal:
    def __init__(self, limit: int = 2000, violation_limit: int = 2000) -> None:
        self._entries: deque[dict[str, Any]] = deque(maxlen=limit)
        self._violations: deque[dict[str, Any]] = deque(maxlen=violation_limit)
        self._seq = itertools.count(1)
        self.total = 0

    def record(self, entry: dict[str, Any]) -> dict[str, Any]:
        entry["seq"] = next(self._seq)
        self.total += 1
        self._entries.append(entry)
        if entry.get("violations") or entry.get("response_violations"):
            self._violations.append(entry)
        return entry

    def clear(self) -> None:
        self._entries.clear()
        self._violations.clear()

    def entries(
        self,
        *,
        api: str | None = None,
        method: str | None = None,
        path: str | None = None,
        operation_id: str | None = None,
        status: int | None = None,
        violations: bool = False,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        """Newest first. `path` matches as a prefix of the request path."""
        source = self._violations if violations else self._entries
        out = []
        for entry in reversed(source):
            if api and entry.get("api") != api:
                continue
            if method and entry.get("method") != method.upper():
                continue
            if path and not entry.get("path", "").startswith(path):
                continue
            if operation_id and entry.get("operation_id") != operation_id:
                continue
            if status is not None and entry.get("status") != status:
                continue
            out.append(entry)
            if limit is not None and len(out) >= limit:
                break
        return out
