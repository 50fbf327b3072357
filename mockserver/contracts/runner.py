"""`mockserver contracts run`: pick the targets, check them, run the suites with pytest.

Without a base URL the suites run against a fresh fake started here (writes allowed, rate
limits off). With one they run against whatever answers there (the real vendor API, a
staging server, a fake in Docker), read-only unless `--allow-writes`.

The suites run in a pytest subprocess with a configuration of their own (a user's pytest
settings in the current directory do not leak in), a per-test progress display and, with
`--junit-xml`, a JUnit report for CI. Exit: 0 all passed, 1 a contract failed, 2 bad input
(spec, URL, credentials) or the harness could not run.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests

from .. import datafiles
from . import preflight
from .target import APIS, CREDENTIAL_FIELDS, ENV_PREFIX, HarnessError, Target, profile

SUITES = datafiles.contract_suites()
SUITE_FILES = {"hubble": "test_hubble.py", "hubby": "test_hubby.py", "bumblebee": "test_bumblebee.py"}
WEBHOOK_SUITE = "test_webhooks.py"  # with --api all, against a fake
DEFAULT_REMOTE_RATE_LIMIT = "2/s"
CREDENTIAL_ENV = {  # used only when a base URL is given explicitly
    "token": "HUBBLE_API_TOKEN",
    "org_id": "HUBBLE_ORG_ID",
    "api_key": "HUBBY_API_KEY",
    "secret": "HUBBY_SECRET",
}
PYTEST_INI = """[pytest]
addopts = -p no:cacheprovider
console_output_style = count
junit_family = xunit2
junit_suite_name = mockserver-contracts
filterwarnings =
    ignore::pytest.PytestAssertRewriteWarning
