"""Progress on the terminal: pages fetched, items so far, an ETA where one can be guessed."""

from __future__ import annotations

import sys
import time
from typing import IO


class Progress:
    def __init__(self, stream: IO[str] | None = None, quiet: bool = False) -> None:
        self.stream = stream or sys.stderr
        self.quiet = quiet
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self._started: dict[str, float] = {}
        self._open = False

    def _emit(self, text: str, final: bool = False) -> None:
        if self.quiet:
            return
        if self.tty:
            self.stream.write("\r\x1b[2K" + text + ("\n" if final else ""))
            self._open = not final
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def page(self, step: str, pages: int, count: int, done_fraction: float | None = None) -> None:
        start = self._started.setdefault(step, time.monotonic())
        eta = ""
        if done_fraction is not None and 0.0 < done_fraction < 1.0:
            elapsed = time.monotonic() - start
            eta = f", ETA {max(0.0, elapsed / done_fraction - elapsed):.0f} s"
        self._emit(f"record {step}: {pages} page{'s' if pages != 1 else ''}, {count} so far{eta}")

    def done(self, step: str, count: int) -> None:
        self._emit(f"record {step}: {count} done", final=True)

    def wait(self, why: str, seconds: float) -> None:
        self._emit(f"record: {why}: waiting {seconds:g} s", final=not self.tty)

    def note(self, text: str) -> None:
        if self._open:
            self.stream.write("\n")
            self._open = False
        if not self.quiet:
            self.stream.write(text + "\n")
            self.stream.flush()
