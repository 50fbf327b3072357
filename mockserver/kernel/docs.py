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


MISSING: Any = object()  # read_cached: no readable entry


@functools.lru_cache(maxsize=1)
def yaml_loader() -> Any:
    """libyaml's safe loader when PyYAML has it (ten times faster; the same nodes, marks and
    errors), else PyYAML's own."""
    return getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def module_file(name: str) -> bytes:
    """The installed module's `__init__.py` (or file), which carries its version, read
    without importing it; b"absent" when it is not installed."""
    spec = importlib.util.find_spec(name)
    origin = spec.origin if spec is not None else None
    return Path(origin).read_bytes() if origin else b"absent"


@functools.lru_cache(maxsize=1)
def yaml_version() -> bytes:
    """What identifies the installed PyYAML."""
    return hashlib.sha256(module_file("yaml")).digest()


def cache_dir() -> Path | None:
    configured = os.environ.get("MOCKSERVER_CACHE_DIR")
    if configured is not None:
        return None if configured.strip().lower() in ("", "0", "off", "none") else Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "mockserver"


def parse_yaml(text: str | bytes) -> Any:
    """One YAML document with the safe loader (libyaml's when PyYAML has it)."""
    return yaml.load(text, Loader=yaml_loader())  # noqa: S506 - a safe loader, C or Python


def load_yaml_file(path: str | Path) -> Any:
    """A YAML file's value, through the content-hash cache when the value is plain JSON."""
    raw = Path(path).read_bytes()
    folder = cache_dir()
    if folder is None:
        return parse_yaml(raw)
    digest = hashlib.sha256(_FORMAT + yaml_version() + b"\0" + raw).hexdigest()
    cached = folder / f"{digest}.json"
    value = read_cached(cached)
    if value is not MISSING:
        return value
    value = parse_yaml(raw)
    store_plain_json(folder, cached, value)
    return value


def read_cached(target: Path) -> Any:
    """The JSON value kept in `target`, or MISSING when there is none that reads whole."""
    try:
        return orjson.loads(target.read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return MISSING


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


def prune(folder: Path, keep_files: int, keep_bytes: int) -> None:
    """Keep the newest entries of a cache folder: at most `keep_files`, `keep_bytes` together."""
    entries = []
    for path in folder.glob("*.json"):
        try:
            stat = path.stat()
        except OSError:
            continue
        entries.append((stat.st_mtime, stat.st_size, path))
    entries.sort(reverse=True)
    total = 0
    for index, (_, size, path) in enumerate(entries):
        total += size
        if index >= keep_files or total > keep_bytes:
            try:
                os.unlink(path)
            except OSError:
                pass
