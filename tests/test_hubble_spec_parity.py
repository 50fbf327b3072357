"""Our Hubble contract (resources/hubble-openapi.yaml) against the vendor document and the SDK.

Checks that every vendor operation, parameter, request field, status code and success field is
present in our document with a compatible type; that our additions (auth, errors, headers,
off-spec SDK calls) are complete; that every schema compiles the way the server compiles it; and
that documented examples validate, except where the errata say the vendor's example is wrong.
"""

from __future__ import annotations

import base64
import re
import time
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
import yaml
from openapi_core import OpenAPI
from openapi_spec_validator import OpenAPIV31SpecValidator

REPO = Path(__file__).resolve().parents[1]
OUR_SPEC = REPO / "resources" / "hubble-openapi.yaml"

METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
ERROR_CODES = ("400", "401", "403", "404", "429", "500", "503")
STANDARD_HEADERS = ("X-Request-ID", "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")
ORG = "7db20441-a04c-49ba-8089-1197b3a66a4b"
DEVICE = "6ea53e36-b7fb-429f-8c2e-d536cab71089"

# Calls the official SDK makes that the vendor document lacks (hubble-real-client.md).
SDK_OFF_SPEC_CALLS = {
    ("delete", "/api/org/{org_id}/devices/{device_id}"),
    ("post", "/api/org/{org_id}/packets"),
    ("post", "/api/org/{org_id}/packets/decode"),
}

# Deliberate type corrections of vendor fields: where -> reason. Each must still be a real
# difference (the test fails when an entry goes stale).
TYPE_CORRECTIONS = {
    "provision-api-key request.scopes": "vendor: one scope string; its example and the key object use a list",
    "update-api-key request.set_scopes": "vendor: one scope string; its example and the key object use a list",
    "update-organization-metadata request.set_address.country": "errata: ISO 3166 code typed number",
    "update-organization-metadata 200 application/json.address.country": "errata: country typed number",
    "retrieve-organization-metadata 200 application/json.address.country": "errata: country typed number",
}

# Vendor examples that are wrong according to hubble-spec-errata.md: (operationId, where, name).
KNOWN_BAD_VENDOR_EXAMPLES = {
    ("batch-update-devices", "request", "updateNames"): "errata: device id 7fb64f47-c8gc-... is not a UUID",
    ("batch-update-devices", "request", "updateTags"): "errata: device id 7fb64f47-c8gc-... is not a UUID",
    ("batch-update-devices", "200", "success"): "errata: non-UUID device id (and no SDK field `active`)",
}


# ---------------------------------------------------------------- loading and helpers


@cache
def _load(path: Path) -> dict:
    with path.open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)


@pytest.fixture(scope="module")
def ours() -> dict:
    return _load(OUR_SPEC)


@pytest.fixture
def vendor(hubble_vendor_spec: Path) -> dict:
    return _load(hubble_vendor_spec)


def operations(doc: dict):
    """Yield (path, method, operation, path_item) for every operation under `paths`."""
    for path, item in doc.get("paths", {}).items():
        for method in METHODS:
            if method in item:
                yield path, method, item[method], item


def op_index(doc: dict) -> dict[tuple[str, str], dict]:
    return {(method, path): op for path, method, op, _ in operations(doc)}


def deref(doc: dict, node: Any) -> Any:
    """Follow local $refs; sibling keywords of a $ref are merged over the target."""
    seen = 0
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        assert ref.startswith("#/"), f"non-local $ref {ref}"
        target: Any = doc
        for part in ref[2:].split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        siblings = {k: v for k, v in node.items() if k != "$ref"}
        node = {**target, **siblings} if siblings else target
        seen += 1
        assert seen < 20, f"$ref loop at {ref}"
    return node


def params_of(doc: dict, op: dict, item: dict) -> dict[tuple[str, str], dict]:
    out = {}
    for raw in list(item.get("parameters", [])) + list(op.get("parameters", [])):
        param = deref(doc, raw)
        out[(param["name"], param["in"])] = param
    return out


def json_types(doc: dict, schema: Any) -> set[str]:
    schema = deref(doc, schema)
    if not isinstance(schema, dict):
        return set()
    types: set[str] = set()
    declared = schema.get("type")
    if isinstance(declared, list):
        types.update(declared)
    elif declared:
        types.add(declared)
    if schema.get("nullable"):
        types.add("null")
    for key in ("allOf", "anyOf", "oneOf"):
        for sub in schema.get(key, []):
            types |= json_types(doc, sub)
    if not types and "properties" in schema:
        types.add("object")
    return types


