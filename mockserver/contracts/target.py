"""What a contract run points at: one API, its base URL, its credentials and how hard to push.

A `Target` is built by the CLI (flags), by the suites (environment variables the CLI or the
suites' conftest set) or by a test (keyword arguments). Environment variables are namespaced
(`MOCKSERVER_CONTRACTS_HUBBLE_URL`...) on purpose: a developer's real `HUBBLE_API_TOKEN`
in the shell never sends the suites to the vendor by accident.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..kernel.spec import resource_path
from .errors import HarnessError

ENV_PREFIX = "MOCKSERVER_CONTRACTS_"
READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CREDENTIAL_FIELDS = {"hubble": ("token", "org_id"), "hubby": ("api_key", "secret"), "bumblebee": ()}


@dataclass(frozen=True)
class ApiProfile:
    """What the harness knows about testing one vendor API (the fake's side of the same API,
    its mount and spec, comes from the registry: `mockserver.apis`)."""

    name: str
    title: str
    auth: str  # bearer | hmac | none
    checks: tuple[str, ...]
    env_fields: dict[str, str]  # Target field -> env var suffix

    @property
    def spec_resource(self) -> str:
        """The API's OpenAPI document (`ApiModule.spec_file`)."""
        from ..apis import api_named  # noqa: PLC0415  (the harness CLI loads the fake only when it needs it)

        return api_named(self.name).spec_file

    @property
    def fake_mount(self) -> str:
        """Where the fake serves it, below the server root (`ApiModule.mount_path`)."""
        from ..apis import api_named  # noqa: PLC0415

        return api_named(self.name).mount_path


PROFILES: dict[str, ApiProfile] = {
    "hubble": ApiProfile(
        name="hubble",
        title="Hubble Network Cloud API",
        auth="bearer",
        checks=(
            "not_a_server_error",
            "status_code_conformance",
            "response_schema_conformance",
            "content_type_conformance",
            "negative_data_rejection",
            "ignored_auth",
            "use_after_free",
            "ensure_resource_availability",
            # ours (mockserver.contracts.checks)
            "linked_resource_availability",
            "scope_enforcement",
            "paging_terminates",
        ),
        env_fields={"token": "TOKEN", "org_id": "ORG_ID", "limited_token": "LIMITED_TOKEN"},
    ),
    "hubby": ApiProfile(
        name="hubby",
        title="Hubby eSIM API 2.0",
        auth="hmac",
        checks=(
            "not_a_server_error",
            "status_code_conformance",
            "response_schema_conformance",
            "negative_data_rejection",
            "ignored_auth",
            # a cancelled booking is still there (status CANCELLED): no use_after_free
            "ensure_resource_availability",
        ),
        env_fields={"api_key": "API_KEY", "secret": "SECRET"},
    ),
    "bumblebee": ApiProfile(
        name="bumblebee",
        title="Bumblebee sandbox (mockserver)",
        auth="none",  # mockserver's own sandbox API: no credentials
        checks=(
            "not_a_server_error",
            "status_code_conformance",
            "response_schema_conformance",
            "content_type_conformance",
            "negative_data_rejection",
            "use_after_free",
            "ensure_resource_availability",
        ),
        env_fields={},
    ),
}


APIS = tuple(PROFILES)  # the APIs the harness has a profile for


def profile(api: str) -> ApiProfile:
    try:
        return PROFILES[api]
    except KeyError:
        raise HarnessError(f"unknown api {api!r}; one of {', '.join(APIS)}") from None


