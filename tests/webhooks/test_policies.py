"""Each API brings its own retry policy (`WEBHOOK_POLICY`, declared in its webhooks.py);
the server gives the engine exactly those, with the configured per-attempt timeout."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from mockserver import webhooks
from mockserver.apis import REGISTRY
from mockserver.app import create_app
from mockserver.settings import Settings
from mockserver.webhooks import RetryPolicy


def test_the_engine_gets_every_apis_own_policy_with_the_configured_timeout() -> None:
    app = create_app(Settings.from_env({}, webhook_timeout=4.5))
    engine = app.state.runtime.webhooks
    assert set(engine.policies) == {api.NAME for api in REGISTRY}
    for api in REGISTRY:
        assert isinstance(api.WEBHOOK_POLICY, RetryPolicy)
        assert engine.policies[api.NAME] == api.WEBHOOK_POLICY.with_(timeout=4.5)
        assert api.WEBHOOK_POLICY.timeout == 30.0  # the declared policy itself is untouched


def test_the_engine_package_names_no_api() -> None:
    """A fourth API brings its policy and its sender in its own package; the engine's code
    stays as it is (issue 16: API names live under apis/ only)."""
    package = Path(webhooks.__file__).parent
    for source in sorted(package.glob("*.py")):
        text = source.read_text(encoding="utf-8").lower()
        named = [api.NAME for api in REGISTRY if re.search(rf"\b{re.escape(api.NAME)}\b", text)]
        assert not named, f"{source.name} names {named}"


def test_a_server_start_does_not_import_httpx() -> None:
    """httpx is the deliveries' fallback client (TLS, redirects): imported on first use, so
    building the app costs no import of it (a child process: this one has httpx loaded)."""
    code = (
        "import sys\n"
        "from mockserver.app import create_app\n"
        "from mockserver.settings import Settings\n"
        "create_app(Settings.from_env({}))\n"
        "print(sorted(m for m in ('httpx', 'httpcore') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr
