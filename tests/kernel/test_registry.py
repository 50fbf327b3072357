"""A fourth API is one `ApiModule` plus one registry entry (README: "Adding an API").

The test builds a tiny API here (a spec with three operations, a backend, handlers, an error
shape, a control route, an option, a retry policy), registers it for the length of the test,
and checks that everything outside `apis/` picks it up: the mount, request and response
validation in its own error shape (its renderer receives the call), reset, the credentials,
the CLI banner, settings from the environment, faults, webhook retry policies, scenario
sections, the control route. Nothing outside the registry names it.
"""

from __future__ import annotations

import dataclasses
import textwrap
from pathlib import Path
from typing import Any

import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from mockserver import apis
from mockserver.app import create_app
from mockserver.cli import banner
from mockserver.kernel.api import Call, Reply
from mockserver.kernel.errors import ApiError
from mockserver.kernel.runtime import Runtime
from mockserver.kernel.spec import Spec
from mockserver.scenarios import ScenarioError, parse_scenario
from mockserver.settings import Option, Settings
from mockserver.webhooks import RetryPolicy

SPEC = """\
openapi: 3.0.3
info: {title: Widgets, version: "1"}
paths:
  /widgets:
    get:
      operationId: listWidgets
      responses:
        "200":
          description: every widget
          content:
            application/json:
              schema: {type: array, items: {$ref: "#/components/schemas/Widget"}}
    post:
      operationId: createWidget
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              required: [name]
              additionalProperties: false
              properties: {name: {type: string, minLength: 1}}
      responses:
        "201":
          description: created
          content: {application/json: {schema: {$ref: "#/components/schemas/Widget"}}}
        "400": {description: bad request, content: {application/json: {schema: {type: object}}}}
  /widgets/{id}:
    get:
      operationId: getWidget
      parameters: [{name: id, in: path, required: true, schema: {type: string}}]
      responses:
        "200":
          description: one widget
          content: {application/json: {schema: {$ref: "#/components/schemas/Widget"}}}
        "404": {description: no such widget, content: {application/json: {schema: {type: object}}}}
components:
  schemas:
    Widget:
      type: object
      required: [id, name]
      additionalProperties: false
      properties: {id: {type: string}, name: {type: string}}
"""


class WidgetsBackend:
    """The model: one table, seeded from the scenario's `widgets` section."""

    name = "widgets"

    def __init__(self, runtime: Runtime, spec: Spec) -> None:
        self.spec = spec
        self.table = runtime.store.table("widgets.items")

    def seed(self, section: dict[str, Any]) -> None:
        for i, item in enumerate(section.get("items") or []):
            self.table.put(f"w{i}", {"id": f"w{i}", "name": item["name"]})

    def loaded(self) -> None:
        pass

    def create(self, name: str) -> dict[str, Any]:
        widget = {"id": f"w{len(self.table)}", "name": name}
        return self.table.put(widget["id"], widget) or widget


def list_widgets(call: Call) -> Any:
    return sorted(call.model.table.values(), key=lambda w: w["id"])


def create_widget(call: Call) -> Reply:
    return Reply(call.model.create(call.body["name"]), status=201)


def get_widget(call: Call) -> Any:
    widget = call.model.table.get(call.param("id"))
    if widget is None:
        raise ApiError(404, f"no widget {call.param('id')}")
    return widget


def render(err: ApiError, call: Call | None = None) -> dict[str, Any]:
    """The widget error shape; it names the operation, which only the call can tell."""
    return {"oops": err.detailed_message(), "operation": call.op.operation_id if call is not None else None}


def control_routes(runtime: Runtime, backend: WidgetsBackend) -> list[Route]:
    async def spin(request: Request) -> JSONResponse:
        return JSONResponse({"spun": len(backend.table)})

    return [Route("/spin", spin, methods=["POST"])]


def widgets_api(spec_file: Path) -> apis.ApiModule:
    return apis.ApiModule(
        name="widgets",
        title="Widgets",
        mount_path="/widgets",
        spec_file=str(spec_file),  # an absolute path works as well as a name under resources/
        handlers={"listWidgets": list_widgets, "createWidget": create_widget, "getWidget": get_widget},
        backend=WidgetsBackend,
        render_error=render,
        control_routes=control_routes,
        credentials=lambda settings: {"key": settings.widgets_key},
        banner=(("key", "key"),),
        options=(Option("widgets_key", "MOCKSERVER_WIDGETS_KEY", "widget-sandbox-key"),),
        retry_policy=RetryPolicy(delays=[5.0]),
        main_tables=("items",),
    )


