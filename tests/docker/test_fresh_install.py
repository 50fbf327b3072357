"""What the image does, without Docker: install the package from the image's build context
into a fresh virtual environment (no access to this project's venv), then run the image's
own ENTRYPOINT + CMD with its ENV (both read from the Dockerfile, so they cannot drift),
its HEALTHCHECK command, one API call, and a SIGTERM.

Needs the package index (or pip's cache) for the dependencies; skipped with the reason when
neither can serve them, or when MOCKSERVER_SKIP_INSTALL_TEST=1. This is the slow test of
the suite (tens of seconds with a warm pip cache)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from .dockerfile import Dockerfile

ROOT = Path(__file__).resolve().parents[2]
NETWORK_TROUBLE = (
    "NewConnectionError", "Temporary failure in name resolution", "Network is unreachable",
    "No matching distribution found", "Could not find a version", "ConnectTimeout", "ReadTimeout",
    "ProxyError", "Max retries exceeded",
)  # fmt: skip


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def build_context(dockerfile: Dockerfile, target: Path) -> Path:
    """Copy what the build stage COPYs, as the Docker build would see it."""
    target.mkdir()
    for ins in dockerfile.all("COPY", dockerfile.stages[0]):
        for source in ins.args.split()[:-1]:
            src = ROOT / source
            if src.is_dir():
                shutil.copytree(src, target / source, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.db"))
            else:
                shutil.copy2(src, target / source)
    return target


@pytest.mark.timeout(900)
def test_the_image_command_serves_from_a_fresh_install(tmp_path: Path):
    if os.environ.get("MOCKSERVER_SKIP_INSTALL_TEST") == "1":
        pytest.skip("MOCKSERVER_SKIP_INSTALL_TEST=1")
    dockerfile = Dockerfile.read(ROOT / "Dockerfile")
    context = build_context(dockerfile, tmp_path / "context")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "--disable-pip-version-check", "--progress-bar", "off",
         "--prefer-binary", "--timeout", "30", str(context)],
        capture_output=True, text=True, timeout=780,
    )  # fmt: skip
    if install.returncode != 0:
        output = install.stdout + install.stderr
        if any(marker in output for marker in NETWORK_TROUBLE):
            pytest.skip(f"cannot install the dependencies (no package index or cache): {output.strip().splitlines()[-1]}")
        pytest.fail(f"pip install failed:\n{output[-4000:]}")

    command = dockerfile.command()
    assert command[0] == "python"
    command[0] = str(python)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MOCKSERVER_", "PYTHON", "VIRTUAL_ENV"))}
    env.update(dockerfile.env())
    env.update(MOCKSERVER_PORT=str(port), MOCKSERVER_STATE=str(tmp_path / "data" / "state.db"))
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    workdir = tmp_path / "home"
    workdir.mkdir()
    proc = subprocess.Popen(command, cwd=workdir, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                pytest.fail(f"the server exited with {proc.returncode}:\n{proc.stdout.read()}")
            try:
                if httpx.get(f"{base}/_mock/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the server did not become healthy"
            time.sleep(0.1)

        _options, health = dockerfile.healthcheck()
        health[0] = str(python) if health[0] == "python" else health[0]
        assert subprocess.run(health, env=env, timeout=30).returncode == 0  # the HEALTHCHECK passes

        creds = httpx.get(f"{base}/_mock/credentials").json()["hubble"]
        r = httpx.get(
            f"{base}/hubble/api/org/{creds['org_id']}/devices",
            headers={"Authorization": f"Bearer {creds['token']}"},
        )
        assert r.status_code == 200 and isinstance(r.json()["devices"], list)

        proc.send_signal(signal.SIGTERM)
        # uvicorn shuts down gracefully, then re-raises the signal: exit status 143 in Docker
        assert proc.wait(timeout=30) in (0, -signal.SIGTERM)
        state = tmp_path / "data" / "state.db"
        assert state.exists()
        assert not Path(f"{state}-wal").exists()  # closed cleanly: the last close checkpoints the WAL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
