"""Realistic request bodies for the stateful runs.

A random body that satisfies the schema rarely satisfies the API's business rules (a Hubby
booking needs a package that exists and a departure in the future; Hubble wants one name
per device), so a stateful scenario that starts from random data seldom gets past its first
step. In the stateful phase, positive cases of an operation whose spec carries request
examples use one of those examples half of the time. Fuzzing keeps its purely generated data.

Hubby examples carry fixed travel dates; they are moved into the future (departure in 30
days, return 14 days later) so bookings can still be cancelled.
"""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

from hypothesis import strategies as st

DATE_FIELDS = {"departure_date": 30, "return_date": 44}


def example_bodies(document: dict[str, Any], api: str) -> dict[str, list[Any]]:
    """operationId -> the JSON request-body examples the spec gives for it."""
    out: dict[str, list[Any]] = {}
    for item in (document.get("paths") or {}).values():
        if not isinstance(item, dict):
            continue
        for method, op in item.items():
            if method == "parameters" or not isinstance(op, dict) or "operationId" not in op:
                continue
            body = op.get("requestBody") or {}
            media = (body.get("content") or {}).get("application/json") or {}
            values = []
            if "example" in media:
                values.append(media["example"])
            for example in (media.get("examples") or {}).values():
                if isinstance(example, dict) and "value" in example:
                    values.append(example["value"])
            if values:
                out[op["operationId"]] = [_adjust(v, api) for v in values]
    return out


def _adjust(value: Any, api: str) -> Any:
    value = copy.deepcopy(value)
    if api == "hubby" and isinstance(value, dict):
        today = dt.datetime.now(dt.UTC).date()
        for name, days in DATE_FIELDS.items():
            if isinstance(value.get(name), str):
                day = today + dt.timedelta(days=days)
                value[name] = f"{day.isoformat()}T10:00:00Z" if "T" in value[name] else day.isoformat()
    return value


def attach_seeds(schema: Any, document: dict[str, Any], api: str) -> None:
    """Register the `flatmap_case` hook that mixes the examples into stateful positive cases."""
    from schemathesis.generation.modes import GenerationMode

    seeds = example_bodies(document, api)
    if not seeds:
        return

    def flatmap_case(context: Any, case: Any) -> Any:
        operation = context.operation
        operation_id = operation.definition.raw.get("operationId") if operation is not None else None
        bodies = seeds.get(operation_id or "")
        meta = case.meta
        if (
            not bodies
            or meta is None
            or meta.generation.mode != GenerationMode.POSITIVE
            or getattr(meta.phase.name, "value", meta.phase.name) != "stateful"
        ):
            return st.just(case)

        def with_body(body: Any) -> Any:
            case.body = copy.deepcopy(body)
            return case

        return st.one_of(st.just(case), st.sampled_from(bodies).map(with_body))

    schema.hooks.register_hook_with_name(flatmap_case, "flatmap_case")
