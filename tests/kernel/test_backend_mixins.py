"""Each API's backend is assembled from mixins typed against one `state` Protocol per API.

A Protocol's `...` stubs are class attributes: if a stub ever sat before the mixin that
implements it in the backend's MRO, the backend would silently call the stub (which returns
None). These tests pin that every method a state Protocol declares resolves to real code, and
that every attribute it declares is set on a built backend.
"""

from __future__ import annotations

import inspect
from typing import Any

import pytest

from mockserver.apis.bumblebee.models import BumblebeeBackend
from mockserver.apis.bumblebee.models.state import BumblebeeState
from mockserver.apis.hubble.models import HubbleBackend
from mockserver.apis.hubble.models.state import HubbleState
from mockserver.apis.hubby.models import HubbyBackend
from mockserver.apis.hubby.models.state import HubbyState
from mockserver.kernel.runtime import Runtime
from mockserver.settings import Settings

CASES = [(HubbleBackend, HubbleState), (HubbyBackend, HubbyState), (BumblebeeBackend, BumblebeeState)]


def _declared_methods(protocol: type) -> list[str]:
    return [name for name, value in vars(protocol).items() if inspect.isfunction(value)]


@pytest.mark.parametrize(("backend", "state"), CASES, ids=lambda c: c.__name__)
def test_every_declared_method_resolves_to_a_mixin_not_to_the_protocol_stub(backend: type, state: type) -> None:
    assert _declared_methods(state), f"{state.__name__} declares no method: the test would prove nothing"
    for name in _declared_methods(state):
        owner = next(klass for klass in backend.__mro__ if name in vars(klass))
        assert not getattr(owner, "_is_protocol", False), f"{backend.__name__}.{name} resolves to the stub in {owner.__name__}"


@pytest.mark.parametrize(("backend", "state"), CASES, ids=lambda c: c.__name__)
def test_every_declared_attribute_is_set_on_a_built_backend(backend: Any, state: type) -> None:
    runtime = Runtime(Settings(scenario=None))
    built = backend(runtime)
    missing = [name for name in state.__annotations__ if not hasattr(built, name)]
    assert not missing, f"{backend.__name__} never sets {missing}"
