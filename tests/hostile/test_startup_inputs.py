"""Item 9: a bad `--state` file or a "billion laughs" scenario is one clear line on stderr
and exit 2 (no traceback), found before the server is built."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from mockserver.scenarios import MAX_ALIAS_EXPANSION, ScenarioError, parse_scenario

LAUGHS = "\n".join(
    ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    + [f"{c}: &{c} [{','.join([f'*{p}'] * 9)}]" for p, c in zip("abcdefgh", "bcdefghi", strict=True)]
)  # 342 bytes that stand for 9**9 strings


def serve(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MOCKSERVER_")}
    return subprocess.run(
        [sys.executable, "-m", "mockserver", "serve", "--port", "0", *args],
        capture_output=True, text=True, timeout=120, env=env, cwd=cwd,
    )  # fmt: skip


def assert_one_line_exit_2(result: subprocess.CompletedProcess[str], needle: str) -> None:
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert lines[0].startswith("mockserver: ") and needle in lines[0], lines[0]
    assert "listening" not in result.stdout


def make_db(path: Path, rows: list[tuple[str, str, str]], columns: str = "tbl TEXT, key TEXT, value TEXT") -> None:
    db = sqlite3.connect(path)
    db.execute(f"CREATE TABLE records ({columns})")
    db.executemany("INSERT INTO records VALUES (?, ?, ?)", rows)
    db.commit()
    db.close()


@pytest.mark.parametrize("case", ["text", "directory", "other-db", "columns", "bad-json", "bad-clock"])
def test_a_bad_state_file_is_one_line_and_exit_2(tmp_path: Path, case: str):
    path = tmp_path / "state.db"
    needle = str(path)
    if case == "text":
        path.write_text("this is not a database\n" * 20)
        needle = "not a state database"
    elif case == "directory":
        path.mkdir()
        needle = "directory"
    elif case == "other-db":
        db = sqlite3.connect(path)
        db.execute("CREATE TABLE people (name TEXT)")
        db.commit()
        db.close()
        needle = "not a mockserver state file"
    elif case == "columns":
        make_db(path, [], columns="a TEXT, b TEXT, c TEXT")
        needle = "columns"
    elif case == "bad-json":
        make_db(path, [("hubble.orgs", "x", "{not json")])
        needle = "hubble.orgs/x is not JSON"
    else:  # valid JSON of the wrong shape: found while loading, still one line
        make_db(path, [("kernel.clock", "clock", json.dumps({"mode": "frozen", "now": "noon"}))])
        needle = "cannot be loaded"
    assert_one_line_exit_2(serve("--state", str(path), "--scenario", "empty", cwd=tmp_path), needle)


def test_a_billion_laughs_scenario_is_one_line_and_exit_2(tmp_path: Path):
    path = tmp_path / "laughs.yaml"
    path.write_text(LAUGHS + "\n")
    assert len(path.read_bytes()) < 400
    assert_one_line_exit_2(serve("--scenario", str(path), cwd=tmp_path), "aliases expand the scenario")


def test_a_recursive_alias_is_refused(tmp_path: Path):
    with pytest.raises(ScenarioError, match="refers to the node that contains it"):
        parse_scenario("hubble: &a\n  devices: [*a]\n", "loop.yaml")


def test_aliases_within_the_allowance_still_load():
    """Anchors and merges a person writes (a shared template used a few times) are fine."""
    text = "x: &t {a: 1, b: [1, 2, 3]}\ny: [*t, *t, *t]\nz: {<<: *t, c: 2}\n"
    with pytest.raises(ScenarioError) as info:  # the keys are not scenario sections...
        parse_scenario(text, "ok.yaml")
    assert "aliases expand" not in str(info.value)  # ...but the aliases themselves pass
    assert MAX_ALIAS_EXPANSION >= 10_000


def test_a_lone_surrogate_in_a_scenario_is_refused():
    """YAML's "\\ud800" escape makes the same unencodable string a JSON body can: refused
    with the path to it, like every other scenario problem."""
    with pytest.raises(ScenarioError, match=r"bumblebee\.assets\[0\]\.name: the string holds a lone surrogate"):
        parse_scenario('bumblebee:\n  assets:\n    - name: "\\ud800"\n', "x.yaml")
