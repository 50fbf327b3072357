"""The Hubby and Bumblebee documents the fake serves are valid, precise and honest.

Checks every document the way the server and schemathesis use it: valid OpenAPI 3.1,
loadable by openapi-core, every schema compiles with jsonschema-rs (Draft 2020-12, formats
on, wrapped as the server wraps it), every example validates against its schema, and the
webhook examples published in the seeds validate against (and equal) ours.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
import yaml
from openapi_core import OpenAPI
from openapi_spec_validator import OpenAPIV31SpecValidator, validate

ROOT = Path(__file__).resolve().parents[1]
RESOURCES = ROOT / "resources"
HUBBY_SEED = "seeds/002_f93bbf59b88213f0.txt"
BUMBLEBEE_SEED = "seeds/003_91be477553d53e59.txt"
HUBBY_REFERENCE = "reference/hubby-openapi.yaml"

HUBBY = "hubby-openapi.yaml"
BB_WEBHOOKS = "bumblebee-webhooks.yaml"
BB_SANDBOX = "bumblebee-openapi.yaml"
DOCUMENTS = [HUBBY, BB_WEBHOOKS, BB_SANDBOX]
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")

HUBBY_EVENTS = {
    "package.usage.20_percent": "PackageUsage20PercentEvent",
    "package.usage.50_percent": "PackageUsage50PercentEvent",
    "package.usage.80_percent": "PackageUsage80PercentEvent",
    "esim.installed": "EsimInstalledEvent",
    "esim.removed": "EsimRemovedEvent",
    "package.activated": "PackageActivatedEvent",
    "promo_code.redeemed": "PromoCodeRedeemedEvent",
    "booking.within_cutoff": "BookingWithinCutoffEvent",
    "booking.about_to_depart": "BookingAboutToDepartEvent",
}
BB_DATA_TYPES = {
    "battery_level/update": "BatteryLevelUpdate",
    "geo_location/create": "GeoLocationCreate",
    "temperature/create": "TemperatureCreate",
    "sensor_value/create": "SensorValueCreate",
    "sigfox_message_info/create": "SigfoxMessageInfoCreate",
}


# ---------------------------------------------------------------- helpers


@cache
def _load(name: str) -> dict[str, Any]:
    with open(RESOURCES / name, encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def load(name: str) -> dict[str, Any]:
    """A private copy, so no test can disturb another."""
    return copy.deepcopy(_load(name))


def pointer(doc: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), ref
    node: Any = doc
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def deref(doc: dict[str, Any], node: Any) -> Any:
    while isinstance(node, dict) and "$ref" in node:
        node = pointer(doc, node["$ref"])
    return node


def compile_schema(doc: dict[str, Any], schema: dict[str, Any]) -> jsonschema_rs.Draft202012Validator:
    """Compile a schema the way the fake's server does: inline, with the document's components."""
    wrapped = dict(schema)
    wrapped["components"] = doc.get("components", {})
    return jsonschema_rs.Draft202012Validator(wrapped, validate_formats=True)


def component(doc: dict[str, Any], name: str) -> jsonschema_rs.Draft202012Validator:
    return compile_schema(doc, {"$ref": f"#/components/schemas/{name}"})


def errors(validator: jsonschema_rs.Draft202012Validator, value: Any) -> list[str]:
    return [f"{list(e.instance_path)}: {e.message}" for e in validator.iter_errors(value)]


def operations(doc: dict[str, Any], section: str = "paths") -> Iterator[tuple[str, str, dict, dict]]:
    for path, item in (doc.get(section) or {}).items():
        for method in METHODS:
            if method in item:
                yield path, method, item, item[method]


_SUBSCHEMA_MAPS = ("properties", "patternProperties", "$defs", "dependentSchemas")
_SUBSCHEMA_LISTS = ("allOf", "anyOf", "oneOf", "prefixItems")
_SUBSCHEMA_ONE = (
    "items",
    "additionalProperties",
    "not",
    "if",
    "then",
    "else",
    "propertyNames",
    "contains",
    "unevaluatedItems",
    "unevaluatedProperties",
)


def iter_subschemas(schema: Any, loc: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """The schema and every schema nested in it (not following $ref)."""
    if not isinstance(schema, dict):
        return
    yield loc, schema
    for key in _SUBSCHEMA_MAPS:
        for name, sub in (schema.get(key) or {}).items():
            yield from iter_subschemas(sub, f"{loc}/{key}/{name}")
    for key in _SUBSCHEMA_LISTS:
        for i, sub in enumerate(schema.get(key) or []):
            yield from iter_subschemas(sub, f"{loc}/{key}/{i}")
    for key in _SUBSCHEMA_ONE:
        if isinstance(schema.get(key), dict):
            yield from iter_subschemas(schema[key], f"{loc}/{key}")


def _examples_of(doc: dict[str, Any], loc: str, obj: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    if "example" in obj:
        yield f"{loc}/example", obj["example"]
    for name, ex in (obj.get("examples") or {}).items():
        ex = deref(doc, ex)
        if "value" in ex:
            yield f"{loc}/examples/{name}", ex["value"]


def iter_top_schemas(doc: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any], list[tuple[str, Any]]]]:
    """Every schema the document attaches to something, with the examples given beside it."""

    def media(loc: str, content: dict[str, Any]) -> Iterator:
        for ctype, m in (content or {}).items():
            if "schema" in m:
                yield f"{loc}/content/{ctype}", m["schema"], list(_examples_of(doc, f"{loc}/{ctype}", m))

    def param(loc: str, p: dict[str, Any]) -> Iterator:
        if "$ref" in p:
            return  # checked where it is defined
        if "schema" in p:
            yield f"{loc}/{p.get('name', '')}", p["schema"], list(_examples_of(doc, loc, p))
        yield from media(loc, p.get("content"))

    def response(loc: str, r: dict[str, Any]) -> Iterator:
        if "$ref" in r:
            return
        yield from media(loc, r.get("content"))
        for name, h in (r.get("headers") or {}).items():
            yield from param(f"{loc}/headers/{name}", h)

    def operation(loc: str, item: dict[str, Any], op: dict[str, Any]) -> Iterator:
        for i, p in enumerate([*item.get("parameters", []), *op.get("parameters", [])]):
            yield from param(f"{loc}/parameters/{i}", p)
        body = op.get("requestBody")
        if body and "$ref" not in body:
            yield from media(f"{loc}/requestBody", body.get("content"))
        for status, r in (op.get("responses") or {}).items():
            yield from response(f"{loc}/responses/{status}", r)

    for section in ("paths", "webhooks"):
        for path, method, item, op in operations(doc, section):
            yield from operation(f"{section}/{path}/{method}", item, op)
    comps = doc.get("components", {})
    for name, p in (comps.get("parameters") or {}).items():
        yield from param(f"components/parameters/{name}", p)
    for name, h in (comps.get("headers") or {}).items():
        yield from param(f"components/headers/{name}", h)
    for name, r in (comps.get("responses") or {}).items():
        yield from response(f"components/responses/{name}", r)
    for name, b in (comps.get("requestBodies") or {}).items():
        yield from media(f"components/requestBodies/{name}", b.get("content"))
    for name, s in (comps.get("schemas") or {}).items():
        yield f"components/schemas/{name}", s, []


def walk(node: Any, loc: str = "") -> Iterator[tuple[str, Any, Any]]:
    if isinstance(node, dict):
        for k, v in node.items():
            yield loc, k, v
            yield from walk(v, f"{loc}/{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from walk(v, f"{loc}/{i}")


def describes_shape(loc: str) -> bool:
    """False for subschemas that only test a condition (`if`, `not`), which need not be closed."""
    parts = loc.split("/")
    return "if" not in parts and "not" not in parts


def response_schemas(doc: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for path, method, _, op in operations(doc):
        for status, r in (op.get("responses") or {}).items():
            r = deref(doc, r)
            for ctype, m in (r.get("content") or {}).items():
                if "schema" in m:
                    yield f"{method.upper()} {path} {status} {ctype}", m["schema"]


def reachable_schemas(doc: dict[str, Any], schema: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every schema reachable from `schema`, following $ref (each component once)."""
    seen: set[str] = set()
    todo: list[tuple[str, dict[str, Any]]] = [("", schema)]
    while todo:
        loc, s = todo.pop()
        for sub_loc, sub in iter_subschemas(s, loc):
            yield sub_loc, sub
            ref = sub.get("$ref")
            if isinstance(ref, str) and ref not in seen:
                seen.add(ref)
                todo.append((ref, pointer(doc, ref)))


