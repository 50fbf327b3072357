"""A look at a `--state` file before the server is built: what is wrong with it is one line
and exit 2, in well under a second, instead of a traceback after the specs compiled."""

from __future__ import annotations

import sqlite3
from pathlib import Path

SQLITE_MAGIC = b"SQLite format 3\x00"
COLUMNS = ["tbl", "key", "value"]


class StateFileError(ValueError):
    pass


def check_state_file(path: str | Path) -> None:
    """Raise StateFileError when `path` cannot be the server's state database. A missing
    file is fine (it is created); an empty one too."""
    p = Path(path)
    if not p.exists():
        return
    if p.is_dir():
        raise StateFileError("it is a directory; give a file path (created when missing)")
    try:
        with p.open("rb") as fh:
            head = fh.read(len(SQLITE_MAGIC))
    except OSError as exc:
        raise StateFileError(f"cannot read it: {exc.strerror or exc}") from None
    if not head:
        return
    if head != SQLITE_MAGIC:
        raise StateFileError("not a state database (an SQLite file written by `mockserver serve --state`)")
    try:
        db = sqlite3.connect(str(p))
    except sqlite3.Error as exc:
        raise StateFileError(f"cannot open it: {exc}") from None
    try:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if "records" not in tables:
            if tables:
                raise StateFileError(f"an SQLite database, but not a mockserver state file (tables: {sorted(tables)})")
            return
        columns = [row[1] for row in db.execute("PRAGMA table_info(records)")]
        if columns != COLUMNS:
            raise StateFileError(f"its records table has columns {columns}, expected {COLUMNS}")
        try:
            bad = db.execute("SELECT tbl, key FROM records WHERE json_valid(value) = 0 LIMIT 1").fetchone()
        except sqlite3.OperationalError:  # an SQLite without JSON functions: the load reports it
            bad = None
        if bad is not None:
            raise StateFileError(f"the saved row {bad[0]}/{bad[1]} is not JSON")
    except sqlite3.Error as exc:
        raise StateFileError(f"a damaged database: {exc}") from None
    finally:
        db.close()
