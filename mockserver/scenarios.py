"""Scenario files: declarative YAML that seeds each API's state (fixtures/*.yaml).

    description: two devices and a booking
    hubble:   {...}   # each API's section, in the format its scenario_schema.yaml documents
    hubby:    {...}
    bumblebee: {...}

Loading parses the YAML keeping every node's position, expands `$generate` items, and
validates the result against `resources/scenario.schema.yaml` merged with each API's
`apis/<api>/scenario_schema.yaml`. Every problem is reported at once, each with the
file:line:column it comes from:

    fixtures/mine.yaml:12:15: hubble.devices[3].name: 5 is not of type "string"

`$generate` (in any list): `- $generate: {count: N, start: 0, template: ITEM}` stands for
N copies of ITEM with `{i}` / `{i:FORMAT}` in its strings replaced by start, start+1, ...
(`"sensor-{i:05d}"`). A string that is exactly `"{i}"` becomes the number itself. The
template is validated once, and its errors point at the template's lines.
"""

from __future__ import annotations

import copy
import hashlib
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import jsonschema_rs

from . import datafiles
from .kernel import jsonguard
from .kernel.docs import cache_dir, load_yaml_file, prune, read_cached, store_plain_json, yaml_loader
from .kernel.lazy import on_first_use

# imported when a scenario has to be parsed (not when its parsed form is in the cache)
yaml: Any = on_first_use(globals(), "yaml", "yaml")

PACKAGE = Path(__file__).resolve().parent
FIXTURES = datafiles.fixtures()
SCHEMA_FILE = datafiles.resources() / "scenario.schema.yaml"
APIS_DIR = PACKAGE / "apis"
API_SCHEMA_NAME = "scenario_schema.yaml"
GENERATE = "$generate"
MAX_GENERATED = 1_000_000
MAX_ALIAS_EXPANSION = 100_000  # nodes that aliases may add beyond the document's own ("billion laughs")
EMPTY_NAMES = (None, "", "empty", "none")
_SKIP = {"$skip": True}
_PLACEHOLDER = re.compile(r"\{i(?::([^{}]*))?\}")
_CACHE_FORMAT = b"mockserver-scenario-cache-1"
# parsed scenarios kept, newest first (a code change makes new keys): at most this many, this many bytes
_CACHE_KEEP_FILES = 64
_CACHE_KEEP_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class Problem:
    path: str  # "hubble.devices[3].name" ("" for the document itself)
    message: str
    line: int | None = None  # 1-based
    column: int | None = None  # 1-based

    def format(self, source: str) -> str:
        where = source if self.line is None else f"{source}:{self.line}:{self.column}"
        return f"{where}: {self.path + ': ' if self.path else ''}{self.message}"


class ScenarioError(ValueError):
    """A scenario that cannot be used; `problems` lists each one with its position."""

    def __init__(self, message: str, problems: list[Problem] | None = None, source: str = "") -> None:
        self.problems = problems or []
        self.source = source
        if self.problems:
            lines = [p.format(source) for p in self.problems]
            message = f"{message}:\n  " + "\n  ".join(lines)
        super().__init__(message)


# -- finding files ------------------------------------------------------------------------
def known_scenarios() -> list[str]:
    return sorted(p.stem for p in FIXTURES.glob("*.yaml"))


def scenario_path(name: str | Path) -> Path:
    """A YAML path as given, or the name of a scenario shipped in fixtures/."""
    candidate = Path(name)
    if candidate.suffix in (".yaml", ".yml") or candidate.parent != Path("."):
        if candidate.is_file():
            return candidate
        raise ScenarioError(f"no scenario file {str(name)!r} (relative to {Path.cwd()})")
    named = FIXTURES / f"{name}.yaml"
    if named.is_file():
        return named
    raise ScenarioError(f"no scenario {str(name)!r}: give a YAML file path or one of {known_scenarios()}")


# -- the schema -----------------------------------------------------------------------------
def api_schema_files() -> dict[str, Path]:
    """Each registered API's own section schema (`ApiModule.scenario_schema`, a file in its
    folder under APIS_DIR), where it has one."""
    from . import apis  # noqa: PLC0415  (the API packages import much; a scenario check needs only this)

    found = {}
    for api in apis.REGISTRY:
        path = APIS_DIR / api.name / api.scenario_schema if api.scenario_schema else None
        if path is not None and path.is_file():
            found[api.name] = path
    return found