@pytest.fixture
def widgets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> apis.ApiModule:
    spec_file = tmp_path / "widgets-openapi.yaml"
    spec_file.write_text(SPEC)
    api = widgets_api(spec_file)
    monkeypatch.setattr(apis, "REGISTRY", (*apis.REGISTRY, api))  # the one registry line
    return api


@pytest.fixture
def client(widgets: apis.ApiModule) -> Any:
    scenario = parse_scenario("widgets:\n  items: [{name: first}, {name: second}]\n", "s.yaml")
    app = create_app(Settings(scenario=None, strict=True, rate_limit=False), scenario=scenario)
    with TestClient(app) as c:
        yield c


def test_the_fourth_api_is_mounted_validated_and_answers_in_its_own_shape(client: TestClient):
    assert [w["name"] for w in client.get("/widgets/widgets").json()] == ["first", "second"]
    created = client.post("/widgets/widgets", json={"name": "third"})
    assert created.status_code == 201 and created.json() == {"id": "w2", "name": "third"}
    bad = client.post("/widgets/widgets", json={"name": "", "colour": "red"})
    assert bad.status_code == 400
    assert bad.json()["operation"] == "createWidget"  # the renderer received the call
    assert "colour" in bad.json()["oops"] and bad.headers["X-Request-ID"]
    missing = client.get("/widgets/widgets/nope")
    assert missing.status_code == 404 and missing.json() == {"oops": "no widget nope", "operation": "getWidget"}
    unroutable = client.get("/widgets/wid%0Agets")
    assert unroutable.status_code == 404 and unroutable.json()["operation"] is None


def test_the_control_plane_resets_lists_and_mounts_it(client: TestClient):
    client.post("/widgets/widgets", json={"name": "third"})
    assert client.post("/_mock/reset", params={"api": "widgets"}).json() == {"reset": "widgets"}
    assert len(client.get("/widgets/widgets").json()) == 2
    assert client.post("/_mock/widgets/spin").json() == {"spun": 2}
    creds = client.get("/_mock/credentials").json()
    assert creds["widgets"] == {"base_url": "http://127.0.0.1:8080/widgets", "key": "widget-sandbox-key"}
    assert "hubble" in creds and "control" in creds  # the others are still there
    rule = client.post("/_mock/faults", json={"api": "widgets", "status": 503, "count": 1})
    assert rule.status_code == 201, rule.text
    faulted = client.get("/widgets/widgets")
    assert faulted.status_code == 503 and faulted.json()["operation"] is None  # its shape, before routing
    tables = client.get("/_mock/state/summary").json()["apis"]["widgets"]["tables"]
    assert [(t["short"], t["count"], t["main"]) for t in tables] == [("items", 2, True)]  # the dashboard


def test_its_option_retry_policy_and_banner_come_from_the_registry(widgets: apis.ApiModule, client: TestClient):
    assert Settings.from_env({"MOCKSERVER_WIDGETS_KEY": "k2"}).widgets_key == "k2"
    assert Settings().widgets_key == "widget-sandbox-key"
    runtime = client.app.state.runtime  # type: ignore[attr-defined]
    assert runtime.webhooks.policies["widgets"].delays == [5.0]
    lines = banner(client.get("/_mock/credentials").json())
    assert lines[-1].split() == ["Widgets", "http://127.0.0.1:8080/widgets", "key=widget-sandbox-key"]


def test_its_scenario_section_is_accepted_without_a_schema_and_others_still_checked(widgets: apis.ApiModule):
    assert parse_scenario("widgets: {anything: [1]}\n", "s.yaml") == {"widgets": {"anything": [1]}}
    with pytest.raises(ScenarioError):
        parse_scenario("gadgets: {}\n", "s.yaml")  # not registered: still refused


