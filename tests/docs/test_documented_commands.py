"""Every command the documentation shows is run here, so the docs cannot drift.

The fenced `bash` and `python` blocks of README.md, contract_suites/README.md and
examples/downstream/README.md run in document order, each in a fresh folder (unless it says
otherwise), with this venv's tools first on PATH. A block runs exactly as written except
for what an HTML comment right above it declares (`<!-- doc-test: {...} -->`, JSON):

- `skip`: why it is not run here (a reason, never silent);
- `sandbox`: this command starts the sandbox the later blocks talk to (when a block is
  run alone, `mockserver serve` stands in);
- `replace`: text substitutions, e.g. the real vendor URL by the local sandbox's, or fewer
  generated examples; `env`: variables to set; `files`: files to create first;
- `cwd`: `repo` to run in the repository, or a folder of it copied to a temporary place
  (`examples/downstream`, whose `../..` then names the repository);
- `background` (a URL): a server command, checked by a GET and stopped;
- `pytest`: a Python block that is a test module, run by pytest with the plugin.

One substitution is implicit: when port 8080 is taken on this machine, the sandbox runs on
a free port and `127.0.0.1:8080`/`localhost:8080` are rewritten to it. Blocks of other
languages (a YAML CI job, a usage synopsis) are not commands.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from mockserver.testing import WebhookSink

ROOT = Path(__file__).resolve().parents[2]
DOCS = ("README.md", "contract_suites/README.md", "examples/downstream/README.md")
BLOCK = re.compile(r"(?:<!--\s*doc-test:\s*(?P<directive>\{.*?\})\s*-->\s*\n)?```(?P<lang>[\w-]*)\n(?P<body>.*?)```", re.S)
RUNNABLE = {"bash", "sh", "python"}
BIN = Path(sys.executable).parent


@dataclass
class Block:
    doc: str
    line: int
    lang: str
    body: str
    directive: dict[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return f"{self.doc}:{self.line}"


def blocks(doc: str) -> list[Block]:
    text = (ROOT / doc).read_text(encoding="utf-8")
    out = []
    for m in BLOCK.finditer(text):
        if m.group("lang") not in RUNNABLE:
            continue
        line = text.count("\n", 0, m.start("body"))
        directive = json.loads(m.group("directive")) if m.group("directive") else {}
        out.append(Block(doc, line, m.group("lang"), m.group("body"), directive))
    return out


ALL = [b for doc in DOCS for b in blocks(doc)]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def wait_for(url: str, proc: subprocess.Popen[str], timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"exited with {proc.returncode}:\n{proc.stdout.read() if proc.stdout else ''}")
        try:
            if httpx.get(url, timeout=5).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{url} did not answer within {timeout} s")


def stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


class Runner:
    """Runs blocks in order against one sandbox (started by the block that says so)."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.port = 8080 if port_free(8080) else free_port()
        self.sandbox: subprocess.Popen[str] | None = None
        self.sink = WebhookSink().start()
        self.count = 0

    @property
    def sandbox_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self, extra: dict[str, str]) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("MOCKSERVER_", "PYTEST_", "HUBBLE_", "HUBBY_"))}
        env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
        env["MOCKSERVER_VENV"] = sys.prefix  # dev.py uses the environment these tests run in
        env.update(extra)
        return env

    def text(self, block: Block, port: int) -> str:
        body = block.body
        for old, new in block.directive.get("replace", {}).items():
            assert old in body, f"{block.id}: the directive replaces {old!r}, which the block does not contain"
            body = body.replace(old, new)
        if self.port != 8080:
            body = body.replace("127.0.0.1:8080", f"127.0.0.1:{self.port}").replace("localhost:8080", f"127.0.0.1:{self.port}")
        return (body.replace("{sandbox}", self.sandbox_url).replace("{sink}", self.sink.url)
                .replace("{free_port}", str(port)))  # fmt: skip

    def workdir(self, block: Block) -> Path:
        self.count += 1
        cwd = block.directive.get("cwd")
        if cwd == "repo":
            return ROOT
        where = self.tmp / f"block{self.count}"
        if cwd:
            shutil.copytree(ROOT / cwd, where, ignore=shutil.ignore_patterns(".venv", "__pycache__"))
        else:
            where.mkdir()
        for name, content in block.directive.get("files", {}).items():
            (where / name).parent.mkdir(parents=True, exist_ok=True)
            (where / name).write_text(content)
        return where

    def command(self, block: Block, text: str, cwd: Path) -> list[str]:
        if block.lang == "python":
            script = cwd / "snippet.py"
            script.write_text(text)
            return [sys.executable, str(script)]
        if block.directive.get("cwd", "").startswith("examples/"):
            text = text.replace("../..", str(ROOT))
        return ["bash", "-euo", "pipefail", "-c", text]

    def start_sandbox(self, block: Block) -> None:
        ensure_dev_stamp()
        text = block.body.strip()
        if self.port != 8080:
            text += f" --port {self.port}"
        self.sandbox = subprocess.Popen(
            ["bash", "-c", f"exec {text}"], cwd=ROOT, env=self.env({}), text=True,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        wait_for(f"{self.sandbox_url}/_mock/health", self.sandbox)

    def run(self, block: Block) -> None:
        d = block.directive
        if "skip" in d:
            pytest.skip(f"{block.id}: {d['skip']}")
        if d.get("sandbox"):
            self.start_sandbox(block)
            return
        if self.sandbox is None and re.search(r"(127\.0\.0\.1|localhost):8080|\{sandbox\}", block.body + json.dumps(d)):
            # run alone (-k): no earlier block started it; `mockserver serve` is what it runs
            self.start_sandbox(Block(block.doc, block.line, "bash", "mockserver serve"))
        port = free_port()
        cwd = self.workdir(block)
        text = self.text(block, port)
        env = self.env(d.get("env", {}))
        if d.get("pytest"):
            (cwd / "test_snippet.py").write_text(text)
            cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_snippet.py"]
        else:
            cmd = self.command(block, text, cwd)
        if "background" in d:
            proc = subprocess.Popen(cmd, cwd=cwd, env=env, text=True, stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
            try:
                wait_for(d["background"].replace("{free_port}", str(port)), proc)
            finally:
                stop(proc)
            return
        result = subprocess.run(cmd, cwd=cwd, env=env, text=True, capture_output=True, timeout=900)
        assert result.returncode == 0, f"{block.id} exited {result.returncode}:\n{text}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"

    def close(self) -> None:
        if self.sandbox is not None:
            stop(self.sandbox)
        self.sink.stop()


def ensure_dev_stamp() -> None:
    """`python3 dev.py serve` reinstalls unless the environment was made by dev.py; this one
    runs the suite, so it holds the test extra: say so (CI's environment already does)."""
    stamp = Path(sys.prefix) / ".mockserver-install.json"
    if not stamp.exists():
        import hashlib

        digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
        stamp.write_text(json.dumps({"pyproject": digest, "extras": ["test"]}))


@pytest.fixture(scope="module")
def runner(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runner]:
    r = Runner(tmp_path_factory.mktemp("docs"))
    try:
        yield r
    finally:
        r.close()


def test_every_command_block_is_accounted_for():
    assert len(ALL) >= 15
    for block in ALL:
        unknown = set(block.directive) - {"skip", "sandbox", "replace", "env", "files", "cwd", "background", "pytest"}
        assert not unknown, f"{block.id}: unknown doc-test keys {unknown}"


@pytest.mark.timeout(1200)
@pytest.mark.parametrize("block", ALL, ids=[b.id for b in ALL])
def test_documented_command(runner: Runner, block: Block) -> None:
    runner.run(block)
