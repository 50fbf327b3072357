"""The APIs this server fakes, and the one contract each of them fills in.

Each API package builds one `ApiModule` (in its `__init__.py`, named `API`) and `REGISTRY`
lists them. Everything outside `apis/` (the app's mounts, the control plane and its
credentials, the CLI banner, settings, the webhook engine's retry policies, the pytest
plugin's fixtures, the scenario schema, the dashboard) loops over `REGISTRY` instead of
naming an API, so a fourth API is one new package plus one line here (README: "Adding an
operation / adding an API").

Why a frozen dataclass and not a Protocol that each package module satisfies: most of the
contract is data (a path, a spec file, a table of handlers, a retry policy, credentials),
several parts are optional with an obvious default (no control routes, no auth, no
webhooks), and a dataclass is checked when the package builds it: a missing or misspelt
field fails at import, naming the field, where a module-as-Protocol is only checked by mypy.
Frozen, because the registry is read by every request path and nothing may change it.

Read `REGISTRY` as `apis.REGISTRY` when you need it (not a copy taken at import), so a test
can register one more API for the length of a test (tests/kernel/test_registry.py does).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..kernel.api import ApiMount, Authenticator, Handler, RateBuckets, RefusalHeaders
from ..kernel.errors import ErrorRenderer
from ..kernel.runtime import Backend, Runtime
from ..kernel.spec import Spec
from ..settings import Option, Settings

if TYPE_CHECKING:
    from starlette.routing import BaseRoute

    from ..webhooks import RetryPolicy

BackendFactory = Callable[[Runtime, Spec], Backend]
"""(runtime, the API's compiled spec) -> its model; the registry registers it with the runtime."""
ControlRoutes = Callable[[Runtime, Any], "Sequence[BaseRoute]"]
"""(runtime, the API's backend) -> the routes mounted under /_mock/<name>/ (world simulation)."""


def _no_control_routes(runtime: Runtime, backend: Any) -> Sequence[BaseRoute]:
    return []


def _no_credentials(settings: Settings) -> dict[str, Any]:
    return {}


@dataclass(frozen=True)
class ApiModule:
    """What one API offers the server. The first seven fields are required; the rest say what
    else it has (defaults: none)."""

    name: str
    """Key of the API everywhere: /_mock/<name>/, journal and fault `api`, reset `?api=`,
    store table prefix `<name>.`, scenario section, credentials key."""
    title: str
    """As people write it (the CLI banner)."""
    mount_path: str
    """Where the vendor paths start: `/hubby/api` serves `/hubby/api/bookings`."""
    spec_file: str
    """The OpenAPI document every request and response is checked against: a file name under
    resources/ (or an absolute path)."""
    handlers: Mapping[str, Handler]
    """operationId -> handler(call); start-up fails if an operation of the spec has none."""
    backend: BackendFactory
    """Builds the model (`kernel.runtime.Backend`: `name`, `seed(section)`, `loaded()`)."""
    render_error: ErrorRenderer
    """render(err, call) -> the body of an error in this API's shape; `call` is the request
    being served (None before routing, e.g. a 404 or a refused header block)."""
    control_routes: ControlRoutes = _no_control_routes
    authenticate: Authenticator | None = None
    rate_buckets: RateBuckets | None = None
    rate_limited_headers: RefusalHeaders | None = None
    credentials: Callable[[Settings], dict[str, Any]] = _no_credentials
    """What GET /_mock/credentials shows beside `base_url` (api keys, tokens...)."""
    banner: tuple[tuple[str, str], ...] = ()
    """(label, credentials key) pairs the CLI prints after the base URL."""
    options: tuple[Option, ...] = ()
    """Settings this API adds (its sandbox credentials), each with a MOCKSERVER_* variable."""
    retry_policy: RetryPolicy | None = None
    """How its outgoing webhooks are retried (None: it sends none)."""
    handle: str | None = None
    """"module:Class" of the pytest plugin's fixture handle (`mockserver.testing.handles`),
    imported on first use only."""
    fixtures: tuple[str, ...] = ()
    """Fixture names in the pytest plugin; default `<name>_api`. More names are aliases."""
    scenario_schema: str | None = "scenario_schema.yaml"
    """JSON Schema (YAML) of this API's section of a scenario file: a file in the API's folder
    (apis/<name>/). Without one the section takes any mapping."""
    main_tables: tuple[str, ...] = ()
    """Store tables the dashboard shows first."""
    describe_timer: Callable[[str, tuple[Any, ...], Any], Any] | None = None
    """(callback name, its arguments, its owner) -> {"kind", "label"...} for the dashboard's
    list of upcoming timers; None for a stale one; NotImplemented for a timer not its own."""

    @property
    def fixture_names(self) -> tuple[str, ...]:
        return self.fixtures or (f"{self.name}_api",)

    def url(self, base_url: str) -> str:
        return base_url.rstrip("/") + self.mount_path

    def load_spec(self) -> Spec:
        return Spec.from_resource(self.name, self.spec_file)

    def backend_of(self, runtime: Runtime) -> Any:
        """This API's backend in `runtime`, built and registered on first use."""
        backend = runtime.backends.get(self.name)
        if backend is None:
            backend = self.backend(runtime, self.load_spec())
            runtime.register(backend)
        return backend

    def mount(self, runtime: Runtime) -> ApiMount:
        """The ASGI app serving this API's operations (the shared pipeline, kernel/api.py)."""
        backend = self.backend_of(runtime)
        spec = getattr(backend, "spec", None)
        return ApiMount(
            self.name,
            spec if isinstance(spec, Spec) else self.load_spec(),
            dict(self.handlers),
            runtime,
            backend,
            self.render_error,
            authenticate=self.authenticate,
            rate_buckets=self.rate_buckets,
            rate_limited_headers=self.rate_limited_headers,
        )

    def control(self, runtime: Runtime) -> list[BaseRoute]:
        return list(self.control_routes(runtime, self.backend_of(runtime)))

    def credentials_for(self, settings: Settings) -> dict[str, Any]:
        return {"base_url": self.url(settings.base_url), **self.credentials(settings)}

    def load_handle(self) -> type[Any]:
        """The fixture handle class (`handle`, a `mockserver.testing.handles.ApiHandle`),
        imported now. Named by a string: the API packages never import the testing package."""
        if self.handle is None:
            raise LookupError(f"{self.name}: no fixture handle")
        module, _, name = self.handle.partition(":")
        cls: type[Any] = getattr(importlib.import_module(module), name)
        return cls


def api_named(name: str) -> ApiModule:
    """The registered API called `name` (KeyError otherwise)."""
    for api in REGISTRY:
        if api.name == name:
            return api
    raise KeyError(name)


def api_at(path: str, registry: tuple[ApiModule, ...] | None = None) -> ApiModule | None:
    """The API (of `registry`, default the registered ones) whose mount holds `path`."""
    for api in REGISTRY if registry is None else registry:
        if path == api.mount_path or path.startswith(api.mount_path + "/"):
            return api
    return None


from .bumblebee import API as _BUMBLEBEE  # noqa: E402  (each package builds its ApiModule with the class above)
from .hubble import API as _HUBBLE  # noqa: E402
from .hubby import API as _HUBBY  # noqa: E402

REGISTRY: tuple[ApiModule, ...] = (_HUBBLE, _HUBBY, _BUMBLEBEE)
