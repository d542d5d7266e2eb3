"""The importer's memo: one computation per distinct value, results looked up per row."""

from __future__ import annotations

import pyarrow as pa

from warmer.sample._memo import Memo


def _upper_memo(calls: list[str], limit: int = 500_000) -> Memo:
    def compute(value: str) -> tuple[str, int]:
        calls.append(value)
        return value.upper(), len(value)

    return Memo(compute, [pa.string(), pa.int64()], limit=limit)


def test_results_per_row_and_one_computation_per_distinct_value() -> None:
    calls: list[str] = []
    memo = _upper_memo(calls)
    first = memo.lookup(pa.array(["ab", None, "c", "ab"]))
    second = memo.lookup(pa.array(["c", "dd", "ab"]))
    assert memo.column(0, first).to_pylist() == ["AB", None, "C", "AB"]
    assert memo.column(1, second).to_pylist() == [1, 2, 2]
    assert sorted(calls) == ["ab", "c", "dd"]
    assert memo.counts(first).tolist() == [2, 1, 0]


def test_starting_over_past_the_limit_keeps_results_right() -> None:
    calls: list[str] = []
    memo = _upper_memo(calls, limit=2)
    memo.lookup(pa.array(["a", "b"]))
    assert memo.generation == 0
    found = memo.lookup(pa.array(["b", "c", "d", "c"]))
    assert memo.generation == 1
    assert memo.column(0, found).to_pylist() == ["B", "C", "D", "C"]
    assert len(memo.results(0)) == 3  # only this block's distinct values are kept
