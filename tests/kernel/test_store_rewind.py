"""Store.capture / rewind / restore: what a reset and PUT /_mock/state rely on."""

from __future__ import annotations

import orjson

from mockserver.kernel.store import Store


def _state(store: Store, prefix: str = "") -> bytes:
    return orjson.dumps(store.snapshot(prefix))


def _seeded(path: str | None = None) -> Store:
    store = Store(path)
    for i in range(5):
        store.table("a.rows").put(f"k{i}", {"i": i, "tags": {"x": i}})
    store.table("a.other").put("only", [1, 2, 3])
    store.table("b.rows").put("untouched", {"v": 1})
    return store


def test_rewind_puts_back_exactly_the_captured_rows_in_their_order():
    store = _seeded()
    before = _state(store)
    pristine = store.capture("a.")
    rows = store.table("a.rows")
    rows.put("k1", {**rows["k1"], "i": 100})
    rows.delete("k2")
    rows.put("k2", {"i": "back, at the end"})
    rows.delete("k3")
    rows.put("new", {"i": -1})
    store.table("a.other").clear()
    store.table("a.later").put("x", 1)  # a table that did not exist at the capture
    changed = store.rewind(pristine)
    assert changed == {"a.rows", "a.other", "a.later"}
    assert _state(store) == orjson.dumps({**orjson.loads(before), "a.later": {}})
    assert list(store.table("a.rows")) == [f"k{i}" for i in range(5)]
    assert len(store.table("a.later")) == 0
    assert store.rewind(pristine) == set()  # nothing written since: nothing to do


def test_the_capture_is_independent_of_the_live_rows():
    store = _seeded()
    pristine = store.capture("a.")
    store.table("a.rows")["k0"]["tags"]["x"] = "changed in place"  # what models must not do
    store.table("a.rows").put("k1", {"i": 1})
    store.rewind(pristine)
    assert store.table("a.rows")["k1"] == {"i": 1, "tags": {"x": 1}}
    store.table("a.rows").put("k0", store.table("a.rows")["k0"])
    store.rewind(pristine)
    assert store.table("a.rows")["k0"] == {"i": 0, "tags": {"x": 0}}


def test_rewind_and_restore_reach_the_database(tmp_path):
    path = str(tmp_path / "state.db")
    store = _seeded(path)
    store.flush()
    pristine = store.capture("a.")
    store.table("a.rows").delete("k0")
    store.table("a.rows").put("k9", {"i": 9})
    store.flush()
    store.rewind(pristine)
    store.close()
    reopened = Store(path)
    assert reopened.load()
    assert set(reopened.table("a.rows")) == {f"k{i}" for i in range(5)}
    doc = reopened.snapshot()
    doc["a.rows"] = {"k0": {"i": 0}}
    assert reopened.restore(doc) == {"a.rows"}
    reopened.close()
    again = Store(path)
    again.load()
    assert dict(again.table("a.rows").items()) == {"k0": {"i": 0}}
    assert dict(again.table("b.rows").items()) == {"untouched": {"v": 1}}
    again.close()


def test_a_table_that_wrote_too_much_cannot_be_rewound(monkeypatch):
    monkeypatch.setattr("mockserver.kernel.store.MAX_TOUCHED", 3)
    store = _seeded()
    pristine = store.capture("a.")
    for i in range(5):
        store.table("a.rows").put(f"n{i}", i)
    before = _state(store)
    assert store.rewind(pristine) is None
    assert _state(store) == before  # nothing was half done
    pristine = store.capture("a.")  # a new capture tracks again
    store.table("a.rows").put("one", 1)
    assert store.rewind(pristine) == {"a.rows"}
    assert "one" not in store.table("a.rows")
