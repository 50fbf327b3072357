"""kernel.memo.BoundedDict: at most `limit` entries, the oldest put forgotten first."""

from __future__ import annotations

import pytest

from mockserver.kernel.memo import BoundedDict


def test_holds_at_most_its_limit_and_forgets_the_oldest_first() -> None:
    memo: BoundedDict[int, str] = BoundedDict(3)
    for i in range(5):
        assert memo.put(i, f"v{i}") == f"v{i}"
    assert list(memo.items()) == [(2, "v2"), (3, "v3"), (4, "v4")]


def test_putting_a_key_it_holds_replaces_the_value_and_forgets_nothing() -> None:
    memo: BoundedDict[str, int] = BoundedDict(2)
    memo.put("a", 1)
    memo.put("b", 2)
    memo.put("a", 3)
    assert memo == {"a": 3, "b": 2}


def test_reads_and_clear_are_the_dicts() -> None:
    memo: BoundedDict[str, int] = BoundedDict(2)
    memo.put("a", 1)
    assert memo.get("a") == 1 and "a" in memo and memo["a"] == 1 and memo.get("z") is None
    memo.clear()
    assert memo == {} and memo.limit == 2


def test_a_limit_below_one_is_refused() -> None:
    with pytest.raises(ValueError):
        BoundedDict(0)
