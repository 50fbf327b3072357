"""Scenario files: the schema (top level plus each API's section schema), errors that point
at the bad line and column, `$generate`, and the files shipped in fixtures/."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from mockserver import scenarios
from mockserver.scenarios import ScenarioError, load_scenario, parse_scenario

SECTION_SCHEMA = """
$schema: https://json-schema.org/draft/2020-12/schema
type: object
additionalProperties: false
properties:
  devices:
    type: array
    items: {$ref: "#/$defs/device"}
$defs:
  device:
    type: object
    required: [name]
    additionalProperties: false
    properties:
      name: {type: string, maxLength: 12}
      rssi: {type: integer, maximum: 0}
"""


@pytest.fixture
def fake_apis(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An apis/ folder where only 'hubble' contributes a section schema."""
    (tmp_path / "hubble").mkdir()
    (tmp_path / "hubble" / "scenario_schema.yaml").write_text(SECTION_SCHEMA)
    (tmp_path / "hubby").mkdir()
    monkeypatch.setattr(scenarios, "APIS_DIR", tmp_path)
    return tmp_path


def problems_of(text: str) -> list[tuple[int | None, int | None, str, str]]:
    with pytest.raises(ScenarioError) as info:
        parse_scenario(textwrap.dedent(text), "s.yaml")
    return [(p.line, p.column, p.path, p.message) for p in info.value.problems]


def test_a_good_scenario_loads_and_generators_expand(fake_apis):
    data = parse_scenario(textwrap.dedent("""
        description: demo
        x-base: &base {rssi: -70}
        hubble:
          devices:
            - {name: first}
            - $generate:
                count: 3
                start: 1
                template: {<<: *base, name: "d-{i:03d}"}
        hubby: {anything: [1, 2]}
    """))
    assert data["hubble"]["devices"] == [
        {"name": "first"},
        {"rssi": -70, "name": "d-001"},
        {"rssi": -70, "name": "d-002"},
        {"rssi": -70, "name": "d-003"},
    ]
    assert data["hubby"] == {"anything": [1, 2]}  # no section schema: any mapping


def test_errors_point_at_line_and_column_inside_an_api_section(fake_apis):
    found = problems_of("""
        hubble:
          devices:
            - name: ok
            - name: 42
              rssi: 5
    """)
    assert found == [
        (5, 13, "hubble.devices[1].name", '42 is not of type "string"'),
        (6, 13, "hubble.devices[1].rssi", "5 is greater than the maximum of 0"),
    ]


def test_unknown_keys_are_reported_each_at_its_own_line(fake_apis):
    found = problems_of("""
        hubble:
          devices: []
          gadgets: []
        colour: blue
    """)
    assert [(line, path) for line, _col, path, _msg in found] == [(4, "hubble.gadgets"), (5, "colour")]


def test_a_missing_required_key_points_at_the_object(fake_apis):
    (line, col, path, message), = problems_of("""
        hubble:
          devices:
            -   rssi: -3
    """)
    assert (line, col, path) == (4, 9, "hubble.devices[0]")
    assert "name" in message and "required" in message


def test_a_bad_generator_template_points_into_the_template(fake_apis):
    found = problems_of("""
        hubble:
          devices:
            - $generate:
                count: 10000
                template:
                  name: "a-very-long-name-{i}"
    """)
    assert found[0][:3] == (7, 17, "hubble.devices[0].name")
    assert "longer than 12" in found[0][3]


@pytest.mark.parametrize(
    "spec,needle",
    [
        ("{template: {name: a}}", "count"),
        ("{count: -1, template: {name: a}}", "count"),
        ("{count: 2, start: x, template: {name: a}}", "start"),
        ("{count: 2, template: {name: 'n{i:zz}'}}", "bad placeholder"),
        ("{count: 2, each: 1, template: {name: a}}", "unknown keys ['each']"),
        ("[1]", "needs {count"),
    ],
)
def test_generator_mistakes_are_named(fake_apis, spec, needle):
    found = problems_of(f"""
        hubble:
          devices:
            - $generate: {spec}
    """)
    assert any(needle in f"{path}: {message}" for _line, _col, path, message in found), found
    assert all(line == 4 for line, *_rest in found)


def test_duplicate_keys_are_an_error_not_silently_the_last(fake_apis):
    (line, _col, path, message), = problems_of("""
        description: one
        hubby: {}
        description: two
    """)
    assert (line, path) == (4, "description") and "first at line 2" in message


def test_yaml_syntax_errors_carry_the_position():
    (line, col, _path, message), = problems_of("""
        hubble:
          devices: [a, b
        hubby: {}
    """)
    assert line == 4 and col is not None and "not valid YAML" in message


def test_the_top_level_must_be_a_mapping():
    (_line, _col, _path, message), = problems_of("- just\n- a list\n")
    assert "mapping" in message


def test_the_error_text_lists_file_line_column_for_each_problem(fake_apis, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("hubble:\n  devices:\n    - {name: 7}\nversion: 2\n")
    with pytest.raises(ScenarioError) as info:
        load_scenario(str(bad))
    text = str(info.value)
    assert "2 problems" in text
    assert f"{bad}:3:14: hubble.devices[0].name:" in text
    assert f"{bad}:4:10: version:" in text


def test_names_and_paths():
    assert load_scenario(None) == {} and load_scenario("empty") == {}
    with pytest.raises(ScenarioError, match="no scenario 'nope'"):
        load_scenario("nope")
    with pytest.raises(ScenarioError, match="no scenario file"):
        load_scenario("missing/thing.yaml")


def test_a_broken_section_schema_is_reported(fake_apis):
    (fake_apis / "hubby" / "scenario_schema.yaml").write_text("type: 12\n")
    scenarios._validator_for.cache_clear()
    with pytest.raises(ScenarioError, match="not valid"):
        parse_scenario("hubby: {}\n")


SHIPPED = sorted(scenarios.FIXTURES.glob("*.yaml"))


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_every_shipped_scenario_is_valid(path):
    data = load_scenario(str(path))
    assert isinstance(data, dict)


def test_every_api_section_schema_is_a_valid_json_schema():
    import jsonschema_rs

    for name, path in scenarios.api_schema_files().items():
        import yaml

        jsonschema_rs.meta.validate(yaml.safe_load(path.read_text()))  # raises when it is not
        assert name in ("hubble", "hubby", "bumblebee")
