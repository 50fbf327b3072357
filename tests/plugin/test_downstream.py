"""The plugin as a downstream project meets it: `pytest` run in a subprocess with this venv
(the plugin loads through its entry point), on the example project and under pytest-xdist."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "downstream"


def run_pytest(*args: str, cwd: Path, autoload: bool = True) -> subprocess.CompletedProcess[str]:
    """pytest in a subprocess. Without autoload only the plugins named with -p load (faster
    start: this venv also holds heavy plugins such as schemathesis)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MOCKSERVER_", "PYTEST_"))}
    if not autoload:
        env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
        args = ("-p", "mockserver.pytest_plugin", *args)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip


def test_the_example_projects_tests_pass():
    result = run_pytest(cwd=EXAMPLE)
    assert result.returncode == 0, result.stdout + result.stderr
    assert " passed" in result.stdout and "skipped" not in result.stdout


def test_one_server_per_xdist_worker_and_the_options(tmp_path: Path):
    (tmp_path / "solo.yaml").write_text("description: no data at all\nhubble: {}\n")
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    (tmp_path / "test_workers.py").write_text(textwrap.dedent("""
        import os

        import pytest


        @pytest.mark.parametrize("n", range(6))
        def test_record(mockserver, hubble_api, n, tmp_path_factory):
            worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
            out = tmp_path_factory.getbasetemp().parent.parent / f"{worker}-{mockserver.port}-{n}.seen"
            out.write_text(str(mockserver.runtime.settings.seed))
            assert hubble_api.devices() == []  # the scenario given on the command line: no devices
    """))
    result = run_pytest("-p", "xdist.plugin", "-n", "2", "--mockserver-seed", "42",
                        "--mockserver-scenario", str(tmp_path / "solo.yaml"), f"--basetemp={tmp_path / 'tmp'}",
                        cwd=tmp_path, autoload=False)  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "6 passed" in result.stdout
    seen = list(tmp_path.glob("*.seen"))
    workers = {p.name.split("-")[0] for p in seen}
    ports_by_worker = {w: {p.name.split("-")[1] for p in seen if p.name.startswith(w + "-")} for w in workers}
    assert workers == {"gw0", "gw1"}
    assert all(len(ports) == 1 for ports in ports_by_worker.values())  # started once per worker
    assert len({next(iter(ports)) for ports in ports_by_worker.values()}) == 2  # a server each
    assert {p.read_text() for p in seen} == {"42"}


def test_a_bad_scenario_option_fails_with_the_line(tmp_path: Path):
    (tmp_path / "bad.yaml").write_text("hubble: {}\nhubby: [1]\n")
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    (tmp_path / "test_x.py").write_text("def test_x(mockserver):\n    pass\n")
    result = run_pytest("--mockserver-scenario", "bad.yaml", cwd=tmp_path, autoload=False)
    assert result.returncode != 0
    assert "bad.yaml:2:8: hubby:" in result.stdout + result.stderr
