"""JSONL samples read whole by Arrow's JSON reader: same table, same errors as record by record."""

from __future__ import annotations

import gzip
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from warmer.errors import InputError
from warmer.sample._fast_jsonl import (
    bool_array,
    int_array,
    read_table,
    string_array,
    struct_to_map,
    valid_mask,
)
from warmer.sample.store import open_sample

DEMO_SAMPLE = Path(__file__).parents[2] / "traffic_samples" / "demo.jsonl.gz"
HEADER = '{"warmer_sample":{"requests":%d}}'


def _write(path: Path, lines: list[str], *, ending: str = "\n") -> Path:
    data = "".join(line + ending for line in lines).encode()
    path.write_bytes(gzip.compress(data) if path.suffix == ".gz" else data)
    return path


def _fast(path: Path) -> pa.Table | None:
    """The fast path alone: a table, or None where it hands over to the slow one."""
    reader = open_sample(path)
    header = reader.meta.requests if getattr(reader, "_header", None) is not None else None
    return read_table(
        reader.path,
        getattr(reader, "_compression"),  # noqa: B009 - the reader's private detail
        header_requests=header,
        key_function=getattr(reader, "_key_function"),  # noqa: B009
    )


def _record_by_record(path: Path) -> pa.Table:
    reader = open_sample(path)
    rows = list(reader._rows())  # type: ignore[attr-defined]
    return pa.Table.from_batches([reader._batch(rows)])  # type: ignore[attr-defined]


def test_demo_sample_takes_the_fast_path_and_matches() -> None:
    fast = _fast(DEMO_SAMPLE)
    assert fast is not None, "the bundled sample fell back to the record-by-record reader"
    assert fast.equals(_record_by_record(DEMO_SAMPLE))
    assert open_sample(DEMO_SAMPLE).to_table().equals(fast)


WELL_FORMED = {
    "no header, keys computed": [
        '{"ts":1,"method":"GET","target":"/a?b=1&a=2&utm_source=x"}',
        '{"ts":2.5,"method":"HEAD","target":"/b","headers":{"accept":"x","user-agent":"y"}}',
    ],
    "header, empty and absent headers": [
        HEADER % 3,
        '{"ts":1,"method":"GET","target":"/a","key":"K"}',
        '{"ts":2,"method":"GET","target":"/b","headers":{}}',
        '{"ts":3,"method":"GET","target":"/c","headers":{"accept":"*/*"},"status":304}',
    ],
    "header only": [HEADER % 0],
    "unknown fields ignored": [
        '{"ts":1,"method":"GET","target":"/","x":{"y":1}}',
        '{"ts":1,"method":"GET","target":"/","x":null}',
    ],
    "escapes": [
        '{"ts":1,"method":"GET","target":"/\\u00e9\\ud83d\\ude00","headers":{"x":"\\u00ff"}}'
    ],
}


@pytest.mark.parametrize("name", WELL_FORMED)
@pytest.mark.parametrize("suffix", [".jsonl", ".jsonl.gz"])
def test_well_formed_files_read_the_same_both_ways(tmp_path: Path, name: str, suffix: str) -> None:
    path = _write(tmp_path / f"s{suffix}", WELL_FORMED[name])
    fast = _fast(path)
    assert fast is not None
    assert fast.equals(_record_by_record(path))


@pytest.mark.parametrize("ending", ["\r\n", ""])
def test_crlf_and_a_missing_last_newline(tmp_path: Path, ending: str) -> None:
    lines = ['{"ts":1,"method":"GET","target":"/a"}', '{"ts":2,"method":"GET","target":"/b"}']
    path = tmp_path / "s.jsonl"
    path.write_bytes((ending or "\n").join(lines).encode() + ending.encode())
    fast = _fast(path)
    assert fast is not None and fast.column("target").to_pylist() == ["/a", "/b"]
    assert fast.equals(_record_by_record(path))


BAD = {
    "ts is a boolean": (['{"ts":true,"method":"GET","target":"/"}'], r":1: ts must be a number"),
    "ts is a string": (['{"ts":"1","method":"GET","target":"/"}'], r":1: ts must be a number"),
    "target missing": (['{"ts":1,"method":"GET"}'], r":1: record lacks required field\(s\) target"),
    "method null": (['{"ts":1,"method":null,"target":"/"}'], r"lacks required field\(s\) method"),
    "method a number": (['{"ts":1,"method":5,"target":"/"}'], r":1: method and target must be"),
    "header value a number": (
        ['{"ts":1,"method":"GET","target":"/","headers":{"a":1}}'],
        "wrong type",
    ),
    "headers a list": (
        ['{"ts":1,"method":"GET","target":"/","headers":[["a","b"]]}'],
        "wrong type",
    ),
    "status a string": (['{"ts":1,"method":"GET","target":"/","status":"200"}'], "wrong type"),
    "a lone null": (["null"], r":1: a sample record must be a JSON object"),
    "an array": (['{"ts":1,"method":"GET","target":"/"}', "[1]"], r":2: .* must be a JSON object"),
    "cut last line": (
        ['{"ts":1,"method":"GET","target":"/"}', '{"ts":2'],
        r":2: not a JSON object",
    ),
    "count differs": ([HEADER % 2, '{"ts":1,"method":"GET","target":"/"}'], "holds 1 records"),
    "two on one line": (
        ['{"ts":1,"method":"GET","target":"/"}', '{"ts":1,"method":"GET","target":"/"} {}'],
        r":2: not a JSON object \(Extra data\)",
    ),
}