def _api_names() -> list[str]:
    from . import apis  # noqa: PLC0415

    return [api.name for api in apis.REGISTRY]


def _schema_key() -> tuple[tuple[str, float | None], ...]:
    """Every registered API with its section schema's mtime (None: it has none)."""
    from . import apis  # noqa: PLC0415

    files = api_schema_files()
    return tuple((api.name, files[api.name].stat().st_mtime if api.name in files else None) for api in apis.REGISTRY)


def build_schema() -> dict[str, Any]:
    """The top-level schema with each API's section schema in place."""
    return _build_schema(_schema_key())


@lru_cache(maxsize=4)
def _build_schema(key: tuple[tuple[str, float | None], ...]) -> dict[str, Any]:
    schema = copy.deepcopy(load_yaml_file(SCHEMA_FILE))
    files = api_schema_files()
    for name, _ in key:
        if name not in files:  # an API without a section schema takes any mapping
            schema["properties"].setdefault(name, {"type": "object"})
            continue
        path = files[name]
        section = load_yaml_file(path) or {}
        if not isinstance(section, dict):
            raise ScenarioError(f"{path}: a section schema must be a mapping")
        section = dict(section)
        section.pop("$schema", None)
        section["$id"] = f"urn:mockserver:scenario:{name}"
        schema["properties"][name] = section
    return schema


@lru_cache(maxsize=4)
def _validator_for(key: tuple[tuple[str, float | None], ...]) -> Any:
    try:
        return jsonschema_rs.Draft202012Validator(_build_schema(key), validate_formats=True)
    except ScenarioError:
        raise
    except Exception as exc:  # a section schema that is not a valid JSON Schema
        raise ScenarioError(f"the scenario schema (with {[name for name, _ in key]}) is not valid: {exc}") from None


def _validator() -> Any:
    return _validator_for(_schema_key())


# -- loading ----------------------------------------------------------------------------------
def load_scenario(name: str | Path | None) -> dict[str, Any]:
    """The scenario as a dict keyed by API name; `None` or "empty" gives no data.
    Raises ScenarioError naming every problem with its line and column."""
    if name in EMPTY_NAMES:
        return {}
    path = scenario_path(name)
    text = path.read_text(encoding="utf-8")
    cached = _cache_file(text)
    if cached is not None:
        kept = read_cached(cached)
        if isinstance(kept, dict):  # anything else is a damaged entry (or none): parse again
            return kept
    data = parse_scenario(text, str(path))
    if cached is not None:  # only a scenario that passed every check is kept
        store_plain_json(cached.parent, cached, data)
        prune(cached.parent, _CACHE_KEEP_FILES, _CACHE_KEEP_BYTES)
    return data


def _cache_file(text: str) -> Path | None:
    """Where the parsed, checked and expanded form of this scenario text is kept: keyed by
    the text and by the code and schemas that check it (kernel/seedcache.py's fingerprint),
    so an edit of either is never answered from an old entry. None when caching is off."""
    from .kernel.seedcache import code_fingerprint

    folder = cache_dir()
    if folder is None:
        return None
    digest = hashlib.sha256(_CACHE_FORMAT + code_fingerprint().encode() + b"\0" + text.encode("utf-8", "surrogatepass"))
    return folder / "scenarios" / f"{digest.hexdigest()}.json"