def properties_of(doc: dict, schema: Any) -> dict[str, Any]:
    schema = deref(doc, schema)
    props = dict(schema.get("properties", {}))
    for key in ("allOf", "anyOf", "oneOf"):
        for sub in schema.get(key, []):
            props.update(properties_of(doc, sub))
    return props


def items_of(doc: dict, schema: Any) -> Any:
    schema = deref(doc, schema)
    if "items" in schema:
        return schema["items"]
    for key in ("allOf", "anyOf", "oneOf"):
        for sub in schema.get(key, []):
            found = items_of(doc, sub)
            if found is not None:
                return found
    return None


def types_compatible(vendor_types: set[str], our_types: set[str]) -> bool:
    if not vendor_types or not our_types:
        return True
    for t in vendor_types:
        if t in our_types:
            continue
        if t == "number" and "integer" in our_types:  # narrowed: counts, ids
            continue
        if t == "integer" and "number" in our_types:
            continue
        return False
    return True


def compare(vdoc: dict, vschema: Any, odoc: dict, oschema: Any, where: str, problems: list, depth=0):
    """Every vendor property must exist in ours with a compatible type (recursively)."""
    assert depth < 15, f"schema nesting too deep at {where}"
    vtypes, otypes = json_types(vdoc, vschema), json_types(odoc, oschema)
    if not types_compatible(vtypes, otypes):
        problems.append((where, f"vendor {sorted(vtypes)} vs ours {sorted(otypes)}"))
        return
    if "array" in vtypes:
        vitems, oitems = items_of(vdoc, vschema), items_of(odoc, oschema)
        if vitems is not None:
            if oitems is None:
                problems.append((where + "[]", "vendor has array items, ours none"))
            else:
                compare(vdoc, vitems, odoc, oitems, where + "[]", problems, depth + 1)
    vprops = properties_of(vdoc, vschema)
    oprops = properties_of(odoc, oschema)
    for name, vprop in vprops.items():
        if name not in oprops:
            problems.append((f"{where}.{name}", "missing in ours"))
            continue
        compare(vdoc, vprop, odoc, oprops[name], f"{where}.{name}", problems, depth + 1)


def split_corrections(problems: list[tuple[str, str]]) -> tuple[list, set[str]]:
    real = [p for p in problems if p[0] not in TYPE_CORRECTIONS]
    hit = {p[0] for p in problems if p[0] in TYPE_CORRECTIONS}
    return real, hit


def validator_for(doc: dict, schema: Any) -> jsonschema_rs.Draft202012Validator:
    """Compile as the server does: the schema under a root that carries our components."""
    wrapped = {"allOf": [schema], "components": doc["components"]}
    return jsonschema_rs.Draft202012Validator(wrapped, validate_formats=True)


def example_values(media: dict) -> list[tuple[str, Any]]:
    found = []
    if "example" in media:
        found.append(("example", media["example"]))
    for name, ex in (media.get("examples") or {}).items():
        if isinstance(ex, dict) and "value" in ex:
            found.append((name, ex["value"]))
    return found


