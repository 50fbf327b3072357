"""Load a spec for a contract run: parse it (one-line errors), add the links, configure schemathesis.

The configuration is what a `schemathesis.toml` next to the suites would say, built in code
so that the CLI's flags and the target decide it:

    base-url = "<target>"
    seed = <seed>
    [parameters]
    org_id = "<sandbox org>"        # Hubble: generated calls hit real state
    [generation]
    mode = "all"                    # positive and negative data
    max-examples = <N>
    deterministic = true            # the same cases every run
    database = "none"
    no-shrink = true                # unless --shrink
    [phases.coverage]
    enabled = <coverage>
    [phases.stateful]
    max-steps = <steps>
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import schemathesis
import yaml
from schemathesis.config import SchemathesisConfig
from schemathesis.core.errors import LoaderError

from .auth import requests_auth
from .links import ensure_links
from .seeds import attach_seeds
from .target import READ_ONLY_METHODS, HarnessError, Target


def read_document(path: str | Path) -> dict[str, Any]:
    """Parse an OpenAPI 3 document; any problem is a `HarnessError` with a one-line message."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise HarnessError(f"spec file not found: {p}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise HarnessError(f"cannot read spec {p}: {exc}") from None
    try:
        document = json.loads(text) if p.suffix == ".json" else yaml.safe_load(text)
    except json.JSONDecodeError as exc:
        raise HarnessError(f"spec {p} is not valid JSON: {exc.msg} at line {exc.lineno}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise HarnessError(f"spec {p} does not parse: {problem}{where}") from None
    if not isinstance(document, dict) or not str(document.get("openapi", "")).startswith("3."):
        raise HarnessError(f"spec {p} is not an OpenAPI 3 document (no 'openapi: 3.x' at its top)")
    if not isinstance(document.get("paths"), dict) or not document["paths"]:
        raise HarnessError(f"spec {p} describes no paths")
    return document


def config_dict(target: Target) -> dict[str, Any]:
    data: dict[str, Any] = {
        "base-url": target.base_url,
        "seed": target.seed,
        "request-timeout": target.request_timeout,
        "suppress-health-check": ["all"],
        "generation": {
            "mode": "all",
            "max-examples": target.max_examples,
            "deterministic": True,
            "database": "none",
            "no-shrink": not target.shrink,
        },
        "phases": {
            "coverage": {"enabled": target.coverage},
            "stateful": {"max-steps": max(2, target.stateful_steps)},
        },
    }
    if target.pinned_path_parameters():
        data["parameters"] = dict(target.pinned_path_parameters())
    if target.rate_limit:
        data["rate-limit"] = target.rate_limit
    return data


def load_schema(target: Target) -> Any:
    """A schemathesis schema for the target: links added, org pinned, auth attached, and,
    unless writes are allowed, only read-only operations."""
    document = read_document(target.spec_path)
    ensure_links(document, target.api)
    try:
        config = SchemathesisConfig.from_dict(config_dict(target))
        schema: Any = schemathesis.openapi.from_dict(document, config=config)
    except LoaderError as exc:
        raise HarnessError(f"spec {target.spec_path} cannot be loaded: {exc.message}") from None
    except Exception as exc:  # schemathesis config errors (bad base URL...)
        raise HarnessError(f"cannot set up schemathesis for {target.api}: {exc}") from None
    if not target.writes_allowed:
        schema = schema.include(method=sorted(READ_ONLY_METHODS))
    auth = requests_auth(target)
    if auth is not None:
        attach_auth(schema, auth, credential_headers(document))
    attach_seeds(schema, document, target.api)
    return schema


def credential_headers(document: dict[str, Any]) -> frozenset[str]:
    """Lower-case names of the headers the document's security schemes use."""
    names = set()
    for scheme in ((document.get("components") or {}).get("securitySchemes") or {}).values():
        if scheme.get("type") == "apiKey" and scheme.get("in") == "header":
            names.add(str(scheme.get("name", "")).lower())
        elif scheme.get("type") in ("http", "oauth2", "openIdConnect"):
            names.add("authorization")
    return frozenset(names)


def attach_auth(schema: Any, auth: Any, header_names: frozenset[str]) -> None:
    """Sign every generated request with `auth` (a `requests` auth object), except the negative
    cases that are about the credential headers themselves: schemathesis drops auth when one
    security parameter is negated, but not when the whole header set is (`required` removed),
    and re-signing such a case would turn it into a valid request."""

    class Credentials:
        def get(self, case: Any, context: Any) -> Any:
            return None if negates_credentials(case, header_names) else auth

        def set(self, case: Any, data: Any, context: Any) -> None:
            case._auth = data  # applied by `requests` at send time, after serialization

    schema.auth.auth(refresh_interval=None)(Credentials)


def negates_credentials(case: Any, header_names: frozenset[str]) -> bool:
    from schemathesis.core.parameters import ParameterLocation

    meta = case.meta
    if meta is None or not meta.generation.mode.is_negative:
        return False
    data = meta.phase.data
    located = [(getattr(data, "parameter", None), getattr(data, "parameter_location", None))]
    located += [(m.parameter, m.parameter_location) for m in getattr(data, "mutations", ())]
    for name, location in located:
        if location == ParameterLocation.HEADER and (name is None or str(name).lower() in header_names):
            return True
    return False


def operations(schema: Any) -> list[Any]:
    from schemathesis.core.result import Ok

    return [r.ok() for r in schema.get_all_operations() if isinstance(r, Ok)]
