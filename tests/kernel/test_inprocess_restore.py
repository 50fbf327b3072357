"""`MockServer.restore(state)` restores from the caller's document in-process
(kernel/statedoc.py): the result is what `PUT /_mock/state` with that document gives, the
server never shares a row with the caller's dict, and what the endpoint refuses is refused
with its 400, changing nothing.
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Iterator
from typing import Any

import orjson
import pytest

from mockserver.kernel.jsonguard import MAX_JSON_DEPTH
from mockserver.testing import MockServer

T0 = 1_764_000_000.0


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[MockServer, MockServer]]:
    """Two servers with the same start: one restored in-process, one over HTTP."""
    a = MockServer(scenario="demo", clock="frozen", clock_start=T0, rate_limit=False).start()
    b = MockServer(scenario="demo", clock="frozen", clock_start=T0, rate_limit=False).start()
    try:
        yield a, b
    finally:
        a.stop()
        b.stop()


def _http_state(server: MockServer) -> dict[str, Any]:
    """GET /_mock/state over HTTP, less the clock's saved wall-time offset (it differs
    between two servers by the moment each saved it)."""
    assert server.control is not None
    response = server.control.get("/state")
    assert response.status_code == 200, response.text
    state = orjson.loads(response.content)
    state["tables"].pop("kernel.clock", None)
    return state


def _put(server: MockServer, document: Any) -> Any:
    assert server.control is not None
    return server.control.put("/state", content=orjson.dumps(document), headers={"Content-Type": "application/json"})


def _device(state: dict[str, Any]) -> str:
    return next(iter(state["tables"]["hubble.devices"]))


def test_a_change_to_the_callers_document_after_a_restore_never_reaches_the_server(servers):
    server, _ = servers
    server.reset()
    document = server.snapshot()
    device = _device(document)
    document["tables"]["hubble.devices"][device] = {**document["tables"]["hubble.devices"][device], "name": "restored"}
    server.restore(document)
    assert _http_state(server)["tables"]["hubble.devices"][device]["name"] == "restored"
    document["tables"]["hubble.devices"][device]["name"] = "changed afterwards"  # in place
    document["tables"]["hubble.orgs"].clear()
    after = _http_state(server)
    assert after["tables"]["hubble.devices"][device]["name"] == "restored"
    assert after["tables"]["hubble.orgs"]
    server.reset()


def test_values_json_lacks_come_out_as_the_endpoint_reads_them(servers):
    inproc, http = servers
    for server in servers:
        server.reset()
    document = inproc.snapshot()
    device = _device(document)
    row = document["tables"]["hubble.devices"][device]
    document["tables"]["hubble.devices"][device] = {
        **row, "name": ("a", "tuple"), "when": datetime.datetime(2030, 1, 2, 3, 4, 5), "nan": math.nan, "one": 1.0,
    }  # fmt: skip
    document["tables"]["extra.table"] = {"k": {"nested": [[{"x": 1}]]}}
    inproc.restore(document)
    assert _put(http, document).status_code == 200
    assert _http_state(inproc) == _http_state(http)
    held = inproc.runtime.store.live_rows("hubble.devices")[device]  # plain JSON, as parsed
    assert (held["name"], held["when"], held["nan"]) == (["a", "tuple"], "2030-01-02T03:04:05", None)
    for server in servers:
        server.reset()


def _deep(levels: int) -> Any:
    value: Any = 1
    for _ in range(levels):
        value = [value]
    return value


@pytest.mark.parametrize(
    "bad",
    [
        pytest.param(lambda: "\ud800", id="lone surrogate"),
        pytest.param(lambda: _deep(MAX_JSON_DEPTH), id="nested past the limit"),
        pytest.param(lambda: {1: "a non-string key"}, id="non-string key"),
    ],
)
def test_what_the_endpoint_refuses_is_refused_alike_and_changes_nothing(servers, bad):
    inproc, http = servers
    for server in servers:
        server.reset()
    before = _http_state(inproc)
    document = inproc.snapshot()
    device = _device(document)
    document["tables"]["hubble.devices"][device] = {**document["tables"]["hubble.devices"][device], "name": bad()}
    try:
        content = orjson.dumps(document)
    except TypeError:  # what MockServer.restore sends when orjson will not encode it
        import json

        content = json.dumps(document).encode("utf-8", "surrogatepass")
    assert http.control is not None
    answer = http.control.put("/state", content=content, headers={"Content-Type": "application/json"})
    if answer.status_code == 200:  # the endpoint takes it (a non-string key becomes a string): so must we
        inproc.restore(document)
        assert _http_state(inproc) == _http_state(http)
    else:
        assert answer.status_code == 400, answer.text
        with pytest.raises(RuntimeError) as refused:
            inproc.restore(document)
        message = str(refused.value)
        assert message.startswith("control call PUT /_mock/state failed: 400 ")
        assert orjson.loads(message.split(" 400 ", 1)[1]) == answer.json()  # the endpoint's own words
        assert _http_state(inproc) == before
    for server in servers:
        server.reset()


def test_a_restore_changes_only_the_rows_that_differ(servers):
    server, _ = servers
    server.reset()
    document = server.snapshot()
    store = server.runtime.store
    devices = store.live_rows("hubble.devices")
    device = _device(document)
    untouched = next(k for k in devices if k != device)
    kept = devices[untouched]
    document["tables"]["hubble.devices"][device] = {**document["tables"]["hubble.devices"][device], "name": "x"}
    server.restore(document)
    assert store.live_rows("hubble.devices")[untouched] is kept  # equal: the store's own row stays
    assert store.live_rows("hubble.devices")[device]["name"] == "x"
    server.reset()