@dataclass(frozen=True)
class Target:
    api: str
    base_url: str
    spec_path: str = ""
    # Hubble
    token: str | None = None
    org_id: str | None = None
    limited_token: str | None = None  # a key WITHOUT most scopes, for `scope_enforcement`
    limited_scopes: tuple[str, ...] = ("read-billing-usage",)  # what that key holds
    # Hubby
    api_key: str | None = None
    secret: str | None = None
    sign_prefix: str = "/api"  # Hubby signs "/api/bookings" whatever the base URL's own path
    # how hard to push
    is_fake: bool = False  # the fake started by the harness (writes allowed, rate limits off)
    sandbox: bool = False  # a mockserver behind --base-url: no default rate limit; writes only if allowed
    allow_writes: bool = False
    max_examples: int = 25
    seed: int = 20240601
    stateful_steps: int = 8
    stateful_examples: int | None = None  # scenarios; default max_examples
    coverage: bool = False  # schemathesis' coverage phase (boundary values; many requests)
    shrink: bool = False  # minimise failing cases (slower; against a live server often flaky)
    rate_limit: str | None = None  # e.g. "2/s" (schemathesis syntax); None: no client-side limit
    request_timeout: float = 20.0
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        if not self.spec_path:
            object.__setattr__(self, "spec_path", str(resource_path(profile(self.api).spec_resource)))
        object.__setattr__(self, "base_url", self.base_url.rstrip("/"))

    @property
    def profile(self) -> ApiProfile:
        return profile(self.api)

    @property
    def writes_allowed(self) -> bool:
        return self.is_fake or self.allow_writes

    def describe(self) -> str:
        """What a run against this target will do, in one line (printed before the suites run)."""
        kind = "the fake started here" if self.is_fake else "a mockserver sandbox" if self.sandbox else "a remote API"
        writes = "writes allowed" if self.writes_allowed else "read-only: GET only (--allow-writes sends writes too)"
        rate = f"client-side limit {self.rate_limit}" if self.rate_limit else "no client-side rate limit"
        return f"{self.api} at {self.base_url}: {kind}; {writes}; {rate}"

    def with_(self, **changes: Any) -> Target:
        return replace(self, **changes)

    @property
    def mock_root(self) -> str:
        """The server root of a fake (its /_mock control plane lives there)."""
        mount = self.profile.fake_mount
        return self.base_url[: -len(mount)] if self.base_url.endswith(mount) else self.base_url

    def pinned_path_parameters(self) -> dict[str, str]:
        """Path parameters every generated request uses (the sandbox org)."""
        return {"org_id": self.org_id} if self.api == "hubble" and self.org_id else {}

    def missing_credentials(self) -> list[str]:
        return [name for name in self.credential_fields() if not getattr(self, name)]

    def credential_fields(self) -> tuple[str, ...]:
        return CREDENTIAL_FIELDS[self.api]

    # -- environment round trip (the CLI -> pytest subprocess -> suites) -----------------
    def to_env(self, knobs: bool = True) -> dict[str, str]:
        """Where and who (always) and how hard (`knobs`; leave them out to let the shared
        `MOCKSERVER_CONTRACTS_MAX_EXAMPLES`... decide)."""
        p = f"{ENV_PREFIX}{self.api.upper()}_"
        env = {
            f"{p}URL": self.base_url,
            f"{p}SPEC": self.spec_path,
            f"{p}IS_FAKE": "1" if self.is_fake else "0",
            f"{p}SANDBOX": "1" if self.sandbox else "0",
            f"{p}RATE_LIMIT": self.rate_limit or "",
        }
        if knobs:
            env.update({
                f"{p}ALLOW_WRITES": "1" if self.allow_writes else "0",
                f"{p}MAX_EXAMPLES": str(self.max_examples),
                f"{p}SEED": str(self.seed),
                f"{p}STATEFUL_STEPS": str(self.stateful_steps),
                f"{p}COVERAGE": "1" if self.coverage else "0",
                f"{p}SHRINK": "1" if self.shrink else "0",
            })
            if self.stateful_examples is not None:
                env[f"{p}STATEFUL_EXAMPLES"] = str(self.stateful_examples)
        if self.api == "hubble":
            env[f"{p}LIMITED_SCOPES"] = ",".join(self.limited_scopes)
        for name, suffix in self.profile.env_fields.items():
            value = getattr(self, name)
            if value:
                env[f"{p}{suffix}"] = value
        return env

    @classmethod
    def from_env(cls, api: str, environ: dict[str, str] | None = None) -> Target | None:
        """The target the CLI (or the suites' conftest) described, or None when none was.

        Per-API variables (`MOCKSERVER_CONTRACTS_HUBBLE_MAX_EXAMPLES`) win over the shared
        ones (`MOCKSERVER_CONTRACTS_MAX_EXAMPLES`)."""
        env = os.environ if environ is None else environ
        p = f"{ENV_PREFIX}{api.upper()}_"

        def get(key: str) -> str | None:
            return env.get(f"{p}{key}") or env.get(f"{ENV_PREFIX}{key}") or None

        url = env.get(f"{p}URL")
        if not url:
            return None
        kwargs: dict[str, Any] = {
            "api": api,
            "base_url": url,
            "spec_path": env.get(f"{p}SPEC", ""),
            "is_fake": env.get(f"{p}IS_FAKE") == "1",
            "sandbox": env.get(f"{p}SANDBOX") == "1",
            "allow_writes": get("ALLOW_WRITES") == "1",
            "coverage": get("COVERAGE") == "1",
            "shrink": get("SHRINK") == "1",
            "rate_limit": env.get(f"{p}RATE_LIMIT") or None,
        }
        for key in ("max_examples", "seed", "stateful_steps", "stateful_examples"):
            raw = get(key.upper())
            if raw:
                kwargs[key] = int(raw)
        for name, suffix in profile(api).env_fields.items():
            kwargs[name] = env.get(f"{p}{suffix}") or None
        scopes = env.get(f"{p}LIMITED_SCOPES")
        if scopes is not None:
            kwargs["limited_scopes"] = tuple(s for s in scopes.split(",") if s)
        return cls(**kwargs)


def spec_file(path: str | os.PathLike[str]) -> Path:
    p = Path(path)
    if not p.is_file():
        raise HarnessError(f"spec file not found: {p}")
    return p
