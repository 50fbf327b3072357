"""The pipeline remembers parameter checks and response checks by their inputs; a repeated
request must get exactly the answer, violations and journal entry it got the first time,
and a change of any input must be checked afresh."""

from __future__ import annotations

from test_pipeline import make_client


def test_repeated_bad_query_reports_the_same_violations_every_time() -> None:
    client, runtime = make_client(rate_limit=False)
    answers = [client.get("/t/things?limit=99&tag=a") for _ in range(3)]
    assert {r.status_code for r in answers} == {400}
    assert len({r.json()["description"] for r in answers}) == 1
    entries = runtime.journal.entries(violations=True)
    assert len(entries) == 3
    assert all(e["violations"] == [{"location": "query.limit", "message": entries[0]["violations"][0]["message"]}] for e in entries)
    assert client.get("/t/things?limit=9&tag=a").status_code == 200  # another query, checked afresh


def test_cached_parameters_are_fresh_copies_for_each_call() -> None:
    client, _ = make_client(rate_limit=False)
    first = client.get("/t/things?tag=a&tag=b").json()["query"]
    again = client.get("/t/things?tag=a&tag=b").json()["query"]
    assert first == again == {"tag": ["a", "b"]}


def test_repeated_bad_response_is_caught_every_time_in_strict_mode() -> None:
    client, runtime = make_client(rate_limit=False, strict=True)
    for _ in range(3):
        r = client.get("/t/things/7")
        assert r.status_code == 500 and "breaks its own specification" in r.json()["description"]
    assert len(runtime.journal.entries(violations=True)) == 3
    assert client.get("/t/things/5").status_code == 200  # a valid body is still valid
    assert client.get("/t/things/7").status_code == 500  # and the bad one still bad


def test_lenient_mode_records_every_repeated_response_violation() -> None:
    client, runtime = make_client(rate_limit=False, strict=False)
    for _ in range(2):
        assert client.get("/t/things/7").status_code == 200
    entries = runtime.journal.entries(violations=True)
    assert len(entries) == 2 and entries[0]["response_violations"] == entries[1]["response_violations"]


def _keyed_client(strict: bool):  # noqa: ANN202
    """A mount whose handler answers pre-encoded bodies with an object standing for each."""
    from starlette.applications import Starlette
    from starlette.routing import Mount
    from starlette.testclient import TestClient
    from test_pipeline import DOC, render

    from mockserver.kernel.api import ApiMount, Reply
    from mockserver.kernel.runtime import Runtime
    from mockserver.kernel.spec import Spec, dumps
    from mockserver.settings import Settings

    bodies = {5: {"name": "x", "n": 5}, 7: {"name": "much too long"}}
    keys = {n: object() for n in bodies}

    def get_thing(call):  # noqa: ANN001, ANN202
        n = call.path_params["thing_id"]
        return Reply(bodies[n], encoded=dumps(bodies[n]), check_key=keys[n])

    runtime = Runtime(Settings(rate_limit=False, strict=strict))
    mount = ApiMount("t", Spec("t", DOC), {"list-things": get_thing, "make-thing": get_thing, "get-thing": get_thing}, runtime, None, render)
    return TestClient(Starlette(routes=[Mount("/t", app=mount)])), runtime


def test_a_body_given_with_a_standing_object_is_checked_like_any_other() -> None:
    client, runtime = _keyed_client(strict=True)
    for _ in range(3):
        good = client.get("/t/things/5")
        assert good.status_code == 200 and good.content == b'{"name":"x","n":5}'
        bad = client.get("/t/things/7")
        assert bad.status_code == 500 and "breaks its own specification" in bad.json()["description"]
    assert len(runtime.journal.entries(violations=True)) == 3
    lenient, runtime = _keyed_client(strict=False)
    assert lenient.get("/t/things/7").content == b'{"name":"much too long"}'
    assert runtime.journal.entries(violations=True)[0]["response_violations"]
