"""contracts/REPORT-pyhubblenetwork.md is generated (`mockserver contracts sdk-report`): this
regenerates it and fails when the committed file is out of date or says something else."""

from __future__ import annotations

import difflib

from mockserver.contracts import sdk_report


def test_the_committed_report_is_what_the_script_generates_now(hubble_vendor_spec):
    generated = sdk_report.generate()
    committed = sdk_report.DEFAULT_OUTPUT.read_text(encoding="utf-8")
    if generated != committed:
        diff = "".join(difflib.unified_diff(committed.splitlines(True), generated.splitlines(True), "committed", "generated"))
        raise AssertionError(f"{sdk_report.DEFAULT_OUTPUT} is out of date; run `mockserver contracts sdk-report`\n{diff}")
    # what it must keep saying (hubble-real-client.md): the SDK's calls the vendor document lacks
    for finding in (
        "POST /api/org/{org_id}/packets/decode: undocumented-path",
        "POST /api/org/{org_id}/packets: undocumented-operation",
        "DELETE /api/org/{org_id}/devices/{device_id}: undocumented-operation",
        "query parameter `daysBack`",
        "query parameter `timeInterval`",
        "'AES-128-EAX' is not one of",
        "body field `body.eid_rotation`",
        "Violations of the fake's contract: 0",
    ):
        assert finding in generated, finding


def test_check_mode_reports_an_outdated_file(tmp_path, cli, hubble_vendor_spec):
    stale = tmp_path / "REPORT.md"
    stale.write_text("old\n")
    result = cli("contracts", "sdk-report", "--check", "--output", str(stale))
    assert result.code == 1 and "is out of date" in result.err
