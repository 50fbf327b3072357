"""All state lives here: named tables of JSON-able records, optionally backed by SQLite.

One mechanism serves reset, snapshot/restore and persistence: every model keeps its state
in `Table`s (plain dicts of JSON values keyed by string), every write goes through `put` or
`delete`, and the store knows which rows changed. With a database path, `flush()` writes
the changed rows in one transaction; the API mounts flush before a response leaves, so
whatever a client was told succeeded is on disk.

Counters no client write depends on (the API-metrics request counts, bumped by every
authenticated call, reads included) live in *deferred* tables (`defer(name)`): their rows
are written with the next flush that carries any other row, or once they have waited
`DEFER_SECONDS`, instead of costing every read an SQLite commit. A SIGKILL can lose the
last `DEFER_SECONDS` of such counts, never an acknowledged write.

Rows are values: a model never changes a stored row in place, it puts a new one (a shallow
copy with the change). That is what lets persistence write only the rows that changed, and
a reset put back only the rows a test touched: `capture(prefix)` keeps an encoded copy of
every row under a prefix, each table remembers the keys written since, and
`rewind(pristine)` restores exactly those (in the original order), so a reset costs what
the test changed, not what the scenario holds.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

_DELETED = object()
# Keys a table remembers as written since the last capture; past this it stops (memory stays
# bounded on a long-running sandbox) and the next reset of its API seeds again instead.
MAX_TOUCHED = 100_000
DEFER_SECONDS = 0.25  # the longest a deferred table's change waits for a flush that writes it


class Table:
    """An insertion-ordered dict of records whose writes are tracked."""

    def __init__(self, name: str, store: Store) -> None:
        self.name = name
        self._rows: dict[str, Any] = {}
        self.version = 0  # counts changes to the rows (every write path below bumps it)
        self._store = store
        self._touched: set[str] | None = set()  # keys written since the last capture/rewind
        self._deleted = False  # a row was deleted since (a rewind then restores the order too)

    def get(self, key: str, default: Any = None) -> Any:
        return self._rows.get(key, default)

    def __getitem__(self, key: str) -> Any:
        return self._rows[key]

    def __contains__(self, key: object) -> bool:
        return key in self._rows

    def __len__(self) -> int:
        return len(self._rows)

    def __iter__(self) -> Iterator[str]:
        return iter(self._rows)

    def keys(self):  # noqa: ANN201 - dict view
        return self._rows.keys()

    def values(self):  # noqa: ANN201
        return self._rows.values()

    def items(self):  # noqa: ANN201
        return self._rows.items()

    def put(self, key: str, value: Any) -> Any:
        self._rows[key] = value
        self.version += 1
        self._touch(key)
        self._store._mark(self.name, key)
        return value

    def _touch(self, key: str) -> None:
        touched = self._touched
        if touched is not None:
            touched.add(key)
            if len(touched) > MAX_TOUCHED:
                self._touched = None

    def delete(self, key: str) -> Any:
        value = self._rows.pop(key, None)
        self.version += 1
        if value is not None:
            self._touch(key)
            self._deleted = True
            self._store._mark(self.name, key)
        return value

    def clear(self) -> None:
        for key in list(self._rows):
            self._store._mark(self.name, key)
        if self._rows:
            for key in self._rows:
                self._touch(key)
            self._deleted = True
        self._rows.clear()
        self.version += 1

    def _load(self, key: str, value: Any) -> None:
        self._rows[key] = value
        self.version += 1


class Store:
    """The registry of tables, with dirty tracking and optional SQLite persistence."""

    def __init__(self, path: str | Path | None = None) -> None:
        self._tables: dict[str, Table] = {}
        self._dirty: dict[tuple[str, str], None] = {}
        self._deferred: set[str] = set()  # tables whose changes may wait (see `defer`)
        self._urgent = False  # a row of another table is dirty: the next flush writes
        self._waiting_since: float | None = None  # when the oldest unflushed deferred change came
        self._lock = threading.Lock()
        self.path = Path(path) if path else None
        self._db: sqlite3.Connection | None = None
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS records (tbl TEXT NOT NULL, key TEXT NOT NULL, "
                "value TEXT NOT NULL, PRIMARY KEY (tbl, key))"
            )

    # -- tables -------------------------------------------------------------------------
    def table(self, name: str) -> Table:
        table = self._tables.get(name)
        if table is None:
            table = self._tables[name] = Table(name, self)
        return table

    def live_rows(self, name: str) -> dict[str, Any]:
        """A table's rows as held (read-only for the caller; empty for a table never made)."""
        table = self._tables.get(name)
        return table._rows if table is not None else {}

    def tables(self, prefix: str = "") -> list[Table]:
        return [t for n, t in self._tables.items() if n.startswith(prefix)]

    def defer(self, name: str) -> None:
        """Let changes to table `name` wait for the next flush that writes anything else, or
        at most DEFER_SECONDS (`flush(deferrable=True)`): for counters, never for rows a
        client was told were written."""
        self._deferred.add(name)

    def _mark(self, table: str, key: str) -> None:
        if self._db is not None:
            self._dirty[(table, key)] = None
            if table not in self._deferred:
                self._urgent = True
            elif self._waiting_since is None:
                self._waiting_since = time.monotonic()

    # -- whole-state operations ---------------------------------------------------------
    def clear(self, prefix: str = "") -> None:
        for table in self.tables(prefix):
            table.clear()

    def snapshot(self, prefix: str = "") -> dict[str, dict[str, Any]]:
        return {t.name: dict(t.items()) for t in self.tables(prefix)}

    def capture(self, prefix: str) -> Pristine:
        """An independent copy of every table under `prefix` (rows encoded, so nothing done
        to the live rows can reach it); forgets which keys were written before."""
        tables: dict[str, dict[str, bytes]] = {}
        for table in self.tables(prefix):
            tables[table.name] = {key: _encode(value) for key, value in table._rows.items()}
            table._touched = set()
            table._deleted = False
        return Pristine(prefix, tables)

    def adopt(self, pristine: Pristine) -> None:
        """Fill the (empty) tables under the pristine's prefix with its rows, as if they had
        just been written and captured: persisted at the next flush, nothing to rewind."""
        for name, saved in pristine.tables.items():
            table = self.table(name)
            table._rows = {key: _decode(encoded) for key, encoded in saved.items()}
            table.version += 1
            if self._db is not None:
                for key in saved:
                    self._dirty[(name, key)] = None
        for table in self.tables(pristine.prefix):
            table._touched = set()
            table._deleted = False

    def rewind(self, pristine: Pristine) -> set[str] | None:
        """Put every table under the pristine's prefix back to the captured rows, touching only
        the keys written since (each write is tracked for persistence as usual). Returns the
        names of the tables that changed; None (and nothing done) when a table wrote too
        many keys to remember them (MAX_TOUCHED)."""
        tables = self.tables(pristine.prefix)
        if any(table._touched is None for table in tables):
            return None
        changed: set[str] = set()
        for table in tables:
            touched = table._touched
            if not touched:
                continue
            saved = pristine.tables.get(table.name, {})
            rows = table._rows
            table.version += 1
            for key in touched:
                encoded = saved.get(key)
                if encoded is None:
                    rows.pop(key, None)
                else:
                    rows[key] = _decode(encoded)
                self._mark(table.name, key)
            if table._deleted:  # a row deleted and put back moved to the end: restore the order
                table._rows = {key: rows[key] for key in saved}
            table._touched = set()
            table._deleted = False
            changed.add(table.name)
        return changed

    def restore(self, data: dict[str, dict[str, Any]], prefix: str = "") -> set[str]:
        """Replace every table under `prefix` with `data` (tables absent from data end empty).
        The rows become exactly the document's; only rows that differ are written to disk and
        tracked for a reset, and a table with equal rows in the same order counts as
        unchanged (Python equality: a number that only changes type, 1 to 1.0, is not
        written). Returns the names of the tables that changed."""
        changed: set[str] = set()
        names = [t.name for t in self.tables(prefix)] + [n for n in data if n.startswith(prefix)]
        for name in dict.fromkeys(names):
            table = self.table(name)
            new = {str(key): value for key, value in (data.get(name) or {}).items()}
            old = table._rows
            table._rows = new
            table.version += 1
            if list(old) == list(new) and old == new:
                continue
            for key in old.keys() - new.keys():
                table._touch(key)
                self._mark(name, key)
            for key, value in new.items():
                if key not in old or old[key] != value:
                    table._touch(key)
                    self._mark(name, key)
            if old.keys() - new.keys() or list(old) != [k for k in new if k in old]:
                table._deleted = True  # the order changed too: a rewind rebuilds it
            changed.add(name)
        return changed

    # -- persistence --------------------------------------------------------------------
    @property
    def persistent(self) -> bool:
        return self._db is not None

    def has_saved_state(self) -> bool:
        if self._db is None:
            return False
        return self._db.execute("SELECT 1 FROM records LIMIT 1").fetchone() is not None

    def load(self) -> bool:
        """Read every saved row into memory. Returns False when the database is empty."""
        if self._db is None:
            return False
        rows = self._db.execute("SELECT tbl, key, value FROM records ORDER BY rowid").fetchall()
        for tbl, key, value in rows:
            self.table(tbl)._load(key, json.loads(value))
        self._dirty.clear()
        self._urgent, self._waiting_since = False, None
        return bool(rows)

    def flush(self, deferrable: bool = False) -> int:
        """Write changed rows to SQLite in one transaction; returns how many. With
        `deferrable` (the request path), nothing is written while the only changes are to
        deferred tables and younger than DEFER_SECONDS."""
        if self._db is None or not self._dirty:
            return 0
        if deferrable and not self._urgent:
            since = self._waiting_since
            if since is not None and time.monotonic() - since < DEFER_SECONDS:
                return 0
        with self._lock:
            dirty, self._dirty = self._dirty, {}
            self._urgent, self._waiting_since = False, None
            upserts, deletes = [], []
            for tbl, key in dirty:
                value = self._tables[tbl].get(key, _DELETED)
                if value is _DELETED:
                    deletes.append((tbl, key))
                else:
                    upserts.append((tbl, key, json.dumps(value, separators=(",", ":"))))
            db = self._db
            db.execute("BEGIN")
            try:
                if deletes:
                    db.executemany("DELETE FROM records WHERE tbl = ? AND key = ?", deletes)
                if upserts:
                    db.executemany(
                        "INSERT INTO records (tbl, key, value) VALUES (?, ?, ?) "
                        "ON CONFLICT (tbl, key) DO UPDATE SET value = excluded.value",
                        upserts,
                    )
                db.execute("COMMIT")
            except Exception:
                db.execute("ROLLBACK")
                self._dirty.update(dirty)
                self._urgent, self._waiting_since = True, time.monotonic()
                raise
            return len(dirty)

    def close(self) -> None:
        if self._db is not None:
            self.flush()
            self._db.close()
            self._db = None


class Pristine:
    """The rows of the tables under one prefix at one moment, encoded (see Store.capture)."""

    __slots__ = ("prefix", "tables")

    def __init__(self, prefix: str, tables: dict[str, dict[str, bytes]]) -> None:
        self.prefix = prefix
        self.tables = tables

    def rows(self) -> int:
        return sum(len(t) for t in self.tables.values())


def _encode(value: Any) -> bytes:
    try:
        return orjson.dumps(value)
    except TypeError:  # integers beyond 64 bits: the standard library takes them
        return b"J" + json.dumps(value, separators=(",", ":")).encode()


def _decode(encoded: bytes) -> Any:
    if encoded[:1] == b"J":
        return json.loads(encoded[1:])
    return orjson.loads(encoded)