# ---------------------------------------------------------------- seeds


def hubby_seed_examples(reference: Callable[[str], Path]) -> list[dict[str, Any]]:
    text = reference(HUBBY_SEED).read_text(encoding="utf-8")
    decoder = json.JSONDecoder()
    return [decoder.raw_decode(text, m.start())[0] for m in re.finditer(r'\{\s*"event"\s*:', text)]


def bumblebee_seed_examples(reference: Callable[[str], Path]) -> dict[str, dict[str, Any]]:
    text = reference(BUMBLEBEE_SEED).read_text(encoding="utf-8")
    decoder = json.JSONDecoder()
    out = {}
    for m in re.finditer(r"Data type\s*\n\s*(\S+)\s*\n\s*Body\s*\n", text):
        out[m.group(1)] = decoder.raw_decode(text, text.index("{", m.end()))[0]
    return out


# ---------------------------------------------------------------- every document


@pytest.mark.parametrize("name", DOCUMENTS)
def test_document_is_valid_openapi_31(name: str) -> None:
    doc = load(name)
    assert doc["openapi"] == "3.1.0"
    validate(doc, cls=OpenAPIV31SpecValidator)


@pytest.mark.parametrize("name", DOCUMENTS)
def test_document_loads_with_openapi_core(name: str) -> None:
    OpenAPI.from_file_path(str(RESOURCES / name))