"""


@dataclass
class RunOptions:
    api: str = "all"
    base_url: str | None = None
    hubble_url: str | None = None
    hubby_url: str | None = None
    spec: str | None = None
    hubble_spec: str | None = None
    hubby_spec: str | None = None
    token: str | None = None
    org_id: str | None = None
    limited_token: str | None = None
    limited_scopes: str | None = None
    api_key: str | None = None
    secret: str | None = None
    max_examples: int = 25
    seed: int | None = None
    stateful_steps: int | None = None
    stateful_examples: int | None = None
    coverage: bool = False
    shrink: bool = False
    allow_writes: bool = False
    rate_limit: str | None = None
    junit_xml: str | None = None
    keyword: str | None = None
    quiet: bool = False
    pytest_args: list[str] = field(default_factory=list)
    environ: dict[str, str] | None = None  # defaults to os.environ

    @property
    def apis(self) -> list[str]:
        if self.api == "all":
            return list(APIS)
        profile(self.api)
        return [self.api]


def api_url(options: RunOptions, api: str) -> str | None:
    explicit = {"hubble": options.hubble_url, "hubby": options.hubby_url}.get(api)
    if explicit:
        return explicit.rstrip("/")
    if not options.base_url:
        return None
    base = options.base_url.rstrip("/")
    if options.api == "all":  # the root of a server that serves every API (a fake)
        return base + profile(api).fake_mount
    return base


def _root_of(url: str, api: str) -> str:
    mount = profile(api).fake_mount
    return url[: -len(mount)] if url.endswith(mount) else url


def _spec_for(options: RunOptions, api: str) -> str | None:
    """The spec given for `api` (--spec covers Hubble and Hubby; Bumblebee only when it is
    the one API under test)."""
    if api == "bumblebee":
        return options.spec if options.api == "bumblebee" else None
    return (options.hubble_spec if api == "hubble" else options.hubby_spec) or options.spec


def mock_credentials(url: str, api: str) -> dict[str, Any] | None:
    """Credentials of a running mockserver behind `url` (None when it is not one)."""
    try:
        response = requests.get(_root_of(url, api) + "/_mock/credentials", timeout=5)
        if response.status_code == 200:
            return response.json().get(api)
    except (requests.RequestException, ValueError):
        return None
    return None


def knobs(options: RunOptions) -> dict[str, str]:
    env = {f"{ENV_PREFIX}MAX_EXAMPLES": str(options.max_examples)}
    if options.seed is not None:
        env[f"{ENV_PREFIX}SEED"] = str(options.seed)
    if options.stateful_steps is not None:
        env[f"{ENV_PREFIX}STATEFUL_STEPS"] = str(options.stateful_steps)
    if options.stateful_examples is not None:
        env[f"{ENV_PREFIX}STATEFUL_EXAMPLES"] = str(options.stateful_examples)
    env[f"{ENV_PREFIX}COVERAGE"] = "1" if options.coverage else "0"
    env[f"{ENV_PREFIX}SHRINK"] = "1" if options.shrink else "0"
    env[f"{ENV_PREFIX}ALLOW_WRITES"] = "1" if options.allow_writes else "0"
    return env


def remote_targets(options: RunOptions) -> dict[str, Target]:
    """Targets for the APIs that were given a base URL (credentials from flags, the usual
    environment variables, or a mockserver's /_mock/credentials)."""
    environ = os.environ if options.environ is None else options.environ
    targets: dict[str, Target] = {}
    for api in options.apis:
        url = api_url(options, api)
        if url is None:
            continue
        preflight.check_base_url(url)
        given = {name: getattr(options, name) or environ.get(var) for name, var in CREDENTIAL_ENV.items()}
        spec = _spec_for(options, api) or ""
        kwargs: dict[str, Any] = {"api": api, "base_url": url, "spec_path": spec}
        fields = CREDENTIAL_FIELDS[api]
        kwargs.update({name: given[name] for name in fields})
        # a mockserver answers /_mock/credentials: asked when credentials are missing, or when
        # the host is this machine (never a remote host whose credentials were given)
        sandbox = False
        if not fields or any(not kwargs[name] for name in fields) or _is_local(url):
            creds = mock_credentials(url, api)
            if creds is not None:
                for name in fields:
                    kwargs[name] = kwargs[name] or creds.get(name)
                sandbox = True
        # a real API gets a polite client-side limit unless told otherwise (Hubble allows
        # 3 requests a second per endpoint); a sandbox gets none. Writes: only with
        # --allow-writes, whatever answers.
        rate = options.rate_limit or (None if sandbox else DEFAULT_REMOTE_RATE_LIMIT)
        kwargs["rate_limit"] = None if rate in ("off", "none") else rate
        if api == "hubble":
            kwargs["limited_token"] = options.limited_token
            if options.limited_scopes:
                kwargs["limited_scopes"] = tuple(s for s in options.limited_scopes.split(",") if s)
        targets[api] = Target(**kwargs, sandbox=sandbox, allow_writes=options.allow_writes)
    return targets


def _is_local(url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    return host == "localhost" or host.startswith("127.") or host == "::1"


def run(options: RunOptions) -> int:
    """Run the suites; returns the exit code (raises HarnessError for bad input)."""
    apis = options.apis
    for path in filter(None, (options.spec, options.hubble_spec, options.hubby_spec)):
        from .schema import read_document

        read_document(path)
    remote = remote_targets(options)
    if remote and options.api == "all" and "bumblebee" not in remote:
        # the Bumblebee sandbox API is mockserver's own: real vendor hosts do not serve it
        apis = [api for api in apis if api != "bumblebee"]
    if remote and len(remote) != len(apis):
        missing = ", ".join(api for api in apis if api not in remote)
        raise HarnessError(f"a base URL was given for some APIs but not for {missing}")
    for target in remote.values():
        preflight.check_target(target)
        if not options.quiet:
            print(f"mockserver contracts: {target.describe()}", flush=True)

    env = dict(os.environ if options.environ is None else options.environ)
    env = {k: v for k, v in env.items() if not k.startswith(ENV_PREFIX)}
    env.update(knobs(options))
    server = None
    fake_log = _FakeErrors()
    try:
        if remote:
            targets = remote
        else:
            fake_log.attach()
            server, targets = _start_fake(options)
        for api in apis:
            env.update(targets[api].to_env(knobs=False))
        return _pytest(options, apis, env)
    finally:
        if server is not None:
            server.stop()
        fake_log.detach()
        fake_log.report()


class _FakeErrors(logging.Handler):
    """The in-process fake's error logs (a crash in a handler: a 500 the suites report anyway),
    kept out of the progress display and summed up at the end."""

    LOGGERS = ("uvicorn.error", "mockserver")

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.records: list[logging.LogRecord] = []
        self._saved: list[tuple[logging.Logger, bool]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def attach(self) -> None:
        for name in self.LOGGERS:
            logger = logging.getLogger(name)
            self._saved.append((logger, logger.propagate))
            logger.addHandler(self)
            logger.propagate = False

    def detach(self) -> None:
        for logger, propagate in self._saved:
            logger.removeHandler(self)
            logger.propagate = propagate
        self._saved.clear()

    def report(self) -> None:
        if not self.records:
            return
        first = self.records[0]
        reason = ""
        if first.exc_info and first.exc_info[1] is not None:
            reason = f": {type(first.exc_info[1]).__name__}: {first.exc_info[1]}"
        print(f"mockserver contracts: the fake logged {len(self.records)} internal error(s); the first was "
              f"{first.getMessage().strip()!r}{reason}", file=sys.stderr)


def _start_fake(options: RunOptions) -> tuple[Any, dict[str, Target]]:
    from .fake import start_fake

    try:
        server, targets = start_fake()
    except Exception as exc:
        raise HarnessError(f"cannot start the fake: {type(exc).__name__}: {exc}") from None
    targets = {api: t.with_(spec_path=spec) if (spec := _spec_for(options, api)) else t for api, t in targets.items()}
    if not options.quiet:
        print(f"mockserver contracts: testing a fresh fake at {server.base_url}", flush=True)
    return server, targets


def pytest_command(options: RunOptions, apis: list[str], ini: Path) -> list[str]:
    cmd = [sys.executable, "-m", "pytest", "-c", str(ini), "--rootdir", str(SUITES)]
    cmd += ["-p", "no:mockserver", "-p", "no:hypothesispytest"]
    cmd += ["-q"] if options.quiet else ["-v"]
    cmd += ["-rfE", "--tb=short"]
    if options.junit_xml:
        cmd += ["--junit-xml", str(Path(options.junit_xml).resolve())]
    if options.keyword:
        cmd += ["-k", options.keyword]
    cmd += list(options.pytest_args)
    cmd += [str(SUITES / SUITE_FILES[api]) for api in apis]
    if options.api == "all":
        cmd.append(str(SUITES / WEBHOOK_SUITE))
    return cmd


def _pytest(options: RunOptions, apis: list[str], env: dict[str, str]) -> int:
    with tempfile.TemporaryDirectory(prefix="mockserver-contracts-") as tmp:
        ini = Path(tmp) / "pytest.ini"
        ini.write_text(PYTEST_INI)
        cmd = pytest_command(options, apis, ini)
        if options.junit_xml:
            Path(options.junit_xml).resolve().parent.mkdir(parents=True, exist_ok=True)
        # run from the suites' folder (short test ids) but write nothing there: an installed
        # package may be read-only
        env = {**env, "HYPOTHESIS_STORAGE_DIRECTORY": str(Path(tmp) / ".hypothesis")}
        code = subprocess.call(cmd, env=env, cwd=str(SUITES))
    if code in (0, 1):
        return code
    reasons = {2: "interrupted", 3: "internal error", 4: "usage error", 5: "no tests were collected"}
    print(f"mockserver contracts: error: pytest stopped: {reasons.get(code, f'exit {code}')}", file=sys.stderr)
    return 2
