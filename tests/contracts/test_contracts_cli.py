"""`mockserver contracts run`'s bad-input paths: one clear line on stderr, exit 2, no traceback;
and the pieces a run is made of (targets from flags and environment, links, auth)."""

from __future__ import annotations

import sys

import pytest
import requests
from brokenapis import FULL_TOKEN, ORG_ID, no_traceback

from mockserver.contracts.auth import HubbyHmacAuth, hubby_signature, signed_path
from mockserver.contracts.links import HUBBLE_LINKS, ensure_links, missing_links
from mockserver.contracts.runner import RunOptions, remote_targets
from mockserver.contracts.schema import read_document
from mockserver.contracts.target import HarnessError, Target
from mockserver.kernel.spec import load_document, resource_path


def one_line_error(result, contains: str) -> None:
    assert result.code == 2, result.text
    lines = [line for line in result.err.splitlines() if line.strip()]
    assert len(lines) == 1, result.err
    assert lines[0].startswith("mockserver contracts: error: ")
    assert contains in lines[0]
    assert no_traceback(result.text)


def test_a_spec_that_does_not_parse(cli, tmp_path):
    bad = tmp_path / "broken.yaml"
    bad.write_text("openapi: 3.1.0\npaths: {a: [\n")
    one_line_error(cli("contracts", "run", "--api", "hubble", "--spec", str(bad)), "does not parse")


def test_a_document_that_is_not_openapi(cli, tmp_path):
    bad = tmp_path / "list.yaml"
    bad.write_text("- just\n- a list\n")
    one_line_error(cli("contracts", "run", "--api", "hubby", "--spec", str(bad)), "is not an OpenAPI 3 document")


def test_a_missing_spec_file(cli, tmp_path):
    one_line_error(cli("contracts", "run", "--spec", str(tmp_path / "nope.yaml")), "spec file not found")


def test_an_unreachable_base_url(cli):
    result = cli("contracts", "run", "--api", "hubble", "--base-url", "http://127.0.0.1:9/hubble",
                 "--token", "t", "--org-id", ORG_ID)
    one_line_error(result, "hubble: cannot reach http://127.0.0.1:9/hubble: connection refused")


def test_wrong_credentials(cli, tiny, subset_specs):
    url = tiny("hubble")
    result = cli("contracts", "run", "--api", "hubble", "--base-url", f"{url}/hubble", "--spec", str(subset_specs["hubble"]),
                 "--token", "wrong", "--org-id", ORG_ID)
    one_line_error(result, "the credentials were refused (401 from GET /api/org/")


def test_credentials_missing_for_a_real_api(cli, tiny, subset_specs, monkeypatch):
    monkeypatch.delenv("HUBBLE_API_TOKEN", raising=False)
    monkeypatch.delenv("HUBBLE_ORG_ID", raising=False)
    url = tiny("hubble")
    result = cli("contracts", "run", "--api", "hubble", "--base-url", f"{url}/hubble", "--spec", str(subset_specs["hubble"]))
    one_line_error(result, "credentials missing for")


def test_not_an_http_url(cli):
    one_line_error(cli("contracts", "run", "--api", "hubble", "--base-url", "ftp://example.com"), "not an http(s) base URL")


def test_proxy_bad_target_is_a_one_line_error(cli):
    result = cli("proxy", "--api", "hubble", "--target", "http://127.0.0.1:9", "--port", "0")
    assert result.code == 2
    assert result.err.strip().startswith("mockserver proxy: error: cannot reach the target http://127.0.0.1:9")
    assert no_traceback(result.text)


def test_credentials_come_from_flags_then_environment_never_by_default(monkeypatch):
    monkeypatch.setenv("HUBBLE_API_TOKEN", "from-env")
    monkeypatch.setenv("HUBBLE_ORG_ID", ORG_ID)
    # no base URL: no remote target at all, whatever the environment says (the fake is used)
    assert remote_targets(RunOptions(api="hubble")) == {}
    targets = remote_targets(RunOptions(api="hubble", base_url="https://api.example.com", token=FULL_TOKEN))
    target = targets["hubble"]
    assert (target.token, target.org_id, target.base_url) == (FULL_TOKEN, ORG_ID, "https://api.example.com")
    assert not target.writes_allowed  # a real API is read-only unless --allow-writes
    assert target.rate_limit == "2/s"  # and gets a polite client-side limit
    both = remote_targets(RunOptions(api="all", base_url="http://fake:8080", token="t", org_id=ORG_ID,
                                     api_key="k", secret="s", allow_writes=True))
    assert both["hubble"].base_url == "http://fake:8080/hubble"
    assert both["hubby"].base_url == "http://fake:8080/hubby/api"
    assert remote_targets(RunOptions(api="hubble", base_url="http://x", token="t", org_id=ORG_ID,
                                     rate_limit="off"))["hubble"].rate_limit is None


def test_target_round_trips_through_the_environment():
    target = Target("hubble", "http://x/hubble", token="t", org_id="o", limited_token="l", max_examples=7,
                    allow_writes=True, seed=3)
    again = Target.from_env("hubble", target.to_env())
    assert again == target
    assert Target.from_env("hubby", {}) is None