@pytest.mark.parametrize("name", DOCUMENTS)
def test_no_nullable_and_only_local_component_refs(name: str) -> None:
    doc = load(name)
    problems = []
    for loc, key, value in walk(doc):
        if key == "nullable":
            problems.append(f"{loc}: `nullable` is OpenAPI 3.0; use type: [x, 'null']")
        if key == "$ref":
            if not (isinstance(value, str) and value.startswith("#/components/")):
                problems.append(f"{loc}: $ref {value!r} does not point into #/components/")
                continue
            try:
                pointer(doc, value)
            except (KeyError, IndexError, TypeError):
                problems.append(f"{loc}: $ref {value!r} does not resolve")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("name", DOCUMENTS)
def test_every_component_schema_compiles_wrapped(name: str) -> None:
    doc = load(name)
    names = list(doc["components"]["schemas"])
    assert names
    for schema_name in names:
        validator = component(doc, schema_name)
        assert validator is not None, schema_name


@pytest.mark.parametrize("name", DOCUMENTS)
def test_every_attached_schema_compiles(name: str) -> None:
    doc = load(name)
    count = 0
    for loc, schema, _ in iter_top_schemas(doc):
        try:
            compile_schema(doc, schema)
        except Exception as exc:
            pytest.fail(f"{loc}: {exc}")
        count += 1
    assert count > 0


@pytest.mark.parametrize("name", DOCUMENTS)
def test_every_example_and_default_validates(name: str) -> None:
    doc = load(name)
    problems, checked = [], 0
    for loc, schema, examples in iter_top_schemas(doc):
        for ex_loc, value in examples:
            checked += 1
            problems += [f"{ex_loc}: {e}" for e in errors(compile_schema(doc, schema), value)]
        for sub_loc, sub in iter_subschemas(schema, loc):
            values = [(f"{sub_loc}/examples/{i}", v) for i, v in enumerate(sub.get("examples") or [])]
            if "example" in sub:
                values.append((f"{sub_loc}/example", sub["example"]))
            if "default" in sub:
                values.append((f"{sub_loc}/default", sub["default"]))
            for ex_loc, value in values:
                checked += 1
                problems += [f"{ex_loc}: {e}" for e in errors(compile_schema(doc, sub), value)]
    assert checked > 0
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("name", [HUBBY, BB_SANDBOX])
def test_response_objects_are_closed(name: str) -> None:
    doc = load(name)
    open_objects = set()
    for where, schema in response_schemas(doc):
        for loc, sub in reachable_schemas(doc, schema):
            if "properties" in sub and describes_shape(loc) and sub.get("additionalProperties") is not False:
                open_objects.add(f"{loc or where}")
    assert not open_objects, "response objects without additionalProperties: false:\n" + "\n".join(
        sorted(open_objects)
    )


