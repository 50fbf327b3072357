"""Resume state: what a recording has read so far, next to the output file (`OUT.partial/`).

`meta.json` holds the run (source, the moment recorded, the packet window) and per step its
continuation point; `<step>.jsonl` holds the items read, one per line, appended a page at a
time. The meta file is replaced atomically after the page is on disk, so a run killed at any
point resumes from the last whole page. The items are as read (not scrubbed yet), so the
directory is private (0700); a finished recording removes it.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any


class RunState:
    def __init__(self, out: Path, identity: dict[str, Any]) -> None:
        self.dir = out.with_name(out.name + ".partial")
        self.identity = identity
        self.meta: dict[str, Any] = {"identity": identity, "steps": {}, "run": {}}
        self.resumed = False
        meta_file = self.dir / "meta.json"
        if meta_file.is_file():
            try:
                meta = json.loads(meta_file.read_text(encoding="utf-8"))
            except ValueError:
                meta = None
            if isinstance(meta, dict) and meta.get("identity") == identity:
                self.meta = meta
                self.resumed = True
            else:  # another source or broken: start over
                shutil.rmtree(self.dir, ignore_errors=True)

    @property
    def run(self) -> dict[str, Any]:
        """Values fixed for the whole run (when it started, the packet window)."""
        return self.meta["run"]

    def save_run(self, **values: Any) -> None:
        self.meta["run"].update(values)
        self._write_meta()

    def step(self, name: str) -> dict[str, Any]:
        return self.meta["steps"].setdefault(name, {"done": False, "cursor": None, "count": 0, "pages": 0})

    def items(self, name: str) -> list[Any]:
        count = self.step(name)["count"]
        path = self.dir / f"{name}.jsonl"
        if not count or not path.is_file():
            return []
        out: list[Any] = []
        with path.open(encoding="utf-8") as fh:
            for line in fh:
                if len(out) == count:
                    break
                out.append(json.loads(line))
        return out

    def add_page(self, name: str, items: list[Any], cursor: Any) -> None:
        step = self.step(name)
        self.dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        path = self.dir / f"{name}.jsonl"
        self._truncate(path, step["count"])
        with path.open("a", encoding="utf-8") as fh:
            for item in items:
                fh.write(json.dumps(item, separators=(",", ":")) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        step["count"] += len(items)
        step["pages"] += 1
        step["cursor"] = cursor
        self._write_meta()

    def restart(self, name: str) -> None:
        """Forget a step (its continuation token expired)."""
        self.meta["steps"][name] = {"done": False, "cursor": None, "count": 0, "pages": 0}
        (self.dir / f"{name}.jsonl").unlink(missing_ok=True)
        self._write_meta()

    def finish(self, name: str) -> None:
        self.step(name)["done"] = True
        self._write_meta()

    def discard(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)

    def _truncate(self, path: Path, keep: int) -> None:
        """Drop lines beyond the last saved page (a run killed while appending)."""
        if not path.is_file():
            return
        with path.open("rb+") as fh:
            offset = 0
            for _ in range(keep):
                line = fh.readline()
                if not line:
                    break
                offset += len(line)
            fh.truncate(offset)

    def _write_meta(self) -> None:
        self.dir.mkdir(mode=0o700, parents=True, exist_ok=True)  # holds data not scrubbed yet
        tmp = self.dir / "meta.json.tmp"
        tmp.write_text(json.dumps(self.meta, indent=1), encoding="utf-8")
        os.replace(tmp, self.dir / "meta.json")
