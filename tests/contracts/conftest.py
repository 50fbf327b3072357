"""Fixtures for the contract harness' own tests: tiny correct and broken servers, a shared
fake, and a helper that runs `mockserver contracts ...` in-process and captures its output."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import brokenapis
import pytest

from mockserver.cli import main as cli_main


@pytest.fixture(scope="session")
def subset_specs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    directory = tmp_path_factory.mktemp("specs")
    return {
        "hubble": brokenapis.write_subset_spec(directory),
        "hubby": brokenapis.write_hubby_subset_spec(directory),
    }


@pytest.fixture
def tiny() -> Iterator[Callable[..., str]]:
    """tiny("hubble", *faults) -> base URL of a fresh tiny server with those faults."""
    with ExitStack() as stack:

        def start(api: str, *faults: str) -> str:
            app = brokenapis.TinyHubble(*faults) if api == "hubble" else brokenapis.TinyHubby(*faults)
            return stack.enter_context(brokenapis.serve(app))

        yield start


@pytest.fixture(scope="session")
def contract_fake() -> Iterator[object]:
    """One fake for the tests that only read from it or add their own data (rate limits off)."""
    from mockserver.testing import MockServer

    server = MockServer(rate_limit=False).start()
    try:
        yield server
    finally:
        server.stop()


class CliResult:
    def __init__(self, code: int, out: str, err: str) -> None:
        self.code = code
        self.out = out
        self.err = err

    @property
    def text(self) -> str:
        return self.out + self.err


@pytest.fixture
def cli(capfd: pytest.CaptureFixture[str]) -> Callable[..., CliResult]:
    """Run `mockserver ARGS...` in this process (pytest subprocesses it starts write to the
    captured file descriptors too) and return its exit code and output."""

    def run(*args: str) -> CliResult:
        capfd.readouterr()
        try:
            code = cli_main(list(args))
        except SystemExit as exc:  # argparse usage errors
            code = int(exc.code or 0)
        captured = capfd.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run
