"""`--state PATH`: a real `python -m mockserver serve` process is stopped (SIGTERM, or
SIGKILL right after acknowledged writes) and started again on the same database; the
devices, the booking, the webhook outbox with its pending retry, and the clock are all
there, and the retry fires after a clock advance."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from mockserver.testing import HubbySigner, WebhookSink


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Served:
    """One `python -m mockserver serve` process."""

    def __init__(self, state: Path, port: int) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MOCKSERVER_")}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "mockserver", "serve", "--state", str(state), "--port", str(port),
             "--clock", "frozen", "--seed", "5"],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        self.base = f"http://127.0.0.1:{port}"
        self.http = httpx.Client(base_url=self.base, timeout=30, trust_env=False)
        deadline = time.monotonic() + 60
        while True:
            if self.proc.poll() is not None:
                raise AssertionError(f"the server exited with {self.proc.returncode}:\n{self.proc.stdout.read()}")
            try:
                if self.http.get("/_mock/health").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.05)
        self.creds = self.http.get("/_mock/credentials").json()

    def ok(self, response: httpx.Response) -> dict:
        assert response.status_code < 400, f"{response.request.method} {response.request.url}: {response.status_code} {response.text}"
        return response.json()

    def control(self, method: str, path: str, **kwargs) -> dict:
        return self.ok(self.http.request(method, f"/_mock{path}", **kwargs))

    def hubble(self, method: str, path: str, **kwargs) -> dict:
        h = self.creds["hubble"]
        return self.ok(self.http.request(
            method, f"/hubble/api{path.replace('{org}', h['org_id'])}",
            headers={"Authorization": f"Bearer {h['token']}"}, **kwargs,
        ))  # fmt: skip

    def hubby(self, method: str, path: str, **kwargs) -> dict:
        h = self.creds["hubby"]
        now_ms = int(self.control("GET", "/clock")["now"] * 1000)
        signer = HubbySigner(h["api_key"], h["secret"], clock_ms=lambda: now_ms)
        return self.ok(self.http.request(method, f"/hubby/api{path}", auth=signer, **kwargs))

    def messages(self, api: str) -> list[dict]:
        return self.control("GET", "/webhooks/deliveries", params={"api": api})["deliveries"]

    def stop(self, sig: int) -> int:
        self.http.close()
        self.proc.send_signal(sig)
        code = self.proc.wait(timeout=30)
        self.proc.stdout.close()
        return code

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def run(tmp_path: Path) -> Iterator:
    started: list[Served] = []

    def start() -> Served:
        served = Served(tmp_path / "state.db", free_port())
        started.append(served)
        return served

    yield start
    for served in started:
        served.kill()


def on_disk(state: Path, table: str) -> dict[str, dict]:
    """What the database holds, read by a separate connection (WAL allows it)."""
    with contextlib.closing(sqlite3.connect(f"file:{state}?mode=ro", uri=True)) as db:
        rows = db.execute("SELECT key, value FROM records WHERE tbl = ?", (table,)).fetchall()
    return {key: json.loads(value) for key, value in rows}


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "sigkill"])
def test_a_restarted_sandbox_continues_where_it_stopped(run, tmp_path: Path, sig: int):
    state = tmp_path / "state.db"
    with WebhookSink(default_status=500) as sink:  # the Bumblebee receiver is down
        first = run()
        # Hubble: two devices (an acknowledged write)
        made = first.hubble("POST", "/v2/org/{org}/devices", json={"n_devices": 2, "encryption": "AES-256-CTR", "names": ["keep-1", "keep-2"]})
        device_ids = [d["device_id"] for d in made["devices"]]
        # Hubby: a booking
        booking = first.hubby("POST", "/bookings", json={
            "departure_date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(first.control("GET", "/clock")["now"] + 30 * 86400)),
            "booking_id": "RESTART-1", "email": "traveller@example.com",
            "package_specifications": [{"destination": "TUR", "package_type": "data-limited", "size": "1GB"}],
        })  # fmt: skip
        # Bumblebee: a webhook whose first delivery fails, leaving a retry pending
        first.ok(first.http.post("/bumblebee/webhooks", json={"url": sink.url, "data_types": ["temperature/create"]}))
        first.control("POST", "/bumblebee/nodes/Ref001/report", json={"data_type": "temperature/create", "degrees": 19.5})
        sink.wait_for(1)
        # the failed attempt was recorded by a timer, not by a request: it must reach the disk by itself
        deadline = time.monotonic() + 30
        while not any(m["api"] == "bumblebee" and m["state"] == "failed" for m in on_disk(state, "webhooks.messages").values()):
            assert time.monotonic() < deadline, "the failed attempt never reached the database"
            time.sleep(0.05)
        (pending,) = [m for m in on_disk(state, "webhooks.messages").values() if m["api"] == "bumblebee"]
        clock = first.control("POST", "/clock", json={"advance_seconds": 30})  # half-way to the retry
        first.stop(sig)

        second = run()
        # the clock continues from where it was (frozen, 30 s after the failure)
        assert second.control("GET", "/clock")["now"] == pytest.approx(clock["now"])
        for device_id in device_ids:
            device = second.hubble("GET", f"/org/{{org}}/devices/{device_id}")
            assert device["name"] in ("keep-1", "keep-2")
        found = second.hubby("GET", f"/bookings/{booking['data'][0]['id']}")
        assert found["data"]["booking_id"] == "RESTART-1"  # the booking we were told about
        (message,) = [m for m in second.messages("bumblebee") if m["id"] == pending["id"]]
        assert message["state"] == "failed" and len(message["attempts"]) == 1
        assert message["next_attempt_at"] == pytest.approx(pending["next_attempt_at"])

        sink.default_status = 200  # the receiver is back
        result = second.control("POST", "/clock", json={"advance_seconds": 30})
        assert result["timers_fired"] >= 1
        assert len(sink.requests) == 2 and sink.requests[1].json() == sink.requests[0].json()
        (message,) = [m for m in second.messages("bumblebee") if m["id"] == pending["id"]]
        assert message["state"] == "sent" and [a["status"] for a in message["attempts"]] == [500, 200]
        assert second.stop(signal.SIGTERM) in (0, -signal.SIGTERM)
        assert not Path(f"{state}-wal").exists()  # a graceful stop closes the database cleanly


def test_snapshot_and_restore_through_the_control_plane(run, tmp_path: Path):
    served = run()
    port = int(served.base.rsplit(":", 1)[1])
    with pytest.raises(OSError):  # `serve` without --host binds 127.0.0.1 only
        socket.create_connection(("127.0.0.2", port), timeout=2).close()
    snapshot = served.control("GET", "/state")
    assert snapshot["version"] == 1 and "hubble.devices" in snapshot["tables"]
    made = served.hubble("POST", "/v2/org/{org}/devices", json={"n_devices": 1, "encryption": "NONE"})
    new_id = made["devices"][0]["device_id"]
    served.control("PUT", "/state", json=snapshot)
    r = served.http.get(f"/hubble/api/org/{served.creds['hubble']['org_id']}/devices/{new_id}",
                        headers={"Authorization": f"Bearer {served.creds['hubble']['token']}"})
    assert r.status_code == 404
    assert new_id not in on_disk(tmp_path / "state.db", "hubble.devices")  # the restore reached the disk
    bad = served.http.put("/_mock/state", json={"tables": 3})
    assert bad.status_code == 400 and "state document" in bad.json()["error"]
    served.stop(signal.SIGTERM)