def test_without_the_registry_line_it_is_not_there(tmp_path: Path):
    app = create_app(Settings(scenario=None))
    with TestClient(app) as c:
        assert "widgets" not in c.get("/_mock/credentials").json()
        assert c.get("/widgets/widgets").status_code == 404
        assert c.post("/_mock/reset", params={"api": "widgets"}).status_code == 400


def test_an_api_module_is_frozen_and_names_its_fixture(tmp_path: Path):
    api = widgets_api(tmp_path / "w.yaml")
    with pytest.raises(dataclasses.FrozenInstanceError):
        api.name = "gizmos"  # type: ignore[misc]
    assert api.fixture_names == ("widgets_api",)
    assert [a.name for a in apis.REGISTRY] == ["hubble", "hubby", "bumblebee"]
    assert apis.api_named("hubby").mount_path == "/hubby/api"
    assert apis.api_at("/hubby/api/bookings") is apis.api_named("hubby")


def test_the_registered_apis_keep_their_credentials_and_banner():
    settings = Settings()
    creds = {"base_url": settings.base_url} | {api.name: api.credentials_for(settings) for api in apis.REGISTRY}
    assert banner(creds) == [
        f"  Hubble     {settings.base_url}/hubble  org_id={settings.hubble_org_id}  token={settings.hubble_token}",
        f"  Hubby      {settings.base_url}/hubby/api  x-api-key={settings.hubby_api_key}  secret={settings.hubby_secret}",
        f"  Bumblebee  {settings.base_url}/bumblebee",
    ]


def test_the_hubby_renderer_explains_an_any_of_rule_from_the_call_alone():
    """No module state: the same renderer, given the call, names the operation's rule."""
    from mockserver.apis.hubby import errors

    text = textwrap.dedent("""\
        openapi: 3.0.3
        info: {title: t, version: "1"}
        paths:
          /x:
            patch:
              operationId: patchX
              requestBody:
                content:
                  application/json:
                    schema: {anyOf: [{required: [a]}, {required: [b, c]}]}
              responses: {"200": {description: ok}}
        """)
    import yaml

    spec = Spec("t", yaml.safe_load(text))
    call: Any = type("C", (), {"op": spec.operations["patchX"], "model": type("M", (), {"spec": spec})()})()
    from mockserver.kernel.spec import Violation

    err = ApiError(400, errors.KERNEL_VALIDATION_MESSAGE, violations=[Violation("body", "{} is not valid under any of the given schemas (anyOf)")])
    with_call = errors.render(err, call)
    assert with_call["errors"] == [{"message": "at least one of a or b and c is required"}]
    assert errors.render(err)["errors"] != with_call["errors"]  # without the call it cannot say


SHARED = ["kernel", "control", "app.py", "settings.py", "scenarios.py", "cli.py", "guard.py"]


def test_the_shared_code_names_no_api():
    """Outside apis/ an API is reached through the registry: no identifier of the shared code
    contains an API's name and no string in it is one (text that mentions them is fine)."""
    import ast

    import mockserver

    names = [api.name for api in apis.REGISTRY]
    root = Path(mockserver.__file__).parent
    files = [p for entry in SHARED for p in ([root / entry] if entry.endswith(".py") else sorted((root / entry).rglob("*.py")))]
    found = []
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and node.value in names:
                found.append(f"{path.relative_to(root)}:{node.lineno}: {node.value!r}")
            for ident in (getattr(node, "id", None), getattr(node, "attr", None), getattr(node, "name", None), getattr(node, "arg", None)):
                if isinstance(ident, str) and any(n in ident.lower() for n in names):
                    found.append(f"{path.relative_to(root)}:{getattr(node, 'lineno', '?')}: {ident}")
    assert len(files) > 20 and not found, found


def test_an_api_option_takes_part_in_the_seed_cache_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The org id seeds Hubble's data: a start with another one must not take a cached seed."""
    from mockserver.kernel.seedcache import SeedCache

    monkeypatch.setenv("MOCKSERVER_CACHE_DIR", str(tmp_path))
    default = SeedCache.for_server(Settings(), {"hubble": {}})
    other = SeedCache.for_server(Settings().with_(hubble_org_id="00000000-0000-4000-8000-000000000000"), {"hubble": {}})
    assert default is not None and other is not None
    assert default.key != other.key
    assert SeedCache.for_server(Settings(), {"hubble": {}}).key == default.key  # type: ignore[union-attr]