@pytest.mark.parametrize("name", [HUBBY, BB_WEBHOOKS])
def test_webhook_payloads_are_closed_and_exemplified(name: str) -> None:
    doc = load(name)
    assert doc.get("webhooks")
    for event, _, _, op in operations(doc, "webhooks"):
        media = op["requestBody"]["content"]["application/json"]
        assert "example" in media or media.get("examples"), f"{event}: no example"
        for loc, sub in reachable_schemas(doc, media["schema"]):
            if "properties" in sub and describes_shape(loc):
                assert sub.get("additionalProperties") is False, f"{event} {loc}: open object"


# ---------------------------------------------------------------- Hubby


def test_hubby_covers_every_reference_operation(reference: Callable[[str], Path]) -> None:
    doc = yaml.safe_load(reference(HUBBY_REFERENCE).read_text(encoding="utf-8"))
    wanted = {op["operationId"] for _, _, _, op in operations(doc)}
    ours = {op["operationId"] for _, _, _, op in operations(load(HUBBY))}
    assert wanted, "no operationId found in the reference"
    assert not wanted - ours, f"missing operations: {sorted(wanted - ours)}"


def test_hubby_servers_paths_and_security() -> None:
    doc = load(HUBBY)
    assert doc["servers"] == [{"url": "/hubby/api"}] or [s["url"] for s in doc["servers"]] == ["/hubby/api"]
    assert not any(p.startswith("/api/") for p in doc["paths"])
    schemes = doc["components"]["securitySchemes"]
    headers = {s["name"] for s in schemes.values() if s["type"] == "apiKey"}
    assert headers == {"x-api-key", "x-timestamp", "x-signature"}
    assert all(s["in"] == "header" for s in schemes.values() if s["type"] == "apiKey")
    assert schemes["WebappBearer"] == {**schemes["WebappBearer"], "type": "http", "scheme": "bearer"}
    assert doc["security"] == [{"ApiKey": [], "Timestamp": [], "Signature": []}]
    assert doc["paths"]["/promo-codes/claim/{uuid}"]["post"]["security"] == []
    assert doc["paths"]["/webapp/me/dashboard"]["get"]["security"] == [{"WebappBearer": []}]


def test_hubby_every_operation_documents_its_errors() -> None:
    doc = load(HUBBY)
    problems = []
    for path, method, _, op in operations(doc):
        where = f"{method.upper()} {path}"
        responses = op["responses"]
        security = op.get("security", doc["security"])
        wanted = {"400", "429", "500", "503"}
        if security:
            wanted.add("401")
        if "{" in path:
            wanted.add("404")
        if missing := wanted - set(responses):
            problems.append(f"{where}: missing {sorted(missing)}")
        for status, r in responses.items():
            if status.startswith(("4", "5")):
                schema = deref(doc, r)["content"]["application/json"]["schema"]
                if schema != {"$ref": "#/components/schemas/ErrorResponse"}:
                    problems.append(f"{where} {status}: not ErrorResponse")
            elif status.startswith("2"):
                schema = deref(doc, deref(doc, r)["content"]["application/json"]["schema"])
                if schema["properties"].get("success") != {"const": True}:
                    problems.append(f"{where} {status}: not a success envelope")
    assert not problems, "\n".join(problems)


def test_hubby_error_envelope() -> None:
    doc = load(HUBBY)
    v = component(doc, "ErrorResponse")
    assert v.is_valid({"success": False, "message": "Invalid signature"})
    assert v.is_valid({"success": False, "message": "x", "errors": [{"field": "phone", "message": "bad"}]})
    assert not v.is_valid({"success": True, "message": "x"})
    assert not v.is_valid({"success": False})
    assert not v.is_valid({"success": False, "message": "x", "errors": [{"field": "phone"}]})
    assert not v.is_valid({"success": False, "message": "x", "detail": "extra"})


def test_hubby_request_bodies_stay_open() -> None:
    """Hubby strips unknown fields instead of rejecting them."""
    doc = load(HUBBY)
    for path, method, _, op in operations(doc):
        if "requestBody" not in op:
            continue
        for loc, sub in reachable_schemas(doc, op["requestBody"]["content"]["application/json"]["schema"]):
            assert sub.get("additionalProperties", True) is not False, f"{method} {path} {loc}"