@pytest.mark.parametrize("name", BAD)
@pytest.mark.parametrize("suffix", [".jsonl", ".jsonl.gz"])
def test_bad_records_keep_their_errors(tmp_path: Path, name: str, suffix: str) -> None:
    lines, message = BAD[name]
    path = _write(tmp_path / f"s{suffix}", lines)
    assert _fast(path) is None
    with pytest.raises(InputError, match=message):
        open_sample(path).to_table()


def test_blank_lines_are_read_record_by_record(tmp_path: Path) -> None:
    lines = ['{"ts":1,"method":"GET","target":"/a"}', "", '{"ts":2,"method":"GET","target":"/b"}']
    path = _write(tmp_path / "s.jsonl", lines)
    assert _fast(path) is None
    assert open_sample(path).to_table().column("target").to_pylist() == ["/a", "/b"]


def test_truncated_gzip_keeps_its_error(tmp_path: Path) -> None:
    path = _write(tmp_path / "s.jsonl.gz", ['{"ts":1,"method":"GET","target":"/a"}'] * 50)
    path.write_bytes(path.read_bytes()[:-12])
    assert _fast(path) is None
    with pytest.raises(InputError, match="truncated or corrupt"):
        open_sample(path).to_table()


def test_struct_to_map_keeps_present_fields_in_struct_order() -> None:
    struct = pa.array(
        [{"a": "1", "b": None}, None, {"a": None, "b": None}, {"a": "2", "b": "3"}],
        pa.struct([("a", pa.string()), ("b", pa.string())]),
    )
    mapped = struct_to_map(struct, ["a", "b"])
    assert mapped.to_pylist() == [[("a", "1")], None, [], [("a", "2"), ("b", "3")]]


def test_struct_to_map_of_a_slice() -> None:
    struct = pa.array([{"a": "0"}, {"a": None}, {"a": "2"}], pa.struct([("a", pa.string())])).slice(
        1
    )
    assert struct_to_map(struct, ["a"]).to_pylist() == [[], [("a", "2")]]


def test_valid_mask_reads_the_bitmap_of_a_slice() -> None:
    array = pa.array(["x", None, "y", None, None, "z", "w", None, "v"]).slice(2)
    assert valid_mask(array).tolist() == [value is not None for value in array.to_pylist()]


def test_reading_a_jsonl_sample_whole_does_not_load_pandas() -> None:
    # pyarrow imports pandas (~0.5 s on a cold start) on its first pa.array(list).
    code = (
        "import sys\n"
        "from warmer.sample.store import open_sample\n"
        f"open_sample({str(DEMO_SAMPLE)!r}).to_table()\n"
        "print('pandas' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_arrays_built_from_buffers() -> None:
    assert int_array(np.array([3, 1, 2], dtype=np.int32)).to_pylist() == [3, 1, 2]
    assert int_array(np.array([5, 6], dtype=np.int64)[::-1]).to_pylist() == [6, 5]
    flags = [True, False, True, True, False, False, False, False, True]
    assert bool_array(np.array(flags)).to_pylist() == flags
    assert string_array(["é", "", "ab"]).to_pylist() == ["é", "", "ab"]
    assert string_array([]).to_pylist() == []


def _lines(count: int, bad: int | None = None) -> list[str]:
    lines = [HEADER % count]
    for i in range(count):
        lines.append(
            f'{{"ts":{i},"method":"GET","target":"/k/{i}","headers":{{"h{i % 3}":"v"}}}}'
            if i != bad
            else '{"ts":"soon","method":"GET","target":"/bad"}'
        )
    return lines


@pytest.mark.parametrize("suffix", [".jsonl", ".jsonl.gz"])
def test_blocks_read_in_bounded_pieces_match_the_whole_file(
    tmp_path: Path, suffix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import warmer.sample._fast_jsonl as fast

    path = _write(tmp_path / f"s{suffix}", _lines(300))
    whole = _record_by_record(path)
    monkeypatch.setattr(fast, "BLOCK_BYTES", 1000)  # about 15 records a block
    batches = list(open_sample(path).iter_batches(batch_size=7))
    assert len(batches) > 20 and max(b.num_rows for b in batches) <= 7
    assert pa.Table.from_batches(batches).equals(whole)
    projected = pa.Table.from_batches(list(open_sample(path).iter_batches(columns=["key", "ts"])))
    assert projected.column_names == ["key", "ts"]
    assert projected.column("key").equals(whole.column("key"))


def test_a_bad_record_in_a_later_block_is_named_by_its_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import warmer.sample._fast_jsonl as fast

    path = _write(tmp_path / "s.jsonl", _lines(300, bad=250))
    monkeypatch.setattr(fast, "BLOCK_BYTES", 1000)
    with pytest.raises(InputError, match=r"s\.jsonl:252: ts must be a number"):
        list(open_sample(path).iter_batches())


def test_a_truncated_block_file_is_an_input_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import warmer.sample._fast_jsonl as fast

    path = _write(tmp_path / "s.jsonl.gz", _lines(300))
    path.write_bytes(path.read_bytes()[:-40])
    monkeypatch.setattr(fast, "BLOCK_BYTES", 1000)
    with pytest.raises(InputError, match="truncated or corrupt"):
        list(open_sample(path).iter_batches())
