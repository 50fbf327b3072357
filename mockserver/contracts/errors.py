"""The harness' one error class, in a module of its own so the CLI can name it without
importing the harness (and its optional dependencies)."""

from __future__ import annotations


class HarnessError(Exception):
    """Bad input to the harness: says what is wrong in one line (the CLI exits 2)."""


class MissingExtra(HarnessError):
    """An optional dependency of the harness is not installed."""

    def __init__(self, modules: list[str], extra: str = "contracts") -> None:
        self.modules = modules
        self.extra = extra
        names = ", ".join(modules)
        super().__init__(
            f"this command needs the '{extra}' extra (missing: {names}); "
            f"install it with: pip install 'mockserver[{extra}]'"
        )