VALID_BOOKING = {
    "departure_date": "2026-07-15T14:30:00+02:00",
    "booking_id": "EVENT-001",
    "package_specifications": [{"destination": "TUR", "size": "1GB", "package_type": "data-limited"}],
}


@pytest.mark.parametrize(
    "change",
    [
        {"phone": "+31612345678", "title": "MRS.", "gender": "F", "pax": 2, "flight_number": "KL1775"},
        {"locale": "nl-NL", "return_date": "2026-07-29", "unknown_field": "dropped, not rejected"},
        {"booking_id": None, "email": "a@example.com"},
        {"package_specifications": [{"package_id": "pkg_1"}, {"destination": ["FR", "IT"]}, {}]},
    ],
)
def test_hubby_booking_create_accepts(change: dict[str, Any]) -> None:
    v = component(load(HUBBY), "BookingCreateRequest")
    body = {**VALID_BOOKING, **change}
    assert not errors(v, body)


@pytest.mark.parametrize(
    "change",
    [
        {"departure_date": None},
        {"departure_date": "15/07/2026"},
        {"departure_date": "2026-13-45"},
        {"departure_date": "2026-07-15T25:61:00+02:00"},
        {"return_date": "tomorrow"},
        {"booking_id": "ab"},
        {"booking_id": None},
        {"phone": "0612345678"},
        {"phone": "+\u0663\u0661\u0666\u0661\u0662\u0663\u0664"},  # Arabic-Indic digits
        {"title": "sir"},
        {"gender": "X"},
        {"pax": 0},
        {"flight_number": "KL 1775"},
        {"locale": "english"},
        {"package_specifications": []},
        {"package_specifications": [{"size": "1TB"}]},
        {"package_specifications": [{"destination": "tur"}]},
        {"package_specifications": [{"package_type": "weekly"}]},
    ],
)
def test_hubby_booking_create_rejects(change: dict[str, Any]) -> None:
    v = component(load(HUBBY), "BookingCreateRequest")
    body = {k: v2 for k, v2 in {**VALID_BOOKING, **change}.items() if v2 is not None}
    if change == {"booking_id": None}:
        body.pop("email", None)  # neither email nor booking_id
    assert errors(v, body), f"accepted {body}"


def test_hubby_webhooks_are_the_nine_events() -> None:
    doc = load(HUBBY)
    assert set(doc["webhooks"]) == set(HUBBY_EVENTS)
    for event, schema_name in HUBBY_EVENTS.items():
        op = doc["webhooks"][event]["post"]
        media = op["requestBody"]["content"]["application/json"]
        assert media["schema"] == {"$ref": f"#/components/schemas/{schema_name}"}
        params = [deref(doc, p) for p in op["parameters"]]
        assert any(p["in"] == "header" and p["name"] == "x-api-key" and p["required"] for p in params)
        v = component(doc, schema_name)
        assert media["example"]["event"] == event
        assert not errors(v, media["example"])
        wrong = {**media["example"], "event": "something.else"}
        assert not v.is_valid(wrong)
        assert not v.is_valid({k: val for k, val in media["example"].items() if k != "timestamp"})


def test_hubby_seed_webhook_examples_validate_and_match(reference: Callable[[str], Path]) -> None:
    examples = hubby_seed_examples(reference)
    doc = load(HUBBY)
    by_event = {ex["event"]: ex for ex in examples}
    assert set(by_event) == set(HUBBY_EVENTS), "the seed should publish one example per 2.0.0 event"
    for event, example in by_event.items():
        v = component(doc, HUBBY_EVENTS[event])
        assert not errors(v, example), event
        ours = doc["webhooks"][event]["post"]["requestBody"]["content"]["application/json"]["example"]
        assert ours == example, f"{event}: document example differs from the seed"


def test_hubby_usage_percent_is_a_threshold() -> None:
    v = component(load(HUBBY), "PackageUsageData")
    assert v.is_valid({"usage_percent": 50})
    assert not v.is_valid({"usage_percent": 30})
    assert not v.is_valid({"package_type": "weekly"})


# ---------------------------------------------------------------- Bumblebee webhooks


