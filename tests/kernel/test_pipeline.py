"""The shared request pipeline, on a tiny spec written here: routing, validation, auth,
rate limits, strict responses, faults and the journal, through real HTTP calls."""

from __future__ import annotations

import pytest
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.testclient import TestClient

from mockserver.kernel.api import ApiMount, Call, Reply
from mockserver.kernel.errors import ApiError
from mockserver.kernel.ratelimit import Limit
from mockserver.kernel.runtime import Runtime
from mockserver.kernel.spec import Spec
from mockserver.settings import Settings

ERR = {"$ref": "#/components/responses/Err"}
DOC = {
    "openapi": "3.1.0",
    "info": {"title": "t", "version": "1"},
    "paths": {
        "/things": {
            "get": {
                "operationId": "list-things",
                "parameters": [
                    {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 10}},
                    {"name": "tag", "in": "query", "schema": {"type": "array", "items": {"type": "string"}}},
                ],
                "responses": {
                    "200": {"description": "ok", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/List"}}}},
                    "400": ERR, "401": ERR, "429": ERR, "500": ERR, "503": ERR,
                },
            },
            "post": {
                "operationId": "make-thing",
                "requestBody": {"required": True, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Thing"}}}},
                "responses": {"201": {"description": "made", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Thing"}}}},
                              "400": ERR, "401": ERR, "413": ERR, "429": ERR, "500": ERR},
            },
        },
        "/things/{thing_id}": {
            "get": {
                "operationId": "get-thing",
                "parameters": [{"name": "thing_id", "in": "path", "required": True, "schema": {"type": "integer"}}],
                "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Thing"}}}},
                              "400": ERR, "401": ERR, "404": ERR, "429": ERR, "500": ERR},
            }
        },
    },
    "components": {
        "schemas": {
            "Thing": {"type": "object", "additionalProperties": False, "required": ["name"],
                      "properties": {"name": {"type": "string", "maxLength": 5}, "n": {"type": "integer"}}},
            "List": {"type": "object", "required": ["things", "query"], "properties": {"things": {"type": "array"}, "query": {"type": "object"}}},
            "Error": {"type": "object", "required": ["code", "description"], "properties": {"code": {"type": "integer"}, "description": {"type": "string"}}},
        },
        "responses": {"Err": {"description": "error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}},
    },
}


def render(err: ApiError) -> dict:
    return {"code": err.status, "description": err.detailed_message()}


def auth(call: Call) -> str:
    if call.headers.get("authorization") != "Bearer ok":
        raise ApiError(401, "bad token")
    return "me"


def make_client(**settings) -> tuple[TestClient, Runtime]:
    runtime = Runtime(Settings(**settings))

    def list_things(call: Call) -> dict:
        return {"things": [], "query": call.query}

    def make_thing(call: Call) -> Reply:
        return Reply(call.body, status=201)

    def get_thing(call: Call) -> dict:
        if call.path_params["thing_id"] == 7:
            return {"name": "much too long"}  # breaks the spec on purpose
        if call.path_params["thing_id"] == 8:
            raise RuntimeError("boom")
        return {"name": "x", "n": call.path_params["thing_id"]}

    mount = ApiMount(
        "t", Spec("t", DOC), {"list-things": list_things, "make-thing": make_thing, "get-thing": get_thing},
        runtime, None, render, authenticate=auth,
        rate_buckets=lambda call: [(f"ep:{call.op.operation_id}", Limit(3, 3.0)), ("org", Limit(15, 15.0))],
    )
    app = Starlette(routes=[Mount("/t", app=mount)])
    return TestClient(app, headers={"Authorization": "Bearer ok"}), runtime


def test_query_coercion_and_array_params():
    client, _ = make_client(rate_limit=False)
    r = client.get("/t/things?limit=3&tag=a&tag=b")
    assert r.status_code == 200
    assert r.json()["query"] == {"limit": 3, "tag": ["a", "b"]}


def test_every_violation_is_reported_in_the_api_shape():
    client, runtime = make_client(rate_limit=False)
    r = client.get("/t/things?limit=99")
    assert r.status_code == 400
    assert "query.limit" in r.json()["description"]
    r = client.post("/t/things", json={"name": "toolong", "n": "x", "extra": 1})
    assert r.status_code == 400
    text = r.json()["description"]
    assert "body.name" in text and "body.n" in text and "extra" in text
    entry = runtime.journal.entries(violations=True)[0]
    assert entry["operation_id"] == "make-thing" and len(entry["violations"]) == 3


def test_malformed_json_and_missing_body_are_400():
    client, _ = make_client(rate_limit=False)
    r = client.post("/t/things", content=b"{nope", headers={"content-type": "application/json"})
    assert r.status_code == 400 and "malformed JSON" in r.json()["description"]
    r = client.post("/t/things", content=b"")
    assert r.status_code == 400 and "required" in r.json()["description"]


def test_body_over_the_limit_is_413():
    client, _ = make_client(rate_limit=False, max_body_bytes=100)
    r = client.post("/t/things", json={"name": "a" * 500})
    assert r.status_code == 413


def test_unknown_path_is_404_and_wrong_method_is_405_with_allow():
    client, _ = make_client(rate_limit=False)
    assert client.get("/t/nothing").status_code == 404
    r = client.delete("/t/things")
    assert r.status_code == 405
    assert r.headers["allow"] == "GET, POST"


def test_auth_runs_before_validation():
    client, _ = make_client(rate_limit=False)
    r = client.get("/t/things?limit=99", headers={"Authorization": "Bearer nope"})
    assert r.status_code == 401


def test_rate_limit_three_per_endpoint_then_429_with_retry_after():
    client, runtime = make_client(clock="frozen")
    codes = [client.get("/t/things").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    r = client.get("/t/things")
    assert r.headers["retry-after"] == "1"
    assert r.headers["x-ratelimit-remaining"] == "0"
    # another endpoint has its own bucket
    assert client.get("/t/things/1").status_code == 200
    runtime.clock._jump(runtime.clock.now() + 1)
    r = client.get("/t/things")
    assert r.status_code == 200 and r.headers["x-ratelimit-limit"] == "3"


def test_strict_mode_turns_a_bad_response_into_a_500_that_says_so():
    client, runtime = make_client(rate_limit=False, strict=True)
    r = client.get("/t/things/7")
    assert r.status_code == 500
    assert "breaks its own specification" in r.json()["description"]
    client2, runtime2 = make_client(rate_limit=False, strict=False)
    assert client2.get("/t/things/7").status_code == 200
    assert runtime2.journal.entries(violations=True)[0]["response_violations"]


def test_a_handler_crash_is_a_500_in_the_api_shape_not_a_dropped_connection():
    client, _ = make_client(rate_limit=False)
    r = client.get("/t/things/8")
    assert r.status_code == 500 and r.json()["code"] == 500


def test_request_id_is_echoed_or_generated():
    client, _ = make_client(rate_limit=False)
    assert client.get("/t/things", headers={"X-Request-ID": "abc"}).headers["x-request-id"] == "abc"
    assert len(client.get("/t/things").headers["x-request-id"]) == 36


@pytest.mark.parametrize("header,status", [("status=503", 503), ("status=429; retry_after=7", 429)])
def test_fault_header_answers_in_the_api_shape(header, status):
    client, runtime = make_client(rate_limit=False)
    r = client.get("/t/things", headers={"X-Mock-Fault": header})
    assert r.status_code == status and r.json()["code"] == status
    if status == 429:
        assert r.headers["retry-after"] == "7"
    assert runtime.journal.entries()[0]["fault"]["kind"] == "status"


def test_fault_rules_match_by_operation_and_count():
    client, runtime = make_client(rate_limit=False)
    runtime.faults.add({"kind": "status", "status": 500, "operation_id": "get-thing", "count": 2})
    assert client.get("/t/things").status_code == 200
    assert [client.get("/t/things/1").status_code for _ in range(3)] == [500, 500, 200]


def test_an_integer_beyond_64_bits_is_echoed_not_a_500():
    client, _ = make_client(rate_limit=False)
    big = 2830819212136900503510450176
    r = client.get(f"/t/things?limit=3&tag={big}")
    assert r.status_code == 200
    r = client.post("/t/things", json={"name": "x", "n": big})
    assert r.status_code == 201 and r.json()["n"] == big


@pytest.mark.parametrize(
    "raw",
    [b"[" * 100_000 + b"]" * 100_000, b'{"name": "x", "n": NaN}', b'{"name": "x", "n": 1e999}', b'{"name": "x", "n": ' + b"9" * 400 + b"}"],
    ids=["deep-nesting", "nan", "infinity", "huge-integer"],
)
def test_json_that_is_not_rfc_json_is_a_400_not_a_500(raw):
    client, _ = make_client(rate_limit=False, max_body_bytes=1_000_000)
    r = client.post("/t/things", content=raw, headers={"content-type": "application/json"})
    assert r.status_code == 400 and "malformed JSON" in r.json()["description"]
