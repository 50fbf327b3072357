"""A harness that cannot fail is worth nothing: the Hubble suite passes against a small correct
server and fails, saying what is wrong, against the same server with one fault switched on.

Each run is the real CLI (`mockserver contracts run` -> a pytest subprocess running the
shipped suite) against a tiny server this test starts on 127.0.0.1, with a subset of the
Hubble spec (check, register, list, batch update, get, patch, delete devices).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from brokenapis import (
    ENDLESS_PAGING,
    HUBBY_KEY,
    HUBBY_SECRET,
    IGNORE_AUTH,
    KEEPS_DELETED,
    LOSES_DEVICES,
    NO_SCOPE_CHECK,
    NO_VALIDATION,
    SERVER_ERROR,
    SKIPS_SIGNATURE,
    WRONG_TYPE,
    no_traceback,
    tiny_hubble_args,
)


def test_correct_server_passes_with_a_junit_report(tiny, subset_specs, cli, tmp_path):
    url = tiny("hubble")
    report = tmp_path / "junit.xml"
    result = cli(*tiny_hubble_args(url, subset_specs["hubble"], "--junit-xml", str(report)))
    assert result.code == 0, result.text
    assert "test_hubble_operation[GET /api/org/{org_id}/devices] PASSED" in result.out  # progress lines
    suite = ET.parse(report).getroot().find("testsuite")
    names = [case.get("name") for case in suite.iter("testcase")]
    assert suite.get("failures") == "0" and suite.get("errors") == "0"
    assert "test_hubble_operation[POST /api/v2/org/{org_id}/devices]" in names
    assert "test_hubble_stateful" in names
    assert "test_hubble_paging_terminates[GET /api/org/{org_id}/devices]" in names


# fault, the tests worth running for it (-k), what the report must say
CASES = [
    pytest.param(
        WRONG_TYPE, "operation and GET", ["Response violates schema", "is not of type \"integer\"",
                                          "Schema at /components/schemas/UnixSeconds", "curl -X GET"],
        id="wrong-field-type",
    ),
    pytest.param(
        NO_SCOPE_CHECK, "operation and GET", ["scope_enforcement", "needs `read-devices`",
                                              "holding only [read-billing-usage] got 200 instead of 403"],
        id="missing-scope-check",
    ),
    pytest.param(
        SERVER_ERROR, "operation and GET", ["Server error", "[500] Internal Server Error", "sorting crashed", "sort_field="],
        id="server-error",
    ),
    pytest.param(
        ENDLESS_PAGING, "paging", ["paging_terminates", "Paging never ends", "empty pages in a row",
                                   "Continuation-Token"],
        id="token-never-ends-paging",
    ),
    pytest.param(
        IGNORE_AUTH, "operation and GET", ["API accepts requests without authentication", "Expected 401 or 403"],
        id="ignored-auth",
    ),
    pytest.param(
        NO_VALIDATION, "operation and GET", ["Schema-violating request accepted", "Invalid component"],
        id="accepts-invalid-query",
    ),
    pytest.param(
        LOSES_DEVICES, "stateful", ["linked_resource_availability", "A resource created a moment ago is not there",
                                    "Scenario (steps so far)", "POST /api/v2/org/"],
        id="created-device-missing",
    ),
    pytest.param(
        KEEPS_DELETED, "stateful", ["Deleted resource still available", "The resource was deleted with `DELETE"],
        id="deleted-device-still-there",
    ),
]


@pytest.mark.parametrize(("fault", "keyword", "expected"), CASES)
def test_broken_server_fails_with_a_useful_message(tiny, subset_specs, cli, fault, keyword, expected):
    url = tiny("hubble", fault)
    result = cli(*tiny_hubble_args(url, subset_specs["hubble"], "-k", keyword))
    assert result.code == 1, result.text
    for text in expected:
        assert text in result.out, f"{text!r} missing from:\n{result.out}"
    assert "FAILED" in result.out


def hubby_args(url: str, spec, *extra: str) -> list[str]:
    return [
        "contracts", "run", "--api", "hubby", "--base-url", f"{url}/hubby/api", "--spec", str(spec),
        "--api-key", HUBBY_KEY, "--secret", HUBBY_SECRET, "--max-examples", "10", "--seed", "7", "--rate-limit", "off",
        *extra,
    ]


def test_hmac_signed_suite_passes_a_server_that_checks_signatures(tiny, subset_specs, cli):
    result = cli(*hubby_args(tiny("hubby"), subset_specs["hubby"]))
    assert result.code == 0, result.text
    assert "test_hubby_operation[GET /countries] PASSED" in result.out


def test_hmac_suite_fails_a_server_that_ignores_signatures(tiny, subset_specs, cli):
    result = cli(*hubby_args(tiny("hubby", SKIPS_SIGNATURE), subset_specs["hubby"]))
    assert result.code == 1, result.text
    assert "API accepts requests without authentication" in result.out or "accepts invalid authentication" in result.out


def test_wrong_secret_is_a_one_line_error(tiny, subset_specs, cli):
    url = tiny("hubby")
    result = cli("contracts", "run", "--api", "hubby", "--base-url", f"{url}/hubby/api", "--spec",
                 str(subset_specs["hubby"]), "--api-key", HUBBY_KEY, "--secret", "not-the-secret")
    assert result.code == 2
    assert result.err.strip() == (
        "mockserver contracts: error: hubby: the credentials were refused (401 from GET /countries); "
        "check the API key / secret"
    )
    assert no_traceback(result.text)