def walk(node: Any, trail=()):
    yield trail, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from walk(value, (*trail, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from walk(value, (*trail, i))


# ---------------------------------------------------------------- our document on its own


def test_our_doc_is_valid_openapi_31(ours):
    assert str(ours["openapi"]).startswith("3.1")
    errors = [str(e.message) for e in OpenAPIV31SpecValidator(ours).iter_errors()]
    assert errors == []
    OpenAPI.from_file_path(str(OUR_SPEC))  # loads and resolves with openapi-core
    assert ours["servers"] == [{"url": "/hubble", **{k: v for k, v in ours["servers"][0].items() if k != "url"}}]


def test_refs_are_local_and_resolve(ours):
    for trail, node in walk(ours):
        if isinstance(node, dict) and "$ref" in node:
            assert node["$ref"].startswith("#/components/"), f"{trail}: {node['$ref']}"
            deref(ours, {"$ref": node["$ref"]})


def test_no_openapi_30_leftovers(ours):
    for trail, node in walk(ours):
        if isinstance(node, dict):
            assert "nullable" not in node, f"3.0 keyword `nullable` at {trail}"
            assert node.get("format") not in ("binary", "byte"), f"3.0-style format at {trail}"


def test_every_schema_compiles_like_the_server_does(ours):
    comps = ours["components"]
    for name in comps["schemas"]:
        jsonschema_rs.Draft202012Validator({"$ref": f"#/components/schemas/{name}", "components": comps})
    for trail, node in walk(ours["paths"]):
        if trail and trail[-1] == "schema" and isinstance(node, dict):
            validator_for(ours, node)


def test_scopes_are_listed_once_and_used(ours):
    scheme = ours["components"]["securitySchemes"]["BearerAuth"]
    assert scheme["type"] == "http" and scheme["scheme"] == "bearer"
    assert ours["security"] == [{"BearerAuth": []}]
    scopes = scheme["x-scopes"]
    assert len(scopes) == 16 == len(set(scopes))
    assert ours["components"]["schemas"]["Scope"]["enum"] == scopes
    for path, method, op, _ in operations(ours):
        assert "x-required-scope" in op, f"{method} {path} lacks x-required-scope"
        scope = op["x-required-scope"]
        assert scope is None or scope in scopes, f"{op['operationId']}: unknown scope {scope}"
        if op.get("security") == []:
            assert scope is None, f"{op['operationId']} takes no key but names a scope"


def test_every_operation_documents_its_errors(ours):
    for path, method, op, _ in operations(ours):
        codes = set(op["responses"])
        missing = set(ERROR_CODES) - codes
        assert not missing, f"{op['operationId']} lacks {sorted(missing)}"
        if "requestBody" in op:
            assert "413" in codes, f"{op['operationId']} takes a body but lacks 413"
        for code in (*ERROR_CODES, "413"):
            if code not in codes:
                continue
            resp = deref(ours, op["responses"][code])
            schema = resp["content"]["application/json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/Error"}, f"{op['operationId']} {code}"
        assert "Retry-After" in deref(ours, op["responses"]["429"])["headers"], f"{method} {path} 429"


def test_error_schema_shape(ours):
    err = ours["components"]["schemas"]["Error"]
    assert err["additionalProperties"] is False
    assert set(err["required"]) == {"code", "description", "name"} == set(err["properties"])
    assert err["properties"]["code"]["type"] == "integer"
    names = set(err["properties"]["name"]["enum"])
    assert {
        "Bad Request", "Unauthorized", "Forbidden", "Not Found", "Method Not Allowed",
        "Payload Too Large", "Too Many Requests", "Internal Server Error", "Service Unavailable",
    } <= names


def test_every_response_documents_standard_headers(ours):
    headers = ours["components"]["headers"]
    for name in (*STANDARD_HEADERS, "Retry-After", "Continuation-Token"):
        assert name in headers
    for path, method, op, item in operations(ours):
        for code, raw in op["responses"].items():
            resp = deref(ours, raw)
            for name in STANDARD_HEADERS:
                assert resp.get("headers", {}).get(name) == {"$ref": f"#/components/headers/{name}"}, (
                    f"{op['operationId']} {code} lacks header {name}"
                )
        if ("Continuation-Token", "header") in params_of(ours, op, item):
            ok = deref(ours, op["responses"]["200"])
            assert "Continuation-Token" in ok["headers"], f"{method} {path}: paged but no token header"
    packets = op_index(ours)[("get", "/api/org/{org_id}/packets")]
    assert "Retry-After" in packets["responses"]["200"]["headers"]
    assert ("Continuation-Token", "header") in params_of(ours, packets, {})


def test_our_examples_validate(ours):
    checked = 0
    for trail, node in walk(ours):
        if not isinstance(node, dict):
            continue
        if "schema" in node and ("example" in node or "examples" in node):  # media types, parameters
            schema = node["schema"]
            for name, value in example_values(node):
                errors = [e.message for e in validator_for(ours, schema).iter_errors(value)]
                assert not errors, f"{'/'.join(map(str, trail))} example {name}: {errors}"
                checked += 1
        is_schema = trail and trail[-2:-1] == ("schemas",)
        if is_schema and isinstance(node.get("examples"), list):
            for value in node["examples"]:
                errors = [e.message for e in validator_for(ours, node).iter_errors(value)]
                assert not errors, f"schema {trail[-1]} example: {errors}"
                checked += 1
    assert checked >= 15


def test_errata_corrections_hold(ours):
    schemas = ours["components"]["schemas"]
    tags = validator_for(ours, {"$ref": "#/components/schemas/DeviceTags"})
    assert tags.is_valid({"_env": "production", "location": "warehouse-a"})
    assert tags.is_valid({})
    assert not tags.is_valid({"_env": "staging"})
    assert not tags.is_valid({"k" * 33: "v"})
    assert not tags.is_valid({"k": "v" * 129})
    assert not tags.is_valid({f"k{i}": "v" for i in range(11)})
    assert not tags.is_valid({"k": 1})
    assert deref(ours, schemas["ApiKey"]["properties"]["key_name"])["type"] == "string"
    assert "ApiKeyId" not in schemas["ApiKey"]["properties"]["key_name"]["$ref"]
    assert deref(ours, schemas["Address"]["properties"]["country"])["type"] == "string"
    device_id = validator_for(ours, {"$ref": "#/components/schemas/DeviceId"})
    assert not device_id.is_valid("7fb64f47-c8gc-530g-9d3f-e647dbc8219a")
    filter_tags = ours["components"]["parameters"]["FilterTags"]
    assert (filter_tags["style"], filter_tags["explode"]) == ("form", True)
    for name in ("DeviceTags", "ScopeList", "DeviceId"):
        assert "x-errata" in schemas[name]
    assert "x-errata" in filter_tags


# ---------------------------------------------------------------- parity with the vendor document


def test_vendor_operations_exist_with_same_ids(vendor, ours):
    ours_ops = op_index(ours)
    vendor_ops = op_index(vendor)
    assert len(vendor_ops) == 33
    for key, vop in vendor_ops.items():
        assert key in ours_ops, f"missing {key}"
        assert ours_ops[key]["operationId"] == vop["operationId"], key
        assert not ours_ops[key].get("x-off-spec"), f"{key} is in the vendor document"
    for key, op in ours_ops.items():
        if key not in vendor_ops:
            assert op.get("x-off-spec") is True, f"{key} is not in the vendor document: mark x-off-spec"
            assert key in SDK_OFF_SPEC_CALLS, f"{key} is off-spec but not a call the SDK makes"


def test_vendor_parameters_exist_with_same_required_and_type(vendor, ours):
    problems: list = []
    for path, method, vop, vitem in operations(vendor):
        oitem = ours["paths"][path]
        oparams = params_of(ours, oitem[method], oitem)
        for key, vparam in params_of(vendor, vop, vitem).items():
            where = f"{vop['operationId']} param {key[1]}:{key[0]}"
            if key not in oparams:
                problems.append((where, "missing in ours"))
                continue
            oparam = oparams[key]
            if bool(vparam.get("required")) != bool(oparam.get("required")):
                problems.append((where, "required differs"))
            compare(vendor, vparam.get("schema", {}), ours, oparam.get("schema", {}), where, problems)
    real, _ = split_corrections(problems)
    assert real == []


def test_vendor_request_bodies_are_covered(vendor, ours):
    problems: list = []
    for path, method, vop, _ in operations(vendor):
        if "requestBody" not in vop:
            continue
        oop = ours["paths"][path][method]
        vbody, obody = deref(vendor, vop["requestBody"]), deref(ours, oop.get("requestBody", {}))
        assert obody, f"{vop['operationId']}: ours has no request body"
        assert bool(vbody.get("required")) == bool(obody.get("required")), vop["operationId"]
        for media, vmedia in vbody["content"].items():
            assert media in obody["content"], f"{vop['operationId']}: no {media} body"
            compare(vendor, vmedia["schema"], ours, obody["content"][media]["schema"],
                    f"{vop['operationId']} request", problems)
    real, hit = split_corrections(problems)
    assert real == []
    assert {k for k in TYPE_CORRECTIONS if " request." in k} == hit, "stale TYPE_CORRECTIONS entry"


def test_vendor_responses_are_covered(vendor, ours):
    problems: list = []
    for path, method, vop, _ in operations(vendor):
        oresponses = ours["paths"][path][method]["responses"]
        missing = set(vop["responses"]) - set(oresponses)
        assert not missing, f"{vop['operationId']} lacks status {sorted(missing)}"
        for code in ("200", "201"):
            if code not in vop["responses"]:
                continue
            vresp, oresp = deref(vendor, vop["responses"][code]), deref(ours, oresponses[code])
            for media, vmedia in (vresp.get("content") or {}).items():
                assert media in (oresp.get("content") or {}), f"{vop['operationId']} {code}: no {media}"
                compare(vendor, vmedia.get("schema", {}), ours, oresp["content"][media].get("schema", {}),
                        f"{vop['operationId']} {code} {media}", problems)
    real, hit = split_corrections(problems)
    assert real == []
    assert {k for k in TYPE_CORRECTIONS if " request." not in k} == hit, "stale TYPE_CORRECTIONS entry"


def test_required_scopes_match_the_vendor(vendor, ours):
    ours_ops = op_index(ours)
    vendor_scopes = vendor["components"]["schemas"]["authScope"]["enum"]
    assert ours["components"]["securitySchemes"]["BearerAuth"]["x-scopes"] == vendor_scopes
    for key, vop in op_index(vendor).items():
        found = re.search(r"\*\*Required Scope:\*\*\s*`([a-z-]+)`", vop.get("description", ""))
        expected = found.group(1) if found else None
        assert ours_ops[key]["x-required-scope"] == expected, f"{vop['operationId']}"
        if vop.get("security") == [] or key == ("post", "/api/webhook/testBatch"):
            assert ours_ops[key].get("security") == [], "the sample webhook receiver takes no bearer key"


def _vendor_examples(vendor: dict):
    """(operationId, where, name, value, our-schema-getter) for request bodies and 200 responses."""
    for path, method, vop, vitem in operations(vendor):
        targets = []
        if "requestBody" in vop:
            targets.append(("request", deref(vendor, vop["requestBody"]), ("requestBody",)))
        if "200" in vop["responses"]:
            targets.append(("200", deref(vendor, vop["responses"]["200"]), ("responses", "200")))
        for where, container, trail in targets:
            for media, vmedia in (container.get("content") or {}).items():
                if media != "application/json":
                    continue
                found = example_values(vmedia)
                vschema = deref(vendor, vmedia.get("schema", {}))
                if "example" in vschema:
                    found.append(("schema-example", vschema["example"]))
                for name, value in found:
                    yield vop["operationId"], where, name, value, (path, method, trail, media, None)
                for prop, vprop in properties_of(vendor, vschema).items():
                    if isinstance(vprop, dict) and "example" in vprop:
                        yield (vop["operationId"], where, f"property {prop}", vprop["example"],
                               (path, method, trail, media, prop))
        for (pname, pin), vparam in params_of(vendor, vop, vitem).items():
            if "example" in vparam:
                yield vop["operationId"], "param", f"{pin}:{pname}", vparam["example"], (path, method, pname, pin)


def _our_schema_for(ours: dict, locator: tuple) -> Any:
    if len(locator) == 4:
        path, method, pname, pin = locator
        return params_of(ours, ours["paths"][path][method], ours["paths"][path])[(pname, pin)]["schema"]
    path, method, trail, media, prop = locator
    node: Any = ours["paths"][path][method]
    for part in trail:
        node = deref(ours, node[part])
    schema = node["content"][media]["schema"]
    if prop is not None:
        schema = properties_of(ours, schema)[prop]
    return schema


def test_vendor_examples_validate_against_our_schemas(vendor, ours):
    seen_bad = set()
    checked = 0
    for op_id, where, name, value, locator in _vendor_examples(vendor):
        errors = [e.message for e in validator_for(ours, _our_schema_for(ours, locator)).iter_errors(value)]
        if (op_id, where, name) in KNOWN_BAD_VENDOR_EXAMPLES:
            seen_bad.add((op_id, where, name))
            assert errors, f"{op_id} {where} {name} is listed as wrong but validates: drop it from the list"
            continue
        assert not errors, f"vendor example {op_id} {where} {name}: {errors}"
        checked += 1
    assert seen_bad == set(KNOWN_BAD_VENDOR_EXAMPLES), "KNOWN_BAD_VENDOR_EXAMPLES lists examples that are gone"
    assert checked >= 5


# ---------------------------------------------------------------- what the official SDK sends


def _match(ours: dict, method: str, path: str):
    for template, item in ours["paths"].items():
        pattern = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$"
        if method in item and re.match(pattern, path):
            return template, item, item[method]
    return None


def test_sdk_calls_fit_our_contract(ours, monkeypatch):
    cloud = pytest.importorskip("hubblenetwork.cloud")
    packets = pytest.importorskip("hubblenetwork.packets")
    calls: list[dict] = []

    def fake_request(*, method, path, env, credentials=None, json=None, timeout_s=10.0, params=None,
                     continuation_token=None):
        calls.append({"method": method.lower(), "path": "/api/" + path.lstrip("/"), "params": dict(params or {}),
                      "json": json, "token": continuation_token})
        return ({}, None)

    monkeypatch.setattr(cloud, "cloud_request", fake_request)
    creds = cloud.Credentials(ORG, "token")
    env = cloud.Environment("FAKE", "http://127.0.0.1:1/hubble")
    now = int(time.time())
    pkt = packets.EncryptedPacket(timestamp=now, location=packets.Location(lat=47.6, lon=-122.3),
                                  payload=bytes(range(16)), rssi=-70)
    monkeypatch.setattr(cloud, "_ENVIRONMENTS", [env])
    cloud.get_env_from_credentials(creds)
    cloud.retrieve_org_metadata(credentials=creds, env=env)
    cloud.register_device(credentials=creds, env=env, encryption="AES-128-EAX", counter_source="DEVICE_UPTIME",
                          period_exponent=15, tags={"site": "lab"})
    cloud.register_device(credentials=creds, env=env, encryption="AES-128-EAX", counter_source="DEVICE_UPTIME",
                          period_in_seconds=4096)
    cloud.register_device(credentials=creds, env=env)
    cloud.list_devices(credentials=creds, env=env)
    cloud.list_devices(credentials=creds, env=env, continuation_token="abc")
    cloud.get_device(credentials=creds, env=env, device_id=DEVICE)
    cloud.update_device(credentials=creds, env=env, name="n", device_id=DEVICE, tags={"_env": "sandbox"})
    cloud.delete_device(credentials=creds, env=env, device_id=DEVICE)
    cloud.retrieve_packets(credentials=creds, env=env, device_id=DEVICE, continuation_token="abc")
    cloud.ingest_packet(credentials=creds, env=env, packet=pkt)
    cloud.decode_packets(credentials=creds, env=env, advertisements=[cloud.packet_to_advertisement(pkt)],
                         metadata={"source": "test"})
    cloud.device_metrics(credentials=creds, env=env, days_back=7, time_interval="day")

    hit_off_spec = set()
    for call in calls:
        found = _match(ours, call["method"], call["path"])
        assert found, f"SDK call {call['method']} {call['path']} has no operation in our document"
        template, item, op = found
        if op.get("x-off-spec"):
            hit_off_spec.add((call["method"], template))
        declared = params_of(ours, op, item)
        for name, value in call["params"].items():
            assert (name, "query") in declared, f"{op['operationId']}: SDK query parameter {name} undeclared"
            assert validator_for(ours, declared[(name, "query")]["schema"]).is_valid(value), (op, name, value)
        if call["token"]:
            assert ("Continuation-Token", "header") in declared, op["operationId"]
        if call["json"] is not None:
            schema = op["requestBody"]["content"]["application/json"]["schema"]
            errors = [e.message for e in validator_for(ours, schema).iter_errors(call["json"])]
            assert not errors, f"{op['operationId']}: SDK body rejected: {errors}"
    off_spec = {(m, p) for (m, p), op in op_index(ours).items() if op.get("x-off-spec")}
    assert off_spec == SDK_OFF_SPEC_CALLS
    assert hit_off_spec == off_spec, "an x-off-spec operation is not called by the SDK"


def test_sdk_reads_fit_our_response_shapes(ours):
    """Responses built to our schemas carry every field the SDK reads."""
    org = pytest.importorskip("hubblenetwork.org")
    device_mod = pytest.importorskip("hubblenetwork.device")
    device = ours["components"]["schemas"]["Device"]["examples"][0]
    assert validator_for(ours, {"$ref": "#/components/schemas/Device"}).is_valid(device)
    parsed = device_mod.Device.from_json(device)
    assert parsed.id == device["id"] and parsed.active is True and parsed.encryption == "AES-256-CTR"
    assert parsed.last_packet_ts == {"terrestrial": 1735693200.5}
    packet = ours["components"]["schemas"]["Packet"]["examples"][0]
    decoded = org._decrypted_from_cloud(packet)
    assert decoded.payload == base64.b64decode(packet["device"]["payload"])
    assert decoded.sequence == 42 and decoded.location is not None
