"""Reading the YAML documents the fake is built from, fast.

PyYAML's pure-Python parser takes most of a second for the four OpenAPI documents; its C
loader (libyaml) takes about a tenth of that, and a JSON copy keyed by the document's
content hash is read in a few milliseconds. The copy lives in a user cache directory
(`MOCKSERVER_CACHE_DIR`, else `$XDG_CACHE_HOME/mockserver`, else `~/.cache/mockserver`;
`MOCKSERVER_CACHE_DIR=off` turns it off). A document whose JSON form would not be the same
value (a date, a non-string key) is never cached, and any cache problem (read-only home, a
truncated file) falls back to parsing: the cache can make loading faster, never different.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import os
import tempfile
from pathlib import Path
from typing import Any

import orjson

from .lazy import on_first_use

# PyYAML is imported only when a document has to be parsed: a start whose documents are all
# in the cache never pays for it
yaml: Any = on_first_use(globals(), "yaml", "yaml")

_FORMAT = b"mockserver-doc-cache-1"


@functools.lru_cache(maxsize=1)
def _loader() -> Any:
    return getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@functools.lru_cache(maxsize=1)
def yaml_version() -> bytes:
    """What identifies the installed PyYAML (its `__init__.py`, which carries the version),
    read without importing it."""
    spec = importlib.util.find_spec("yaml")
    origin = spec.origin if spec is not None else None
    return hashlib.sha256(Path(origin).read_bytes()).digest() if origin else b"absent"


def cache_dir() -> Path | None:
    configured = os.environ.get("MOCKSERVER_CACHE_DIR")
    if configured is not None:
        return None if configured.strip().lower() in ("", "0", "off", "none") else Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "mockserver"


def parse_yaml(text: str | bytes) -> Any:
    """One YAML document with the safe loader (libyaml's when PyYAML has it)."""
    return yaml.load(text, Loader=_loader())  # noqa: S506 - a safe loader, C or Python


def load_yaml_file(path: str | Path) -> Any:
    """A YAML file's value, through the content-hash cache when the value is plain JSON."""
    raw = Path(path).read_bytes()
    folder = cache_dir()
    if folder is None:
        return parse_yaml(raw)
    digest = hashlib.sha256(_FORMAT + yaml_version() + b"\0" + raw).hexdigest()
    cached = folder / f"{digest}.json"
    try:
        return orjson.loads(cached.read_bytes())
    except (OSError, orjson.JSONDecodeError):
        pass
    value = parse_yaml(raw)
    store_plain_json(folder, cached, value)
    return value


def store_plain_json(folder: Path, target: Path, value: Any) -> None:
    """Keep `value` as JSON in `target` when JSON gives exactly it back; never raises."""
    try:
        encoded = orjson.dumps(value)
        if orjson.loads(encoded) != value:  # not plain JSON (int keys, dates): parse each time
            return
        write_atomic(folder, target, encoded)
    except (OSError, TypeError, orjson.JSONEncodeError):
        return


def write_atomic(folder: Path, target: Path, data: bytes) -> None:
    """Write `target` whole or not at all: a parallel worker reads the old file or the new one."""
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".json")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
