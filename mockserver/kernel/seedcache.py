"""The seeded tables of each API, kept on disk so the next server start skips seeding.

Seeding runs Faker, signs JWTs and encrypts a week of packets: a few hundred ms for the
demo scenario, seconds for the large one, and the bulk of a server's start. What it
produces is a function of the code, the scenario, the settings that reach the models
(seed, credentials) and the clock reading it was seeded at. An entry is keyed by a hash of
everything but the clock (the package's source and data files, the Faker / PyJWT /
pycryptodome versions, the Python version, the scenario's content, those settings), and
holds the clock reading and mode it was seeded at. The clock is then handled as the
runtime's in-memory reset capture handles it (`_Seeded.fits`): an entry is used with a
frozen clock only at the very instant it was seeded at, with the real clock only within
`REANCHOR_SECONDS` of it (the state of a server started then and left alone since);
anywhere else the server seeds and writes the entry anew.

Entries live beside the spec cache (kernel/docs.py: `MOCKSERVER_CACHE_DIR`, `off` turns
both off), one file per key and API (and per instant for a frozen clock, so test suites that
start servers at several fixed times keep one entry for each), written atomically; a file
that cannot be read or parsed, or that names another key, is ignored and the server seeds
as if there were none: the cache can make a start faster, never different. The newest
`KEEP_FILES` files (`KEEP_BYTES` at most) are kept.
"""

from __future__ import annotations

import functools
import hashlib
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

import orjson

from ..datafiles import resources
from .docs import cache_dir, module_file, prune, write_atomic
from .store import Pristine

FORMAT = "mockserver-seed-cache-1"
# entry files kept, newest first (one per API, scenario and settings; with a frozen clock, per
# instant too): at most this many, and at most this many bytes together
KEEP_FILES = 64
KEEP_BYTES = 256 * 1024 * 1024
# Settings that never reach seeding: a server on another port or with another clock start
# shares the entry (the clock is checked against the entry's own reading, see above). Any
# other field, present or future, is part of the key.
_IGNORED_SETTINGS = frozenset(
    {
        "host", "port", "public_url", "state_path", "clock", "clock_start", "strict", "rate_limit",
        "journal_limit", "max_body_bytes", "max_control_body_bytes", "max_header_bytes",
        "webhook_timeout", "webhook_chaos", "scenario",
    }
)  # fmt: skip
_LIBRARIES = ("faker", "jwt", "Crypto")  # their generators and signatures end up in the rows
_PACKAGE = Path(__file__).resolve().parent.parent


@functools.lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """A hash of every source and data file of the package and of the libraries seeding
    uses (their `__init__.py` carries their version)."""
    digest = hashlib.sha256(f"{FORMAT}\0{sys.version}\0".encode())
    for folder in (_PACKAGE, resources()):  # the code, and the specs (seeding reads schemas)
        files = sorted(
            p for p in folder.rglob("*") if p.suffix in (".py", ".yaml", ".json") and "__pycache__" not in p.parts
        )
        for path in files:
            digest.update(str(path.relative_to(folder)).encode() + b"\0")
            digest.update(path.read_bytes() + b"\0")
    for name in _LIBRARIES:
        digest.update(name.encode() + b"\0" + module_file(name) + b"\0")
    return digest.hexdigest()


class SeedCache:
    """Entries for one server: its settings and scenario fix the key (see the module doc)."""

    def __init__(self, folder: Path, key: str) -> None:
        self.folder = folder
        self.key = key

    @classmethod
    def for_server(cls, settings: Any, scenario: Any) -> SeedCache | None:
        """None when caching is off or the scenario has no plain JSON form to hash (a YAML
        date, a non-string key: such a value would hash like a string)."""
        folder = cache_dir()
        if folder is None:
            return None
        try:
            fields = {k: v for k, v in asdict(settings).items() if k not in _IGNORED_SETTINGS}
            material = orjson.dumps(
                {"code": code_fingerprint(), "settings": fields, "scenario": scenario},
                option=orjson.OPT_SORT_KEYS | orjson.OPT_PASSTHROUGH_DATETIME,
            )
        except (TypeError, OSError, orjson.JSONEncodeError):
            return None
        return cls(folder / "seeds", hashlib.sha256(material).hexdigest())

    def _path(self, api: str, mode: str, at: float) -> Path:
        when = f"frozen-{at!r}" if mode == "frozen" else mode
        return self.folder / f"{self.key}-{api}-{when}.json"

    def load(self, api: str, prefix: str, mode: str, now: float) -> tuple[float, str, Pristine] | None:
        """(clock reading, clock mode, the rows) of the entry a server whose clock is in
        `mode` at `now` may look at (the caller applies the clock rule), else None."""
        try:
            doc = orjson.loads(self._path(api, mode, now).read_bytes())
            if doc.get("format") != FORMAT or doc.get("key") != self.key or doc.get("api") != api:
                return None
            at, mode, tables = float(doc["at"]), str(doc["mode"]), doc["tables"]
            encoded = {
                name: {str(k): v.encode() for k, v in rows.items()}
                for name, rows in tables.items()
                if name.startswith(prefix)
            }
        except (OSError, orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError):
            return None
        return at, mode, Pristine(prefix, encoded)

    def save(self, api: str, at: float, mode: str, pristine: Pristine) -> None:
        """Write the entry; any failure (read-only home, full disk) leaves the cache as it was."""
        tables = {name: {k: v.decode() for k, v in rows.items()} for name, rows in pristine.tables.items()}
        doc = {"format": FORMAT, "key": self.key, "api": api, "at": at, "mode": mode, "tables": tables}
        try:
            write_atomic(self.folder, self._path(api, mode, at), orjson.dumps(doc))
            prune(self.folder, KEEP_FILES, KEEP_BYTES)
        except (OSError, TypeError, orjson.JSONEncodeError):
            return