def test_bumblebee_webhooks_document_shape() -> None:
    doc = load(BB_WEBHOOKS)
    assert doc["paths"] == {}
    assert set(doc["webhooks"]) == set(BB_DATA_TYPES)
    for data_type, schema_name in BB_DATA_TYPES.items():
        op = doc["webhooks"][data_type]["post"]
        names = {deref(doc, p)["name"]: deref(doc, p) for p in op["parameters"]}
        assert set(names) == {"Content-Type", "User-Agent", "X-Request-ID"}
        assert all(p["in"] == "header" and p["required"] for p in names.values())
        media = op["requestBody"]["content"]["application/json"]
        assert media["schema"] == {"$ref": f"#/components/schemas/{schema_name}"}
        assert set(op["responses"]) == {"2XX", "4XX", "5XX"}


def test_bumblebee_user_agent_pattern() -> None:
    doc = load(BB_WEBHOOKS)
    v = compile_schema(doc, doc["components"]["parameters"]["UserAgent"]["schema"])
    assert v.is_valid("Bumblebee v0.11.0 webhooks")
    assert v.is_valid("Bumblebee v12.3.45 webhooks")
    for bad in ("Bumblebee v0.11 webhooks", "curl/8.0", "Bumblebee v0.11.0 webhooks extra"):
        assert not v.is_valid(bad), bad


def test_bumblebee_seed_examples_validate_and_match(reference: Callable[[str], Path]) -> None:
    examples = bumblebee_seed_examples(reference)
    assert set(examples) == set(BB_DATA_TYPES), "the seed should give one body per data type"
    doc = load(BB_WEBHOOKS)
    any_body = component(doc, "WebhookBody")
    for data_type, example in examples.items():
        assert example["data_type"] == data_type
        assert not errors(component(doc, BB_DATA_TYPES[data_type]), example), data_type
        assert not errors(any_body, example), data_type
        media = doc["webhooks"][data_type]["post"]["requestBody"]["content"]["application/json"]
        assert media["examples"]["documented"]["value"] == example, f"{data_type}: differs from the seed"


def test_bumblebee_optional_nodes_follow_the_documentation() -> None:
    doc = load(BB_WEBHOOKS)
    media = {
        dt: doc["webhooks"][dt]["post"]["requestBody"]["content"]["application/json"]["examples"][
            "documented"
        ]["value"]
        for dt in BB_DATA_TYPES
    }
    message_info = media["geo_location/create"]["message_info"]
    for data_type, schema_name in BB_DATA_TYPES.items():
        v = component(doc, schema_name)
        body = media[data_type]
        # asset and node may each be left out (unknown asset / unknown node)
        assert not errors(v, {k: val for k, val in body.items() if k not in ("asset", "node")})
        if data_type in ("battery_level/update", "sigfox_message_info/create"):
            assert not v.is_valid({**body, "message_info": message_info}), (
                f"{data_type} must not carry message_info"
            )
        else:
            assert not v.is_valid({k: val for k, val in body.items() if k != "message_info"})
        assert not v.is_valid({**body, "data_type": "Type"})


def test_bumblebee_data_constraints() -> None:
    doc = load(BB_WEBHOOKS)
    battery = component(doc, "BatteryLevelData")
    assert battery.is_valid({"recorded_at": "2021-01-01T13:00:00.000+01:00", "percentage": 85})
    assert not battery.is_valid({"recorded_at": "2021-01-01T13:00:00.000+01:00", "percentage": 87})
    geo = component(doc, "GeoLocationData")
    fix = {"id": "a", "latitude": 52.2, "longitude": 6.1, "recorded_at": "2021-01-01T13:00:00.000+01:00"}
    assert geo.is_valid(fix)
    assert not geo.is_valid({**fix, "latitude": 91})
    assert not geo.is_valid({**fix, "longitude": -181})
    sensor = component(doc, "SensorRawValue")
    assert sensor.is_valid(4095) and not sensor.is_valid(4096)
    config = component(doc, "NodeConfiguration")
    base = {"id": "Ref001", "name": "n", "behavior_id": "b", "behavior_version": 1}
    assert config.is_valid({**base, "behavior_profile": "unless", "trigger_type": "motion"})
    assert config.is_valid({**base, "behavior_profile": "default"})
    assert not config.is_valid({**base, "behavior_profile": "default", "trigger_type": "motion"})


# ---------------------------------------------------------------- Bumblebee sandbox API


