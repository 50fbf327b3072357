"""One settings object. CLI flags and MOCKSERVER_* environment variables map onto it."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from typing import Any

DEFAULT_HUBBLE_ORG_ID = "2f4c5a8e-1d3b-4e6f-9a7c-0b1d2e3f4a5b"
DEFAULT_HUBBLE_TOKEN = "hubble-sandbox-token-0123456789abcdef"
DEFAULT_HUBBY_API_KEY = "hubby-sandbox-key"
DEFAULT_HUBBY_SECRET = "hubby-sandbox-secret-0123456789"


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
    hubble_org_id: str = DEFAULT_HUBBLE_ORG_ID
    hubble_token: str = DEFAULT_HUBBLE_TOKEN
    hubby_api_key: str = DEFAULT_HUBBY_API_KEY
    hubby_secret: str = DEFAULT_HUBBY_SECRET
    hubby_signature_window: float = 300.0  # seconds either way
    max_body_bytes: int = 1_048_576  # an API request body; more is a 413
    max_control_body_bytes: int = 67_108_864  # a /_mock body (PUT /_mock/state takes whole snapshots)
    max_header_bytes: int = 32_768  # request line and headers together; more is a 431
    journal_limit: int = 2000
    webhook_timeout: float = 30.0
    public_url: str | None = None  # base URL printed and returned by /_mock/credentials
    webhook_chaos: str | None = None  # opt-in delivery chaos (webhooks/chaos.py); None: off
    extra: dict[str, Any] = field(default_factory=dict)

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
        "MOCKSERVER_HUBBLE_ORG_ID": "hubble_org_id",
        "MOCKSERVER_HUBBLE_TOKEN": "hubble_token",
        "MOCKSERVER_HUBBY_API_KEY": "hubby_api_key",
        "MOCKSERVER_HUBBY_SECRET": "hubby_secret",
        "MOCKSERVER_HUBBY_SIGNATURE_WINDOW": "hubby_signature_window",
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
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def with_(self, **changes: Any) -> Settings:
        return replace(self, **changes)

    @property
    def base_url(self) -> str:
        if self.public_url:
            return self.public_url.rstrip("/")
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host
        return f"http://{host}:{self.port}"


def _convert(raw: str, type_name: Any) -> Any:
    t = str(type_name)
    if t.startswith("bool"):
        return _env_bool(raw)
    if t.startswith("int"):
        return int(raw)
    if t.startswith("float"):
        return float(raw)
    return raw
