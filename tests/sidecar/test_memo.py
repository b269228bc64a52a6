"""The label-set memos stay bounded: past their limit they forget, and go on remembering."""

from __future__ import annotations

from spc_rules.sidecar.query.memo import Memo


def test_a_memo_forgets_everything_at_its_limit_then_keeps_the_new_entry() -> None:
    memo: Memo[str, int] = Memo(limit=3)
    for i, key in enumerate("abc"):
        assert memo.keep(key, i) == i
    assert memo == {"a": 0, "b": 1, "c": 2}
    assert memo.keep("d", 3) == 3
    assert memo == {"d": 3}
