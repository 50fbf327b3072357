"""A second mockserver (seed 7, tests/record/source.yaml) plays the real account; recordings
are made from it through a real uvicorn server on 127.0.0.1 and replayed by a third."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from mockserver.cli import main
from mockserver.testing import HubbySigner, MockServer

SOURCE = Path(__file__).with_name("source.yaml")


class Source:
    def __init__(self, server: MockServer) -> None:
        self.server = server
        creds = server.credentials()
        self.org_id = creds["hubble"]["org_id"]
        self.token = creds["hubble"]["token"]
        self.api_key = creds["hubby"]["api_key"]
        self.secret = creds["hubby"]["secret"]
        self.hubble = httpx.Client(base_url=f"{server.hubble_url}/api/org/{self.org_id}",
                                   headers={"Authorization": f"Bearer {self.token}"}, timeout=60, trust_env=False)  # fmt: skip
        self.hubby = httpx.Client(base_url=server.hubby_url, auth=HubbySigner(self.api_key, self.secret), timeout=60, trust_env=False)

    def args(self, out: Path, *extra: str, api: str = "hubble", quiet: bool = True) -> list[str]:
        base = ["record", "--api", api, "--out", str(out)] + (["--quiet"] if quiet else [])
        if api in ("hubble", "all"):
            base += ["--base-url", self.server.hubble_url, "--token", self.token, "--org-id", self.org_id]
        if api == "hubby":
            base += ["--base-url", self.server.hubby_url]
        if api == "all":
            base += ["--hubby-base-url", self.server.hubby_url]
        if api in ("hubby", "all"):
            base += ["--api-key", self.api_key, "--secret", self.secret]
        return base + list(extra)

    def close(self) -> None:
        self.hubble.close()
        self.hubby.close()


def start_source(**overrides: Any) -> Source:
    overrides.setdefault("scenario", str(SOURCE))
    server = MockServer(seed=7, **overrides).start()
    source = Source(server)
    # a device deleted after it transmitted: its packets stay in the stream with its old name
    packets = source.hubble.get("/packets", params={"start": 0}).json()["packets"]
    gone = packets[0]["device"]["id"]
    assert source.hubble.delete(f"/devices/{gone}").status_code == 200
    return source


@pytest.fixture(scope="package")
def source():
    src = start_source(rate_limit=False)
    yield src
    src.close()
    src.server.stop()


def record(args: list[str]) -> int:
    return main(args)


def load(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def replay(path: Path, **overrides: Any) -> MockServer:
    """The recording served with the clock at the moment it was recorded (times unshifted)."""
    at = load(path)["x-recorded"]["recorded_at"]
    overrides.setdefault("rate_limit", False)
    return MockServer(seed=3, scenario=str(path), clock="frozen", clock_start=at, **overrides).start()


SMALL = Path(__file__).with_name("small.yaml")


@pytest.fixture(scope="package")
def small_source():
    src = start_source(scenario=str(SMALL), rate_limit=False)
    yield src
    src.close()
    src.server.stop()
