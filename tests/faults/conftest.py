"""A tiny API (its own spec, error shape and handlers) behind the shared request pipeline,
served by a real uvicorn server on 127.0.0.1 with each of uvicorn's HTTP protocols, so the
connection-level faults act on a real socket."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Mount

from mockserver.kernel.api import ApiMount, Reply
from mockserver.kernel.errors import ApiError
from mockserver.kernel.runtime import Runtime
from mockserver.kernel.spec import Spec
from mockserver.settings import Settings
from mockserver.testing import ServerThread

ERR = {"$ref": "#/components/responses/Err"}
ERRORS = {str(code): ERR for code in (400, 404, 408, 429, 500, 502, 503)}
THING = {"application/json": {"schema": {"$ref": "#/components/schemas/Thing"}}}
DOC = {
    "openapi": "3.1.0",
    "info": {"title": "tiny", "version": "1"},
    "paths": {
        "/things": {
            "get": {"operationId": "list-things", "responses": {"200": {"description": "ok", "content": THING}, **ERRORS}},
            "post": {
                "operationId": "make-thing",
                "requestBody": {"required": True, "content": THING},
                "responses": {"201": {"description": "made", "content": THING}, **ERRORS},
            },
        },
        "/things/{thing_id}": {
            "get": {
                "operationId": "get-thing",
                "parameters": [{"name": "thing_id", "in": "path", "required": True, "schema": {"type": "string"}}],
                "responses": {"200": {"description": "ok", "content": THING}, **ERRORS},
            }
        },
    },
    "components": {
        "schemas": {
            "Thing": {"type": "object", "properties": {"name": {"type": "string"}}},
            "Error": {"type": "object", "required": ["code", "description"],
                      "properties": {"code": {"type": "integer"}, "description": {"type": "string"}}},
        },
        "responses": {"Err": {"description": "error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}},
    },
}  # fmt: skip


def render(err: ApiError) -> dict:
    return {"code": err.status, "description": err.detailed_message()}


@dataclass
class Tiny:
    server: ServerThread
    runtime: Runtime
    client: httpx.Client

    @property
    def url(self) -> str:
        return self.server.base_url

    def journal(self) -> list[dict]:
        return self.runtime.journal.entries()


def make_app(runtime: Runtime, name: str = "tiny") -> ApiMount:
    handlers = {
        "list-things": lambda call: {"name": "all"},
        "make-thing": lambda call: Reply(call.body, status=201),
        "get-thing": lambda call: {"name": call.path_params["thing_id"]},
    }
    return ApiMount(name, Spec(name, DOC), handlers, runtime, None, render)


PROTOCOLS = [
    "h11",
    pytest.param(
        "httptools",
        marks=pytest.mark.skipif(not importlib.util.find_spec("httptools"), reason="httptools is not installed (pip install '.[test]')"),
    ),
]


@pytest.fixture(scope="module", params=PROTOCOLS)
def tiny_server(request: pytest.FixtureRequest) -> Iterator[tuple[ServerThread, Runtime]]:
    runtime = Runtime(Settings(rate_limit=False, seed=7))
    app = Starlette(routes=[Mount("/tiny", app=make_app(runtime)), Mount("/other", app=make_app(runtime, "other"))])
    with ServerThread(app, http=request.param) as server:
        yield server, runtime


@pytest.fixture
def tiny(tiny_server: tuple[ServerThread, Runtime]) -> Iterator[Tiny]:
    server, runtime = tiny_server
    runtime.faults.clear()
    runtime.journal.clear()
    with httpx.Client(base_url=server.base_url, timeout=10, trust_env=False) as client:
        yield Tiny(server, runtime, client)