def test_bumblebee_sandbox_shape() -> None:
    doc = load(BB_SANDBOX)
    assert [s["url"] for s in doc["servers"]] == ["/bumblebee"]
    assert doc["security"] == []
    ops = {(m.upper(), p): op["operationId"] for p, m, _, op in operations(doc)}
    assert set(ops) == {
        ("POST", "/webhooks"),
        ("GET", "/webhooks"),
        ("GET", "/webhooks/{webhook_id}"),
        ("PATCH", "/webhooks/{webhook_id}"),
        ("DELETE", "/webhooks/{webhook_id}"),
        ("GET", "/webhooks/{webhook_id}/messages"),
        ("POST", "/webhooks/{webhook_id}/messages/{message_id}/resend"),
    }
    assert "201" in doc["paths"]["/webhooks"]["post"]["responses"]
    assert set(doc["paths"]["/webhooks/{webhook_id}"]["delete"]["responses"]) >= {"204", "404"}
    for path, method, _, op in operations(doc):
        statuses = set(op["responses"])
        assert {"400", "500", "503"} <= statuses, f"{method} {path}"
        if "{" in path:
            assert "404" in statuses, f"{method} {path}"
        for status, r in op["responses"].items():
            if status[0] in "45":
                assert deref(doc, r)["content"]["application/json"]["schema"] == {
                    "$ref": "#/components/schemas/Error"
                }


@pytest.mark.parametrize(
    "body",
    [
        {"url": "https://r.example.com/hook", "data_types": ["geo_location/create"]},
        {
            "url": "http://localhost:9000/x?y=1",
            "data_types": ["battery_level/update", "sigfox_message_info/create"],
            "headers": {"Authorization": "Bearer x", "X-Tenant": "7"},
            "description": None,
            "enabled": False,
        },
    ],
)
def test_bumblebee_sandbox_create_accepts(body: dict[str, Any]) -> None:
    assert not errors(component(load(BB_SANDBOX), "WebhookCreate"), body)


@pytest.mark.parametrize(
    "change",
    [
        {"url": "ftp://r.example.com/hook"},
        {"url": "not a url"},
        {"data_types": []},
        {"data_types": ["geo_location/create", "geo_location/create"]},
        {"data_types": ["gps"]},
        {"headers": {"Content-Type": "text/plain"}},
        {"headers": {"user-agent": "me"}},
        {"headers": {"X-REQUEST-ID": "1"}},
        {"headers": {"Bad Header": "1"}},
        {"headers": {"X-Ok": "line\r\nInjected: 1"}},
        {"headers": {"X-Ok": 1}},
        {"headers": {"X-Ok": "caf\u00e9"}},
        {"enabled": "yes"},
        {"unknown": 1},
    ],
)
def test_bumblebee_sandbox_create_rejects(change: dict[str, Any]) -> None:
    body = {"url": "https://r.example.com/hook", "data_types": ["geo_location/create"], **change}
    assert errors(component(load(BB_SANDBOX), "WebhookCreate"), body), f"accepted {body}"


def test_bumblebee_sandbox_message_attempts() -> None:
    doc = load(BB_SANDBOX)
    attempt = component(doc, "Attempt")
    ok = {"at": "2026-01-05T10:00:00Z", "status": 200, "latency_ms": 3, "error": None}
    assert attempt.is_valid(ok)
    assert attempt.is_valid({**ok, "status": None})
    assert not attempt.is_valid({**ok, "error": "x" * 751})
    assert not attempt.is_valid({k: v for k, v in ok.items() if k != "error"})
    state = component(doc, "MessageState")
    assert all(state.is_valid(s) for s in ("pending", "sent", "failed", "canceled"))
    assert not state.is_valid("cancelled")
    params = {p["name"]: p for p in doc["paths"]["/webhooks/{webhook_id}/messages"]["get"]["parameters"]}
    assert set(params) == {"state", "limit"}


# ---------------------------------------------------------------- X-Request-ID on every response

HUBBLE = "hubble-openapi.yaml"
# headers any HTTP server adds; everything else the fake sends must be in the spec
STANDARD_RESPONSE_HEADERS = {
    "content-type",
    "content-length",
    "date",
    "server",
    "allow",
    "location",
    "www-authenticate",
}


