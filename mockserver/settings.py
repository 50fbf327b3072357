"""One settings object. CLI flags and MOCKSERVER_* environment variables map onto it."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from typing import Any


@dataclass(frozen=True)
class Option:
    """A setting an API adds (`ApiModule.options`): read as `settings.<name>`, set from the
    `env` variable, `default` otherwise (its type is the option's type)."""

    name: str
    env: str
    default: str | int | float | bool
    secret_input: bool = False
    """Part of what the server's own signing secret is derived from (`Runtime.secret`)."""


def api_options() -> dict[str, Option]:
    """Every option the registered APIs declare, by name (read-only for the caller).

    Remembered for the registry tuple it was built from: a request path that reads an API's
    option (Hubby's signature window) pays a lookup, and a test that registers one more API
    (a new `apis.REGISTRY` tuple) gets its options too."""
    global _OPTIONS
    from . import apis  # noqa: PLC0415  (apis imports the kernel, which imports this module)

    registry = apis.REGISTRY
    if _OPTIONS is None or _OPTIONS[0] is not registry:
        _OPTIONS = (registry, {option.name: option for api in registry for option in api.options})
    return _OPTIONS[1]


_OPTIONS: tuple[Any, dict[str, Option]] | None = None  # (the registry, its options by name)


def _env_bool(value: str) -> bool:
    return value.strip().lower() in ("1", "true", "yes", "on")


@dataclass
class Settings:
    host: str = "127.0.0.1"
    port: int = 8080
    seed: int = 1
    scenario: str | None = "demo"  # a name under fixtures/ or a path to a YAML file; None: empty
    state_path: str | None = None  # SQLite file; None keeps state in memory
    rate_limit: bool = True
    clock: str = "real"  # real | frozen
    clock_start: float | None = None  # Unix seconds the clock starts at (default: now)
    strict: bool = False  # a response that breaks the spec becomes a 500 (tests turn this on)
    admin_token: str | None = None  # when set, /_mock requires it as a bearer token
    max_body_bytes: int = 1_048_576  # an API request body; more is a 413
    max_control_body_bytes: int = 67_108_864  # a /_mock body (PUT /_mock/state takes whole snapshots)
    max_header_bytes: int = 32_768  # request line and headers together; more is a 431
    journal_limit: int = 2000
    webhook_timeout: float = 30.0
    public_url: str | None = None  # base URL printed and returned by /_mock/credentials
    webhook_chaos: str | None = None  # opt-in delivery chaos (webhooks/chaos.py); None: off
    extra: dict[str, Any] = field(default_factory=dict)
    api_values: dict[str, Any] = field(default_factory=dict)
    """Values of the APIs' own options (`Option`) that differ from their defaults; read and
    set them as attributes (`settings.<option name>`)."""

    ENV = {
        "MOCKSERVER_HOST": "host",
        "MOCKSERVER_PORT": "port",
        "MOCKSERVER_SEED": "seed",
        "MOCKSERVER_SCENARIO": "scenario",
        "MOCKSERVER_STATE": "state_path",
        "MOCKSERVER_RATE_LIMIT": "rate_limit",
        "MOCKSERVER_CLOCK": "clock",
        "MOCKSERVER_STRICT": "strict",
        "MOCKSERVER_ADMIN_TOKEN": "admin_token",
        "MOCKSERVER_WEBHOOK_TIMEOUT": "webhook_timeout",
        "MOCKSERVER_PUBLIC_URL": "public_url",
        "MOCKSERVER_WEBHOOK_CHAOS": "webhook_chaos",
        "MOCKSERVER_MAX_BODY_BYTES": "max_body_bytes",
        "MOCKSERVER_MAX_CONTROL_BODY_BYTES": "max_control_body_bytes",
        "MOCKSERVER_MAX_HEADER_BYTES": "max_header_bytes",
    }

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides: Any) -> Settings:
        environ = dict(os.environ if environ is None else environ)
        types = {f.name: f.type for f in fields(cls)}
        values: dict[str, Any] = {}
        for var, name in cls.ENV.items():
            if var in environ and environ[var] != "":
                values[name] = _convert(environ[var], types[name])
        options: dict[str, Any] = {}
        for option in api_options().values():
            if environ.get(option.env, "") != "":
                options[option.name] = _convert(environ[option.env], type(option.default).__name__)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values).with_(**options)

    def with_(self, **changes: Any) -> Settings:
        declared = {f.name for f in fields(self)}
        own = {k: v for k, v in changes.items() if k in declared}
        unknown = sorted(set(changes) - declared - set(api_options()))
        if unknown:
            raise TypeError(f"unknown settings {unknown}")
        api_values = {**self.api_values, **{k: v for k, v in changes.items() if k not in declared}}
        return replace(self, **own, api_values=api_values)

    def __getattr__(self, name: str) -> Any:
        """An API's option (`settings.hubby_secret`): its value here, or its default."""
        if name.startswith("__") or name == "api_values":
            raise AttributeError(name)
        return self.option(name)

    def option(self, name: str) -> Any:
        """What `settings.<name>` reads for an API's option, without first failing the
        ordinary attribute lookup (for the request path: Hubby's signature window)."""
        values = self.__dict__.get("api_values") or {}
        if name in values:
            return values[name]
        option = api_options().get(name)
        if option is None:
            raise AttributeError(f"{type(self).__name__} has no setting {name!r}")
        return option.default

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _FIELD_NAMES or name not in api_options():
            object.__setattr__(self, name, value)
        else:  # a new dict: a copy made with dataclasses.replace keeps its own values
            object.__setattr__(self, "api_values", {**self.api_values, name: value})

    @property
    def secret_input(self) -> str:
        """What the server's signing secret is derived from, besides the seed: the values of
        the options the APIs mark `secret_input`, in registry order."""
        return ":".join(str(getattr(self, o.name)) for o in api_options().values() if o.secret_input)

    @property
    def base_url(self) -> str:
        if self.public_url:
            return self.public_url.rstrip("/")
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host
        return f"http://{host}:{self.port}"


def __getattr__(name: str) -> Any:
    """`DEFAULT_<OPTION>` (e.g. the default of the `hubble_token` option), as this module
    once defined them."""
    if name.startswith("DEFAULT_"):
        option = api_options().get(name.removeprefix("DEFAULT_").lower())
        if option is not None:
            return option.default
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


_FIELD_NAMES = frozenset(f.name for f in fields(Settings))


def _convert(raw: str, type_name: Any) -> Any:
    t = str(type_name)
    if t.startswith("bool"):
        return _env_bool(raw)
    if t.startswith("int"):
        return int(raw)
    if t.startswith("float"):
        return float(raw)
    return raw
