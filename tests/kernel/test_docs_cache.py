"""The YAML document cache (kernel/docs.py) and lazily compiled specs (kernel/spec.py): the
cache can make loading faster, never different."""

from __future__ import annotations

import pytest
import yaml

from mockserver.kernel import docs
from mockserver.kernel.spec import RESOURCES, Spec, load_document, resource_path

SPECS = [("hubble", "hubble-openapi.yaml"), ("hubby", "hubby-openapi.yaml"), ("bumblebee", "bumblebee-openapi.yaml"),
         ("bumblebee-webhooks", "bumblebee-webhooks.yaml")]  # fmt: skip


@pytest.fixture
def cache(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv("MOCKSERVER_CACHE_DIR", str(folder))
    return folder


@pytest.mark.parametrize("path", sorted(RESOURCES.glob("*.yaml")), ids=lambda p: p.name)
def test_a_cached_document_is_the_document(cache, path):
    expected = yaml.safe_load(path.read_text(encoding="utf-8"))  # the pure-Python reference
    first = docs.load_yaml_file(path)
    assert list(cache.glob("*.json")), "the document was not cached"
    assert docs.load_yaml_file(path) == first == expected


def test_a_broken_cache_file_is_parsed_again(cache, tmp_path):
    source = tmp_path / "doc.yaml"
    source.write_text("a: [1, 2]\nb: {c: x}\n")
    assert docs.load_yaml_file(source) == {"a": [1, 2], "b": {"c": "x"}}
    for cached in cache.glob("*.json"):
        cached.write_bytes(b'{"a": [1, 2')  # truncated
    assert docs.load_yaml_file(source) == {"a": [1, 2], "b": {"c": "x"}}


def test_a_document_that_is_not_plain_json_is_not_cached(cache, tmp_path):
    source = tmp_path / "dated.yaml"
    source.write_text("when: 2024-01-02\n1: integer key\n")
    value = docs.load_yaml_file(source)
    assert value["when"].isoformat() == "2024-01-02" and value[1] == "integer key"
    assert not list(cache.glob("*.json"))


def test_the_cache_can_be_turned_off(monkeypatch, tmp_path):
    monkeypatch.setenv("MOCKSERVER_CACHE_DIR", "off")
    source = tmp_path / "doc.yaml"
    source.write_text("x: 1\n")
    assert docs.cache_dir() is None
    assert docs.load_yaml_file(source) == {"x": 1}


def test_an_unwritable_cache_dir_still_loads(monkeypatch, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("MOCKSERVER_CACHE_DIR", str(blocker / "cache"))
    source = tmp_path / "doc.yaml"
    source.write_text("x: [1]\n")
    assert docs.load_yaml_file(source) == {"x": [1]}


@pytest.mark.parametrize("api,name", SPECS)
def test_every_schema_of_every_spec_compiles(api, name):
    spec = Spec(api, load_document(str(resource_path(name))))
    assert spec.compile_all() > 0 or not spec.operations
    for component in spec.components.get("schemas", {}):
        assert spec.component_schema(component).validator is not None


def test_a_lazily_compiled_schema_validates_with_references():
    spec = Spec.from_resource("hubble", "hubble-openapi.yaml")
    op, _ = spec.match("GET", "/api/org/2f4c5a8e-1d3b-4e6f-9a7c-0b1d2e3f4a5b/devices")
    response = op.response(200).schemas["application/json"]
    assert response.errors({"devices": [{"id": 5}]}, "body")  # a $ref'd item schema applies
    assert [v.location for v in spec.component_schema("Device").errors({}, "body")]
