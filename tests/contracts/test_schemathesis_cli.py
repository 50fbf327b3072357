"""The README's plain schemathesis CLI commands pass against the README's sandbox command.

The commands are read from README.md ("Contracts in CI"), so the documentation cannot drift:
a real `mockserver serve --no-rate-limit` process is started on a free port, and each
documented `schemathesis run resources/<api>-openapi.yaml` runs from the repository root (so
it picks up `schemathesis.toml` and its hooks module) with `--url` pointed at that port and a
small, seeded budget. All three run at once: they touch different APIs of the sandbox.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
README = REPO / "README.md"
SANDBOX_COMMAND = "mockserver serve --no-rate-limit"
# where each spec is served below the sandbox root (`/_mock/credentials` says the same)
MOUNTS = {"hubble": "/hubble", "hubby": "/hubby/api", "bumblebee": "/bumblebee"}
BUDGET = ["--max-examples", "5", "--seed", "1"]
TIMEOUT = 900  # seconds for the three runs at once; a loaded 2-core machine needs a few minutes


def documented_commands() -> tuple[list[str], list[str]]:
    """(sandbox command lines, schemathesis command lines) of the README's CLI paragraph."""
    text = README.read_text(encoding="utf-8")
    section = text.split("## Contracts in CI", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```bash\n(.*?)```", section, flags=re.S)
    lines = [line.split("#", 1)[0].strip() for block in blocks for line in block.splitlines()]
    serve = [line for line in lines if line.startswith("mockserver serve")]
    runs = [line for line in lines if line.startswith("schemathesis run ")]
    return serve, runs


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def clean_env() -> dict[str, str]:
    """The environment of a fresh shell: no sandbox overrides, no schemathesis settings."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("MOCKSERVER_", "SCHEMATHESIS_"))}


def executable(name: str) -> str:
    """The console script installed next to this interpreter (the venv's), else on PATH."""
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.exists() else shutil.which(name)
    if found is None:
        pytest.skip(f"`{name}` is not installed")
    return found


@pytest.fixture(scope="module")
def sandbox() -> Iterator[str]:
    serve, _ = documented_commands()
    assert serve == [SANDBOX_COMMAND], (
        f"the README should start the sandbox with `{SANDBOX_COMMAND}`, found {serve}"
    )
    port = free_port()
    argv = [executable("mockserver"), *shlex.split(SANDBOX_COMMAND)[1:], "--port", str(port)]
    proc = subprocess.Popen(
        argv, cwd=REPO, env=clean_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                raise AssertionError(f"the sandbox exited with {proc.returncode}:\n{proc.stdout.read()}")
            try:
                if httpx.get(f"{base}/_mock/health", timeout=5, trust_env=False).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the sandbox did not start"
            time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_the_readme_documents_one_run_per_spec() -> None:
    _, runs = documented_commands()
    specs = [shlex.split(line)[2] for line in runs]
    assert specs == [f"resources/{api}-openapi.yaml" for api in MOUNTS]
    assert all(len(shlex.split(line)) == 3 for line in runs), "the documented commands take no extra flags"


def test_the_config_targets_the_documented_sandbox_for_each_spec() -> None:
    """Without `--url`, each spec's [[project]] (matched by `info.title`) points at the sandbox
    `mockserver serve` starts by default, and the hooks module it names imports."""
    config = tomllib.loads((REPO / "schemathesis.toml").read_text(encoding="utf-8"))
    projects = {project["title"]: project for project in config["project"]}
    for api, mount in MOUNTS.items():
        title = yaml.safe_load((REPO / "resources" / f"{api}-openapi.yaml").read_text(encoding="utf-8"))[
            "info"
        ]["title"]
        assert title in projects, f"no [[project]] titled {title!r} for resources/{api}-openapi.yaml"
        assert projects[title]["base-url"] == f"http://127.0.0.1:8080{mount}"
    assert config["hooks"] == "mockserver.contracts.cli_hooks"
    assert importlib.util.find_spec(config["hooks"]) is not None  # found, not imported: it registers auth


@pytest.mark.timeout(TIMEOUT + 120)
def test_the_documented_schemathesis_commands_pass(sandbox: str) -> None:
    _, runs = documented_commands()
    schemathesis = executable("schemathesis")
    started: dict[str, subprocess.Popen[str]] = {}
    for line in runs:
        argv = shlex.split(line)
        api = Path(argv[2]).name.removesuffix("-openapi.yaml")
        argv = [schemathesis, *argv[1:], "--url", sandbox + MOUNTS[api], *BUDGET]
        started[api] = subprocess.Popen(
            argv,
            cwd=REPO,
            env={**clean_env(), "NO_COLOR": "1"},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
    outputs: dict[str, tuple[int, str]] = {}
    deadline = time.monotonic() + TIMEOUT
    for api, proc in started.items():
        try:
            out, _ = proc.communicate(timeout=max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
        outputs[api] = (proc.returncode, out)
    failed = {api: out for api, (code, out) in outputs.items() if code != 0}
    assert not failed, "\n\n".join(
        f"--- {api} (exit {outputs[api][0]}):\n{out[-6000:]}" for api, out in failed.items()
    )
    for api, (_, out) in outputs.items():
        assert "schemathesis.toml" in out, (
            f"{api}: the run did not pick up the repository's schemathesis.toml"
        )


def test_the_hooks_module_signs_hubby_requests_and_leaves_other_specs_alone(sandbox: str) -> None:
    """`schemathesis.toml` names `mockserver.contracts.cli_hooks`: its provider turns the
    sandbox's 401 for an unsigned Hubby call into a 200, and does nothing for Hubble."""
    import schemathesis
    from schemathesis.auths import GLOBAL_AUTH_STORAGE
    from schemathesis.config import SchemathesisConfig

    def load(api: str) -> object:
        config = SchemathesisConfig.from_dict({"base-url": sandbox + MOUNTS[api]})
        return schemathesis.openapi.from_path(str(REPO / "resources" / f"{api}-openapi.yaml"), config=config)

    from mockserver.contracts import cli_hooks

    try:
        provider = cli_hooks.HubbySignature()
        case = load("hubby")["/bookings"]["GET"].Case()
        assert case.call().status_code == 401
        signature = provider.get(case, None)
        assert signature is not None
        provider.set(case, signature, None)
        response = case.call()
        assert response.status_code == 200, response.text
        hubble = load("hubble")["/api/org/{org_id}"]["GET"].Case(path_parameters={"org_id": "x"})
        assert provider.get(hubble, None) is None
    finally:
        GLOBAL_AUTH_STORAGE.unregister()  # the import registered it for the whole process
