"""Module-level names whose (slow) import waits until they are first used.

A server start loads its state and answers a health check; it needs neither pycryptodome
(~0.1 s to import) nor PyJWT with `cryptography` behind it until a packet is decoded or a
token signed. `on_first_use` binds a stand-in under the name; the first attribute access
or call imports the real object and rebinds the module global to it, so later uses cost
nothing extra.
"""

from __future__ import annotations

import importlib
import threading
from typing import Any

_lock = threading.Lock()


class _OnFirstUse:
    __slots__ = ("_namespace", "_name", "_module", "_attr")

    def __init__(self, namespace: dict[str, Any], name: str, module: str, attr: str | None) -> None:
        self._namespace = namespace
        self._name = name
        self._module = module
        self._attr = attr

    def _load(self) -> Any:
        with _lock:
            value = importlib.import_module(self._module)
            if self._attr is not None:
                value = getattr(value, self._attr)
            if self._namespace.get(self._name) is self:
                self._namespace[self._name] = value
            return value

    def __getattr__(self, item: str) -> Any:
        return getattr(self._load(), item)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._load()(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<{self._module}{'.' + self._attr if self._attr else ''}, imported on first use>"


def on_first_use(namespace: dict[str, Any], name: str, module: str, attr: str | None = None) -> Any:
    """A stand-in for `module` (or `module.attr`) to bind as `namespace[name]` (pass the
    module's `globals()`)."""
    return _OnFirstUse(namespace, name, module, attr)
