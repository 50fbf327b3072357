"""What a contract suite module needs: the schema, the checks, and the stateful and paging runs.

A suite module is three lines of pytest (see `contract_suites/test_hubble.py`):

    S = Suite.for_module("hubble")          # the target from MOCKSERVER_CONTRACTS_HUBBLE_*

    @S.schema.parametrize()
    def test_operation(case):
        S.check(case)

Users can write their own suites the same way against any `Target`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import hypothesis
import hypothesis.errors
import pytest
from schemathesis.core.errors import NoLinksFound
from schemathesis.core.failures import FailureGroup
from schemathesis.engine.errors import is_inconsistent_replay
from schemathesis.generation.stateful.state_machine import APIStateMachine

from . import checks as contract_checks
from .auth import requests_auth
from .generation import quiet_settings
from .schema import load_schema, operations
from .target import Target

MAX_STATEFUL_FAILURES = 10


class Suite:
    def __init__(self, target: Target) -> None:
        self.target = target
        self.schema = load_schema(target)
        self.checks = contract_checks.resolve(target)
        self.auth = requests_auth(target)

    @classmethod
    def for_module(cls, api: str) -> Suite:
        """The suite for the target the environment describes, or skip the whole module."""
        target = Target.from_env(api)
        if target is None:
            pytest.skip(f"no {api} target configured (run through `mockserver contracts run` or the suites' conftest)",
                        allow_module_level=True)
        return cls(target)

    # -- one generated case --------------------------------------------------------------
    def check(self, case: Any) -> Any:
        __tracebackhide__ = True
        with reported():
            return case.call_and_validate(checks=self.checks)

    # -- stateful ------------------------------------------------------------------------
    def state_machine(self, failures: dict[Any, str] | None = None) -> type[APIStateMachine]:
        """The spec's links as a hypothesis state machine, checked with this suite's checks.

        Failures are collected into `failures` (one report per distinct failure, with the
        scenario's steps so far) instead of being raised: replaying a scenario against a live,
        stateful server rarely reproduces it exactly, and hypothesis would then report a
        "flaky" error instead of the real problem."""
        base = self.schema.as_state_machine()
        checks = self.checks
        pinned = self.target.pinned_path_parameters()
        found = failures if failures is not None else {}

        class ContractWorkflow(base):  # type: ignore[valid-type, misc]
            def setup(self) -> None:
                self._steps: list[str] = []

            def before_call(self, case: Any) -> None:
                # schemathesis applies `[parameters]` to fuzzed cases but not to stateful ones.
                # Assigning a new container (not editing it in place) marks the case's metadata
                # stale, so a negative case whose only fault was the org id is re-classified.
                present = {k: v for k, v in pinned.items() if k in case.path_parameters}
                if present and any(case.path_parameters[k] != v for k, v in present.items()):
                    case.path_parameters = {**case.path_parameters, **present}

            def after_call(self, response: Any, case: Any) -> None:
                super().after_call(response, case)
                self._steps.append(f"{case.method} {case.formatted_path} -> {response.status_code}")

            def validate_response(self, response: Any, case: Any, additional_checks: Any = None, **kwargs: Any) -> None:
                try:
                    case.validate_response(
                        response,
                        checks=checks,
                        additional_checks=additional_checks,
                        transport_kwargs=kwargs or None,
                        recorder=self.recorder,
                    )
                except FailureGroup as exc:
                    key = (case.operation.label, tuple(sorted({f"{f.code} {f.title}" for f in exc.exceptions})))
                    if key not in found and len(found) < MAX_STATEFUL_FAILURES:
                        steps = "\n".join(f"    {n}. {step}" for n, step in enumerate(self._steps, 1))
                        found[key] = f"{str(exc.message).rstrip()}\n\nScenario (steps so far):\n{steps}"

        ContractWorkflow.__name__ = f"{self.target.api.capitalize()}Workflow"
        return ContractWorkflow

    def stateful_settings(self) -> hypothesis.settings:
        t = self.target
        return quiet_settings(
            t.stateful_examples or t.max_examples, stateful_step_count=max(2, t.stateful_steps), derandomize=True
        )

    def run_stateful(self) -> None:
        __tracebackhide__ = True
        failures: dict[Any, str] = {}
        try:
            machine = self.state_machine(failures)
            machine.run(settings=self.stateful_settings())
        except NoLinksFound as exc:
            pytest.skip(f"no links to follow among the operations under test: {str(exc).splitlines()[0]}")
        except hypothesis.errors.Flaky:
            # hypothesis re-draws a scenario it has seen and the live server answers differently
            # (its state moved on): exploration ends there, as in schemathesis' own runner
            pass
        except AssertionError as exc:
            if not is_inconsistent_replay(exc):
                raise
        if failures:
            pytest.fail(
                f"{len(failures)} distinct failure(s) in stateful scenarios\n\n" + "\n\n----\n\n".join(failures.values()),
                pytrace=False,
            )

    # -- paging --------------------------------------------------------------------------
    def paged_operations(self) -> list[Any]:
        return [op for op in operations(self.schema)
                if op.method.upper() == "GET" and op.definition.raw.get("x-paged")]

    def first_page_case(self, operation: Any) -> Any:
        """A valid first-page request: the pinned org, an `end` of now on streams that otherwise
        never end, and the smallest page size on the fake (many pages) or the largest on a real
        API (few requests)."""
        import time

        path_parameters = {}
        for p in operation.path_parameters:
            if p.name == "org_id" and self.target.org_id:
                path_parameters["org_id"] = self.target.org_id
        query: dict[str, Any] = {}
        for p in operation.query:
            schema = p.definition.get("schema", {})
            bound = "minimum" if self.target.is_fake or self.target.sandbox else "maximum"
            if p.name == "limit" and bound in schema:
                query["limit"] = schema[bound]
            if p.name == "end":
                query["end"] = int(time.time())
            if p.name == "start":
                query["start"] = 0
        return operation.Case(path_parameters=path_parameters, query=query)

    def check_paging(self, operation: Any) -> Any:
        __tracebackhide__ = True
        case = self.first_page_case(operation)
        paging = contract_checks.make_paging_check(chains_per_operation=1)
        with reported():
            return case.call_and_validate(
                checks=[contract_checks.BUILTIN["not_a_server_error"], paging], auth=self.auth
            )


@contextmanager
def reported() -> Iterator[None]:
    """schemathesis' failure report (what failed, the response, a curl line to reproduce it)
    as the test's failure message, without a Python traceback around it."""
    __tracebackhide__ = True
    try:
        yield
    except FailureGroup as exc:
        raise pytest.fail.Exception(str(exc.message).rstrip(), pytrace=False) from None