@pytest.mark.parametrize("name", [HUBBY, BB_SANDBOX, HUBBLE])
def test_every_response_documents_x_request_id(name: str) -> None:
    """The shared pipeline sends X-Request-ID on every response of every API (and echoes
    the caller's own), so every response of every operation must document it."""
    doc = load(name)
    problems, checked = [], 0
    for path, method, item, op in operations(doc):
        where = f"{method.upper()} {path}"
        params = [deref(doc, p) for p in [*item.get("parameters", []), *op.get("parameters", [])]]
        if not any(p["in"] == "header" and p["name"].lower() == "x-request-id" for p in params):
            problems.append(f"{where}: no X-Request-ID request header parameter")
        for status, r in op["responses"].items():
            checked += 1
            headers = {k.lower(): deref(doc, h) for k, h in (deref(doc, r).get("headers") or {}).items()}
            header = headers.get("x-request-id")
            if header is None:
                problems.append(f"{where} {status}: X-Request-ID not documented")
            elif not header.get("required") or deref(doc, header["schema"]).get("type") != "string":
                problems.append(f"{where} {status}: X-Request-ID must be a required string")
    assert checked > 0
    assert not problems, "\n".join(problems)


def _undocumented_headers(spec: Any, mount: str, response: Any) -> list[str]:
    from mockserver.kernel.spec import NoRoute  # noqa: PLC0415

    path = response.request.url.path
    assert path.startswith(mount), path
    where = f"{response.request.method} {path} -> {response.status_code}"
    try:
        op, _ = spec.match(response.request.method, path[len(mount) :])
    except NoRoute:
        return [f"{where}: no operation in the spec"]
    documented = op.response(response.status_code)
    if documented is None:
        return [f"{where}: status not documented for {op.operation_id}"]
    return [
        f"{where}: header `{name}` not documented for {op.operation_id} {response.status_code}"
        for name in response.headers.keys()
        if name.lower() not in STANDARD_RESPONSE_HEADERS and name.lower() not in documented.headers
    ]


def test_live_response_headers_are_documented() -> None:
    """One success and one failure per API against a strict demo server: every non-standard
    header the fake sends is documented for that operation and status."""
    import httpx  # noqa: PLC0415

    from mockserver.kernel.spec import Spec  # noqa: PLC0415
    from mockserver.settings import Settings  # noqa: PLC0415
    from mockserver.testing import HubbySigner, MockServer  # noqa: PLC0415

    specs = {
        "hubble": (Spec.from_resource("hubble", HUBBLE), "/hubble"),
        "hubby": (Spec.from_resource("hubby", HUBBY), "/hubby/api"),
        "bumblebee": (Spec.from_resource("bumblebee", BB_SANDBOX), "/bumblebee"),
    }
    with MockServer(Settings(scenario="demo", strict=True)) as server:
        creds = server.credentials()
        hubble = creds["hubble"]
        devices = f"{server.hubble_url}/api/org/{hubble['org_id']}/devices"
        hubby = creds["hubby"]
        signer = HubbySigner(hubby["api_key"], hubby["secret"], clock_ms=server.runtime.clock.now_ms)
        with httpx.Client(timeout=30, trust_env=False) as c:
            calls = {
                "hubble": [
                    (c.get(devices, headers={"Authorization": f"Bearer {hubble['token']}"}), 200),
                    (c.get(devices, headers={"Authorization": "Bearer nope"}), 401),
                ],
                "hubby": [
                    (c.get(f"{server.hubby_url}/bookings", auth=signer), 200),
                    (c.get(f"{server.hubby_url}/bookings"), 401),
                ],
                "bumblebee": [
                    (c.get(f"{server.bumblebee_url}/webhooks", headers={"X-Request-ID": "trace-me-1"}), 200),
                    (c.get(f"{server.bumblebee_url}/webhooks/nope"), 404),
                ],
            }
    problems = []
    for api, pairs in calls.items():
        spec, mount = specs[api]
        for response, status in pairs:
            assert response.status_code == status, f"{api}: {response.status_code} {response.text}"
            assert response.headers.get("x-request-id"), f"{api} {status}: no X-Request-ID"
            problems += _undocumented_headers(spec, mount, response)
    assert calls["bumblebee"][0][0].headers["x-request-id"] == "trace-me-1"
    assert not problems, "\n".join(problems)
