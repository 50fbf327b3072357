"""`mockserver serve` as a user runs it: a real process. The banner comes only once the port
is bound (so whatever reads "listening" can connect), and a busy port is one line, exit 2."""

from __future__ import annotations

import socket
import subprocess
import sys
import time

import httpx


def test_banner_means_bound_and_a_busy_port_is_one_line_exit_2() -> None:
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen(1)
    busy = holder.getsockname()[1]
    try:
        result = subprocess.run(
            [sys.executable, "-m", "mockserver", "serve", "--port", str(busy), "--scenario", "empty"],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert result.returncode == 2, result
        assert result.stdout == ""  # no banner: nothing claims to listen
        assert result.stderr.strip() == f"mockserver: port {busy} on 127.0.0.1 is already in use (pick another with --port)"
    finally:
        holder.close()

    proc = subprocess.Popen(
        [sys.executable, "-u", "-m", "mockserver", "serve", "--port", "0", "--scenario", "empty"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        first = proc.stdout.readline()
        assert first.startswith("mockserver listening on http://127.0.0.1:"), first
        base = first.split()[-1]
        assert base.rsplit(":", 1)[1] != "0"  # the port the system chose, not 0
        # bound before the banner: the socket accepts now (uvicorn may still be starting up)
        host, port = base.removeprefix("http://").rsplit(":", 1)
        socket.create_connection((host, int(port)), timeout=5).close()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/_mock/health", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.05)
        assert httpx.get(f"{base}/_mock/credentials").json()["base_url"] == base
    finally:
        proc.terminate()
        proc.wait(timeout=30)
