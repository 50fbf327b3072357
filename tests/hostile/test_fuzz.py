"""The fuzz job: schemathesis with every per-response check against every operation of the
three APIs and the control plane of one strict fake, a fixed seed and few examples (the
long run is `bench/bench_fuzz.py`). No answer may be a 5xx and no check may fail; schema-
valid bodies that a domain rule refuses (positive_data_acceptance) are counted apart."""

from __future__ import annotations

from mockserver.contracts import fuzz
from mockserver.contracts.fake import start_fake

from .conftest import Door

EXAMPLES = 3


def test_fuzzing_every_operation_gets_no_5xx_and_fails_no_check():
    server, targets = start_fake(strict=True)
    try:
        report = fuzz.run(server, targets, max_examples=EXAMPLES, seed=1)
    finally:
        server.stop()
    print(report.summary())
    assert set(report.by_api) == {"hubble", "hubby", "bumblebee", "control"}
    assert report.by_api["control"] >= 40 and report.requests >= 250, report.summary()
    assert report.server_errors == [], report.summary() + "\n" + "\n".join(report.server_errors)
    assert report.hard_failures == {}, report.summary()


def test_what_the_long_run_found_clock_reset_must_be_a_boolean(door: Door):
    """bench/bench_fuzz.py at 200 examples: `POST /_mock/clock {"reset": "x"}` was accepted
    (and rewound the clock) although the control plane's spec says a boolean."""
    for value in ("x", 1, None, [], {}):
        r = door.http.post("/_mock/clock", json={"reset": value})
        assert r.status_code == 400 and "reset must be true or false" in r.json()["error"], r.text
    assert door.http.post("/_mock/clock", json={"reset": False}).status_code == 200


def test_what_the_long_run_found_simulation_ids_must_be_strings(door: Door):
    """bench/bench_fuzz.py at 200 examples: `POST /_mock/hubble/packets {"org_id": []}` was a
    500 (an unhashable list used as a table key); an id that is not a string is a 400."""
    for path, field in (("/_mock/hubble/packets", "org_id"), ("/_mock/hubble/advertisements", "device_id")):
        for value in ([], {}, 5, None):
            r = door.http.post(path, json={field: value})
            assert r.status_code == 400 and f"{field} must be a string" in r.json()["error"], (path, value, r.text)


def test_what_the_fuzz_run_found_listing_limits_are_bounded(door: Door):
    """The control-plane fuzz run after merging the journal rewrite: `GET /_mock/requests?limit=-1`
    was a 500 (islice refuses a negative stop); a limit outside 0..1,000,000 is a 400."""
    for path in ("/_mock/requests", "/_mock/webhooks/deliveries"):
        for value in ("-1", "99999999999999999999", "x"):
            r = door.http.get(path, params={"limit": value})
            assert r.status_code == 400 and "limit must be" in r.json()["error"], (path, value, r.text)
        assert door.http.get(path, params={"limit": "0"}).status_code == 200
