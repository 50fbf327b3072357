"""A counting fuzz run: every operation of the three APIs and of the control plane, with
schemathesis' checks, against one fake. It answers "what did a hostile client get": how
many requests were sent, how many were a 5xx, and which checks failed where.

Used by the suite (`tests/hostile/test_fuzz.py`: few examples, a fixed seed) and by
`bench/bench_fuzz.py` (200 examples per operation). Unlike the contract suites it never
stops at the first failure and it records instead of raising, so one run gives the whole
picture. The control plane runs last: its fuzzed resets, restores and fault rules change
what the APIs would answer.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import hypothesis
import schemathesis
from hypothesis import strategies as st
from schemathesis.config import SchemathesisConfig
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.generation import GenerationMode

from .. import datafiles
from .checks import BUILTIN
from .generation import quiet_settings
from .schema import load_schema, operations
from .target import Target

CONTROL_SPEC = datafiles.resources() / "control-openapi.yaml"
# every schemathesis check that judges one response (the stateful ones need a run of links)
ALL_CHECKS = tuple(BUILTIN)
# positive_data_acceptance takes a 400 for "valid data refused", but a schema cannot carry
# every domain rule (a clock moved backwards, a device id that is well formed but unknown is a
# 404 and fine, a booking for a sold-out combination): counted apart, not a failure
SOFT_CHECKS = frozenset({"positive_data_acceptance"})


@dataclass
class FuzzReport:
    requests: int = 0
    server_errors: list[str] = field(default_factory=list)  # "METHOD /path -> 5xx: body excerpt"
    failures: dict[str, set[str]] = field(default_factory=dict)  # check -> operations it failed on
    soft: dict[str, set[str]] = field(default_factory=dict)
    by_api: Counter = field(default_factory=Counter)

    @property
    def hard_failures(self) -> dict[str, set[str]]:
        return {k: v for k, v in self.failures.items() if v}

    def summary(self) -> str:
        lines = [f"requests sent: {self.requests} ({', '.join(f'{k} {v}' for k, v in self.by_api.items())})",
                 f"5xx answers: {len(self.server_errors)}"]
        for check, ops in sorted(self.failures.items()):
            lines.append(f"failed {check}: {', '.join(sorted(ops)[:8])}{' ...' if len(ops) > 8 else ''}")
        for check, ops in sorted(self.soft.items()):
            lines.append(f"(soft) {check}: {len(ops)} operations")
        return "\n".join(lines)


def control_schema(base_url: str, seed: int, max_examples: int) -> Any:
    config = SchemathesisConfig.from_dict({
        "base-url": base_url.rstrip("/") + "/_mock",
        "seed": seed,
        "suppress-health-check": ["all"],
        "generation": {"mode": "all", "max-examples": max_examples, "deterministic": True, "database": "none"},
    })  # fmt: skip
    return schemathesis.openapi.from_path(str(CONTROL_SPEC), config=config)


def run(server: Any, targets: dict[str, Target], *, max_examples: int, seed: int = 1, control: bool = True) -> FuzzReport:
    """Fuzz every operation of `targets` (a started fake's, `contracts.fake.start_fake`) and,
    with `control`, of its control plane at `server.base_url`."""
    report = FuzzReport()
    for api, target in targets.items():
        schema = load_schema(target.with_(max_examples=max_examples, seed=seed))
        for op in operations(schema):
            _fuzz_operation(op, api, max_examples, seed, report)
    if control:
        for op in operations(control_schema(server.base_url, seed, max_examples)):
            _fuzz_operation(op, "control", max_examples, seed, report)
    return report


def _strategy(op: Any) -> Any:
    strategies = [op.as_strategy(generation_mode=GenerationMode.POSITIVE)]
    try:
        strategies.append(op.as_strategy(generation_mode=GenerationMode.NEGATIVE))
    except Exception:  # nothing to negate (no parameters, no body)
        pass
    return st.one_of(strategies)


def _fuzz_operation(op: Any, api: str, max_examples: int, seed: int, report: FuzzReport) -> None:
    checks = [BUILTIN[name] for name in ALL_CHECKS]

    @quiet_settings(max_examples)
    @hypothesis.seed(seed)
    @hypothesis.given(case=_strategy(op))
    def one(case: Any) -> None:
        response = case.call(timeout=60)
        report.requests += 1
        report.by_api[api] += 1
        if response.status_code >= 500:
            report.server_errors.append(
                f"{case.method} {case.formatted_path} -> {response.status_code}: {response.text[:200]}"
            )
        try:
            case.validate_response(response, checks=checks)
        except FailureGroup as group:
            _record(report, op.label, group.exceptions)
        except Failure as failure:
            _record(report, op.label, [failure])

    one()


def _record(report: FuzzReport, label: str, failures: Any) -> None:
    for failure in failures:
        name = CHECK_OF.get(type(failure).__name__, str(getattr(failure, "title", "") or type(failure).__name__))
        bucket = report.soft if name in SOFT_CHECKS else report.failures
        bucket.setdefault(name, set()).add(label)


CHECK_OF = {  # schemathesis failure class -> the check that raises it
    "ServerError": "not_a_server_error",
    "UndefinedStatusCode": "status_code_conformance",
    "UndefinedContentType": "content_type_conformance",
    "MissingContentType": "content_type_conformance",
    "MalformedMediaType": "content_type_conformance",
    "JsonSchemaError": "response_schema_conformance",
    "MissingHeaders": "response_headers_conformance",
    "JsonSchemaHeaderError": "response_headers_conformance",
    "AcceptedNegativeData": "negative_data_rejection",
    "RejectedPositiveData": "positive_data_acceptance",
    "IgnoredAuth": "ignored_auth",
    "EnsureResourceAvailability": "ensure_resource_availability",
    "UseAfterFree": "use_after_free",
    "MissingHeaderNotRejected": "missing_required_header",
    "UnsupportedMethodResponse": "unsupported_method",
}
