"""Issue 10: `Table.version` changes on every path that changes a table's rows (views are
reused while the tables they read have the same versions)."""

from __future__ import annotations

from pathlib import Path

from mockserver.kernel.store import Store


def test_every_write_path_moves_the_version(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite")
    table = store.table("t")
    seen = [table.version]

    def moved() -> None:
        assert table.version != seen[-1]
        seen.append(table.version)

    table.put("a", {"n": 1})
    moved()
    pristine = store.capture("")
    table.put("b", {"n": 2})
    moved()
    table.delete("b")
    moved()
    table.put("a", {"n": 3})
    moved()
    store.rewind(pristine)
    moved()
    assert dict(table.items()) == {"a": {"n": 1}}
    store.restore({"t": {"c": {"n": 4}}})
    moved()
    table.clear()
    moved()
    store.adopt(pristine)  # a start from the seed cache (issue 9)
    moved()
    assert dict(table.items()) == {"a": {"n": 1}}
    store.table("t").put("d", {"n": 5})
    store.close()
    again = Store(tmp_path / "s.sqlite")
    before = again.table("t").version
    assert again.load() and again.table("t").version != before
    again.close()