def parse_scenario(text: str, source: str = "<scenario>") -> dict[str, Any]:
    loader = yaml_loader()(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return {}
        problems: list[Problem] = []
        _check_aliases(node, source)
        _check_duplicates(node, "", problems)
        data = loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        what = " ".join(str(x) for x in (exc.context, exc.problem) if x)
        problem = Problem("", f"not valid YAML: {what}", *(_pos(mark) if mark else (None, None)))
        raise ScenarioError(f"{source}: not a valid scenario", [problem], source) from None
    except yaml.YAMLError as exc:
        raise ScenarioError(f"{source}: not valid YAML: {exc}") from None
    finally:
        loader.dispose()
    if data is None:
        return {}
    if not isinstance(data, dict):
        keys = ", ".join(_api_names())
        problems.append(Problem("", f"a scenario is a mapping with keys such as {keys}", *_pos(node.start_mark)))
        raise ScenarioError(f"{source}: not a valid scenario", problems, source)
    view = _validation_view(data, node, "", problems)
    for err in _validator().iter_errors(view):
        if not _in_skipped(view, list(err.instance_path)):
            problems.extend(_problems(err, node))
    refused = jsonguard.lone_surrogate(data)  # a "\ud800" escape: no state may hold it
    if refused is not None:
        problems.append(Problem(refused.where, refused.problem))
    if problems:
        problems.sort(key=lambda p: (p.line or 0, p.column or 0, p.path))
        raise ScenarioError(f"{source}: {len(problems)} problem{'s' if len(problems) != 1 else ''} in the scenario", problems, source)
    return _expand(data)


# -- $generate ----------------------------------------------------------------------------
def _generator_spec(item: Any) -> dict[str, Any] | None:
    if isinstance(item, dict) and GENERATE in item:
        return item
    return None


def _check_generator(item: dict[str, Any], path: str, node: Any, problems: list[Problem]) -> bool:
    where = _pos(node.start_mark) if node is not None else (None, None)
    if set(item) != {GENERATE}:
        problems.append(Problem(path, f"a {GENERATE} item has no other keys (found {sorted(set(item) - {GENERATE})})", *where))
        return False
    spec = item[GENERATE]
    if not isinstance(spec, dict) or "template" not in spec:
        problems.append(Problem(f"{path}.{GENERATE}", "needs {count: N, template: ITEM} (and optionally start)", *where))
        return False
    ok = True
    unknown = sorted(set(spec) - {"count", "start", "template"})
    if unknown:
        problems.append(Problem(f"{path}.{GENERATE}", f"unknown keys {unknown}; allowed: count, start, template", *where))
        ok = False
    count, start = spec.get("count"), spec.get("start", 0)
    if not isinstance(count, int) or isinstance(count, bool) or not 0 <= count <= MAX_GENERATED:
        problems.append(Problem(f"{path}.{GENERATE}.count", f"must be an integer from 0 to {MAX_GENERATED}", *where))
        ok = False
    if not isinstance(start, int) or isinstance(start, bool):
        problems.append(Problem(f"{path}.{GENERATE}.start", "must be an integer", *where))
        ok = False
    try:
        _render(spec["template"], start if isinstance(start, int) else 0)
    except (ValueError, TypeError) as exc:
        problems.append(Problem(f"{path}.{GENERATE}.template", f"bad placeholder: {exc}", *where))
        ok = False
    return ok


def _render(value: Any, i: int) -> Any:
    if isinstance(value, str):
        if value == "{i}":
            return i
        return _PLACEHOLDER.sub(lambda m: format(i, m.group(1) or ""), value)
    if isinstance(value, dict):
        return {k: _render(v, i) for k, v in value.items()}
    if isinstance(value, list):
        return [_render(v, i) for v in value]
    return copy.deepcopy(value)


def _validation_view(value: Any, node: Any, path: str, problems: list[Problem]) -> Any:
    """The document as the schema sees it: each generator replaced by one rendered sample."""
    if isinstance(value, dict):
        return {k: _validation_view(v, _child(node, k), _join(path, k), problems) for k, v in value.items()}
    if isinstance(value, list):
        out = []
        for index, item in enumerate(value):
            item_node = _child(node, index)
            item_path = f"{path}[{index}]"
            if _generator_spec(item) is not None:
                raw_node = node.value[index] if isinstance(node, yaml.SequenceNode) and index < len(node.value) else None
                if _check_generator(item, item_path, raw_node, problems):
                    spec = item[GENERATE]
                    template_node = _child(_child(item_node, GENERATE), "template")
                    sample = _render(spec["template"], spec.get("start", 0))
                    out.append(_validation_view(sample, template_node, item_path, problems))
                else:
                    out.append(_SKIP)  # reported already; keeps indexes aligned, its errors are dropped
                continue
            out.append(_validation_view(item, item_node, item_path, problems))
        return out
    return value


def _in_skipped(view: Any, segments: list[Any]) -> bool:
    """True when an error is about (something inside) a generator already reported as broken."""
    current = view
    for segment in segments:
        if current is _SKIP:
            return True
        try:
            current = current[segment]
        except (KeyError, IndexError, TypeError):
            return False
    return current is _SKIP


def _expand(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _expand(v) for k, v in value.items()}
    if isinstance(value, list):
        out: list[Any] = []
        for item in value:
            spec = _generator_spec(item)
            if spec is None:
                out.append(_expand(item))
                continue
            gen = spec[GENERATE]
            start = gen.get("start", 0)
            template = _expand(gen["template"])
            out.extend(_render(template, start + k) for k in range(gen["count"]))
        return out
    return value


# -- positions ------------------------------------------------------------------------------
def _pos(mark: Any) -> tuple[int, int]:
    return mark.line + 1, mark.column + 1


def _join(path: str, key: Any) -> str:
    return f"{path}.{key}" if path else str(key)


def _key_of(node: Any) -> Any:
    return node.value if isinstance(node, yaml.ScalarNode) else None


def _child(node: Any, segment: Any) -> Any:
    """The node for one step of a JSON path (a mapping key or a list index); a generator
    item is looked through to its template."""
    if isinstance(node, yaml.MappingNode):
        found = None
        for key_node, value_node in node.value:  # merged (<<) pairs come first, later keys win
            if str(_key_of(key_node)) == str(segment):
                found = value_node
        return found
    if isinstance(node, yaml.SequenceNode) and isinstance(segment, int) and 0 <= segment < len(node.value):
        item = node.value[segment]
        template = _child(_child(item, GENERATE), "template") if _child(item, GENERATE) is not None else None
        return template if template is not None else item
    return None


def _key_node(node: Any, key: str) -> Any:
    if isinstance(node, yaml.MappingNode):
        for key_node, _value in node.value:
            if str(_key_of(key_node)) == key:
                return key_node
    return None


def _problems(err: Any, root: Any) -> list[Problem]:
    segments = list(err.instance_path)
    node = root
    deepest = root
    path = ""
    for segment in segments:
        path = f"{path}[{segment}]" if isinstance(segment, int) else _join(path, segment)
        node = _child(node, segment)
        if node is None:
            break
        deepest = node
    unexpected = getattr(err.kind, "unexpected", None)
    if node is not None and unexpected:  # one problem per key that is not allowed, at that key
        out = []
        for key in unexpected:
            key_node = _key_node(node, str(key))
            target = key_node if key_node is not None else node
            out.append(Problem(_join(path, key), "unknown key (not allowed here)", *_pos(target.start_mark)))
        return out
    message = err.message if len(err.message) <= 300 else err.message[:300] + "..."
    return [Problem(path, message, *_pos(deepest.start_mark))]


def _check_aliases(root: Any, source: str) -> None:
    """Refuse a document whose aliases expand it far beyond its own size (a few hundred bytes
    of nested aliases can stand for a billion nodes) or refer to themselves. Counts the
    expanded size with one visit per distinct node, so the check itself stays linear."""
    expanded: dict[int, int] = {}
    distinct = 0
    on_path: set[int] = set()
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        children = _node_children(node)
        if done:
            on_path.discard(key)
            expanded[key] = 1 + sum(expanded[id(c)] for c in children)
            if expanded[key] - distinct > MAX_ALIAS_EXPANSION:
                raise ScenarioError(
                    f"{source}:{node.start_mark.line + 1}:{node.start_mark.column + 1}: aliases expand the scenario "
                    f"by more than {MAX_ALIAS_EXPANSION} nodes; write the data out or use $generate"
                )
            continue
        if key in expanded:
            continue
        if key in on_path:
            raise ScenarioError(
                f"{source}:{node.start_mark.line + 1}:{node.start_mark.column + 1}: an alias refers to the node "
                "that contains it (a recursive structure cannot be a scenario)"
            )
        distinct += 1
        on_path.add(key)
        stack.append((node, True))
        stack.extend((c, False) for c in children if id(c) not in expanded)


def _node_children(node: Any) -> list[Any]:
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _check_duplicates(node: Any, path: str, problems: list[Problem], depth: int = 0) -> None:
    """PyYAML keeps the last of two equal keys without a word; a scenario should not."""
    if depth > 100:  # a recursive alias
        return
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = _key_of(key_node)
            if key is not None and key != "<<":
                if key in seen:
                    first = seen[key].start_mark.line + 1
                    problems.append(Problem(_join(path, key), f"duplicate key (first at line {first})", *_pos(key_node.start_mark)))
                seen[key] = key_node
            _check_duplicates(value_node, _join(path, key), problems, depth + 1)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _check_duplicates(item, f"{path}[{index}]", problems, depth + 1)