def test_read_only_targets_only_get_safe_methods(subset_specs):
    from mockserver.contracts.schema import load_schema, operations

    target = Target("hubble", "http://127.0.0.1:9/hubble", spec_path=str(subset_specs["hubble"]), token="t", org_id=ORG_ID)
    methods = {op.method.upper() for op in operations(load_schema(target))}
    assert methods == {"GET"}
    writable = target.with_(allow_writes=True)
    assert {"POST", "PATCH", "DELETE"} <= {op.method.upper() for op in operations(load_schema(writable))}


def test_project_specs_carry_the_stateful_links():
    for api, name in (("hubble", "hubble-openapi.yaml"), ("hubby", "hubby-openapi.yaml")):
        assert missing_links(load_document(str(resource_path(name))), api) == [], api


def test_links_are_added_to_a_spec_without_them():
    vendor = read_document(resource_path("hubble-openapi.yaml"))
    for item in vendor["paths"].values():
        for op in item.values():
            if isinstance(op, dict):
                for response in (op.get("responses") or {}).values():
                    if isinstance(response, dict):
                        response.pop("links", None)
    added = ensure_links(vendor, "hubble")
    expected = sum(len(links) for links in HUBBLE_LINKS.values())
    assert len(added) == expected
    delete = vendor["paths"]["/api/org/{org_id}/devices/{device_id}"]["delete"]["responses"]["200"]
    assert delete["links"]["GetDeletedDevice"]["parameters"]["device_id"] == "$request.path.device_id"
    assert ensure_links(vendor, "hubble") == []  # idempotent


def test_hubby_signature_covers_the_path_and_query_as_sent():
    assert signed_path("http://h/hubby/api/bookings?perPage=10", "http://h/hubby/api") == "/api/bookings?perPage=10"
    assert signed_path("https://api.hubbyesim.com/api/bookings", "https://api.hubbyesim.com/api") == "/api/bookings"
    auth = HubbyHmacAuth("key", "secret", "http://h/hubby/api", clock_ms=lambda: 1715558400000)
    prepared = requests.Request("GET", "http://h/hubby/api/bookings", params={"bookingId": "a b"}).prepare()
    auth(prepared)
    assert prepared.headers["x-timestamp"] == "1715558400000"
    assert prepared.headers["x-signature"] == hubby_signature("secret", "1715558400000", "GET", "/api/bookings?bookingId=a+b")


def test_signed_requests_are_accepted_by_the_fake_and_a_wrong_secret_is_not(contract_fake):
    creds = contract_fake.credentials()["hubby"]
    good = HubbyHmacAuth(creds["api_key"], creds["secret"], contract_fake.hubby_url)
    bad = HubbyHmacAuth(creds["api_key"], "wrong", contract_fake.hubby_url)
    url = f"{contract_fake.hubby_url}/packages"
    assert requests.get(url, params={"package_type": "starter"}, auth=good, timeout=30).status_code == 200
    assert requests.get(url, auth=bad, timeout=30).status_code == 401


def test_unknown_api_is_refused():
    with pytest.raises(HarnessError):
        _ = RunOptions(api="nope").apis


@pytest.mark.parametrize("hidden", ["schemathesis", "requests"])
def test_a_missing_contracts_extra_is_one_line_and_exit_2(cli, monkeypatch, hidden):
    """Installed without the `contracts` extra (a downstream CI job), the harness says what to
    install instead of dying with a traceback and exit 1 ("a contract failed")."""
    monkeypatch.setitem(sys.modules, hidden, None)  # as if not installed: import fails, find_spec is None
    result = cli("contracts", "run", "--api", "hubble", "--max-examples", "1")
    assert result.code == 2
    assert result.err.strip().splitlines() == [
        f"mockserver contracts: error: this command needs the 'contracts' extra (missing: {hidden}); "
        "install it with: pip install 'mockserver[contracts]'"
    ]


def test_a_sandbox_behind_base_url_is_read_only_unless_allowed_and_says_so():
    """--help says "read-only unless --allow-writes": that holds for a mockserver sandbox too
    (it only lifts the client-side rate limit meant for the real API), and the run says so."""
    from mockserver.testing import MockServer

    with MockServer(scenario="empty", rate_limit=False) as server:
        for given in ({}, {"token": "hubble-sandbox-token-0123456789abcdef", "org_id": ORG_ID}):
            (target,) = remote_targets(RunOptions(api="hubble", base_url=server.hubble_url, **given)).values()
            assert target.sandbox and not target.writes_allowed and target.rate_limit is None
            assert target.describe() == (
                f"hubble at {server.hubble_url}: a mockserver sandbox; read-only: GET only "
                "(--allow-writes sends writes too); no client-side rate limit"
            )
        (allowed,) = remote_targets(RunOptions(api="hubble", base_url=server.hubble_url, allow_writes=True)).values()
        assert allowed.writes_allowed and "writes allowed" in allowed.describe()
