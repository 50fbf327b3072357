"""The suites pass against the fake: through the CLI (a fresh fake, a JUnit report), and run
directly with pytest from the installed package (the suites' conftest starts the fake)."""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET

from mockserver.contracts.fake import start_fake
from mockserver.contracts.runner import SUITES


def test_every_suite_passes_against_a_fresh_fake(cli, tmp_path):
    report = tmp_path / "contracts.xml"
    result = cli("contracts", "run", "--api", "all", "--max-examples", "5", "--junit-xml", str(report))
    assert result.code == 0, result.text
    assert "testing a fresh fake at http://127.0.0.1:" in result.out
    suite = ET.parse(report).getroot().find("testsuite")
    cases = {case.get("name"): case for case in suite.iter("testcase")}
    assert suite.get("failures") == "0" and suite.get("errors") == "0"
    hubble = [n for n in cases if n.startswith("test_hubble_operation[")]
    hubby = [n for n in cases if n.startswith("test_hubby_operation[")]
    bumblebee = [n for n in cases if n.startswith("test_bumblebee_operation[")]
    assert len(hubble) >= 30 and len(hubby) >= 15 and len(bumblebee) == 7
    for name in ("test_hubble_stateful", "test_hubby_stateful", "test_bumblebee_stateful",
                 "test_every_webhook_the_fake_emits_matches_its_spec"):
        assert cases[name].find("skipped") is None, f"{name} did not run"


def test_the_bumblebee_suite_alone_follows_the_webhook_life_cycle(cli, tmp_path):
    """`--api bumblebee`: every sandbox operation fuzzed, and the stateful run reaches the
    delete -> get (404) link that `use_after_free` checks."""
    report = tmp_path / "bumblebee.xml"
    result = cli("contracts", "run", "--api", "bumblebee", "--max-examples", "10", "--junit-xml", str(report))
    assert result.code == 0, result.text
    suite = ET.parse(report).getroot().find("testsuite")
    names = {case.get("name") for case in suite.iter("testcase")}
    assert {
        "test_bumblebee_operation[POST /webhooks]",
        "test_bumblebee_operation[DELETE /webhooks/{webhook_id}]",
        "test_bumblebee_operation[POST /webhooks/{webhook_id}/messages/{message_id}/resend]",
        "test_bumblebee_stateful",
    } <= names
    assert not any(n.startswith(("test_hubble", "test_hubby")) for n in names)
    assert suite.get("failures") == "0" and suite.get("errors") == "0" and suite.get("skipped") == "0"


def test_the_bumblebee_stateful_run_catches_a_webhook_that_outlives_its_delete(monkeypatch):
    """The links reach get-after-delete: a fake whose delete leaves the webhook in place fails."""
    import pytest

    from mockserver.apis.bumblebee import models
    from mockserver.contracts.suite import Suite

    monkeypatch.setattr(models.BumblebeeBackend, "delete_webhook", lambda self, webhook_id: self.get_webhook(webhook_id))
    server, targets = start_fake()
    try:
        suite = Suite(targets["bumblebee"].with_(max_examples=10))
        with pytest.raises(pytest.fail.Exception) as failed:
            suite.run_stateful()
        assert "Deleted resource still available" in str(failed.value), str(failed.value)
    finally:
        server.stop()


def test_the_fake_target_can_probe_scopes():
    server, targets = start_fake()
    try:
        hubble = targets["hubble"]
        assert hubble.is_fake and hubble.writes_allowed
        assert hubble.limited_token, "the fake did not create the one-scope key scope_enforcement needs"
        assert hubble.limited_scopes == ("read-billing-usage",)
    finally:
        server.stop()


def test_the_installed_suites_run_with_plain_pytest(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("MOCKSERVER_CONTRACTS_")}
    env.update(MOCKSERVER_CONTRACTS_MAX_EXAMPLES="3", HYPOTHESIS_STORAGE_DIRECTORY=str(tmp_path / ".hypothesis"))
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(SUITES),
         str(SUITES / "test_hubby.py"), "-k", "countries or packages"],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 passed" in result.stdout
