"""Each API brings its own retry policy (`WEBHOOK_POLICY`, declared in its webhooks.py);
the server gives the engine exactly those, with the configured per-attempt timeout."""

from __future__ import annotations

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
