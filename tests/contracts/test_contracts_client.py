"""`mockserver contracts client -- COMMAND`: a user's client against a fresh fake, failing with
a readable report of each request that breaks the spec; proven on the official SDK."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

from brokenapis import no_traceback

CLIENT = textwrap.dedent(
    """
    import os, httpx
    base, org, token = os.environ["HUBBLE_BASE_URL"], os.environ["HUBBLE_ORG_ID"], os.environ["HUBBLE_API_TOKEN"]
    h = {"Authorization": "Bearer " + token}
    assert os.environ["MOCKSERVER_URL"] and os.environ["HUBBY_BASE_URL"] and os.environ["HUBBY_SECRET"]
    httpx.get(f"{base}/api/org/{org}/devices", params={"limit": 10}, headers=h)           # fine
    httpx.patch(f"{base}/api/org/{org}/devices/not-a-uuid", json={"set_name": 7}, headers=h)  # breaks the spec
    httpx.patch(f"{base}/api/org/{org}/devices/not-a-uuid", json={"set_name": 7}, headers=h)  # the same again
    httpx.get(f"{base}/api/org/{org}/gadgets", headers=h)                                   # no such operation
    """
)


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_violating_requests_are_reported_and_fail_the_run(cli, tmp_path):
    script = write(tmp_path, "client.py", CLIENT)
    out_json = tmp_path / "violations.json"
    result = cli("contracts", "client", "--json", str(out_json), "--", sys.executable, script)
    assert result.code == 1, result.text
    report = result.out
    assert "`" in report and "exited 0; 3 request(s) broke the spec (2 distinct)" in report
    assert "hubble update-device: PATCH /hubble/api/org/" in report and "(x2; first shown)" in report
    assert "path.device_id:" in report and "body.set_name: 7 is not of type \"string\"" in report
    assert "request as sent:" in report and '{"set_name":7}' in report
    assert "authorization: Bearer hubb***" in report  # credentials masked
    assert "hubble no such operation: GET /hubble/api/org/" in report and "/gadgets -> 404" in report
    saved = json.loads(out_json.read_text())
    assert {v["kind"] for v in saved} == {"request", "unknown-endpoint"}
    assert no_traceback(result.text)


def test_a_clean_client_passes_and_a_failing_command_keeps_its_exit_code(cli, tmp_path):
    good = write(tmp_path, "good.py", "import os, httpx\nassert httpx.get(os.environ['MOCKSERVER_URL'] + '/_mock/health').status_code == 200\n")
    result = cli("contracts", "client", "--", sys.executable, good)
    assert result.code == 0, result.text
    assert "no request broke the spec" in result.out
    failing = write(tmp_path, "fails.py", "raise SystemExit(3)\n")
    assert cli("contracts", "client", "--", sys.executable, failing).code == 3


def test_a_command_that_cannot_start_is_a_one_line_error(cli):
    result = cli("contracts", "client", "--", "definitely-not-a-command-xyz")
    assert result.code == 2
    assert result.err.strip() == "mockserver contracts: error: command not found: definitely-not-a-command-xyz"
    assert cli("contracts", "client").code == 2


def test_the_official_sdk_as_a_client_breaks_no_rule_of_the_fake_but_differs_from_the_vendor_document(
    cli, tmp_path, hubble_vendor_spec
):
    vendor = hubble_vendor_spec
    result = cli("contracts", "client", "--no-rate-limit", "--vendor-spec", str(vendor), "--",
                 sys.executable, "-m", "mockserver.contracts.sdk_exercise")
    assert result.code == 0, result.text
    assert "no request broke the spec" in result.out
    vendor_part = result.out.split("Against the vendor's own document")[1]
    for expected in ("query parameter `daysBack`", "DELETE is not documented", "packets/decode",
                     "'AES-128-EAX' is not one of", "body field `body.eid_rotation`"):
        assert expected in vendor_part, expected
