"""The import pipeline end to end: compression, stdin, several inputs merged by time."""

from __future__ import annotations

import gzip
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest
import zstandard

from warmer.sample.importer import ImportOptions, import_logs, merge_by_time
from warmer.sample.store import open_sample

from ._import_helpers import combined

LINE = (
    '10.0.0.1 - - [02/Nov/2026:08:{m:02d}:{s:02d} +0100] "GET /{tag}/{i} HTTP/1.1" 200 1 "-" "u"\n'
)


def _log(tag: str, seconds: list[int]) -> str:
    return "".join(LINE.format(m=s // 60, s=s % 60, tag=tag, i=i) for i, s in enumerate(seconds))


@pytest.mark.parametrize("kind", ["plain", "gz", "zst"])
def test_compressed_inputs(tmp_path: Path, kind: str) -> None:
    data = combined(50).encode()
    if kind == "gz":
        data = gzip.compress(data)
    elif kind == "zst":
        data = zstandard.ZstdCompressor().compress(data)
    src = tmp_path / f"in.{kind}"
    src.write_bytes(data)
    report = import_logs([str(src)], tmp_path / "o.parquet")
    assert report.written == 50
    assert "combined" in report.sources[0].format


def test_stdin(tmp_path: Path) -> None:
    out = tmp_path / "o.jsonl"
    result = subprocess.run(
        [sys.executable, "-m", "warmer", "sample", "import", "-", "-o", str(out)],
        input=gzip.compress(combined(20).encode()),
        capture_output=True,
    )
    assert result.returncode == 0, result.stderr
    assert open_sample(out).meta.sources[0]["path"] == "-"
    assert len(open_sample(out).to_table()) == 20


def test_several_files_merged_in_time_order(tmp_path: Path) -> None:
    a = tmp_path / "a.log"
    b = tmp_path / "b.log.gz"
    a.write_text(_log("a", [0, 2, 4, 6, 100, 101]))
    b.write_bytes(gzip.compress(_log("b", [1, 3, 5, 7, 50, 102]).encode()))
    report = import_logs([str(a), str(b)], tmp_path / "o.parquet")
    table = open_sample(tmp_path / "o.parquet").to_table()
    ts = table.column("ts").to_pylist()
    assert ts == sorted(ts)
    assert [t.split("/")[1] for t in table.column("target").to_pylist()] == [
        "a",
        "b",
        "a",
        "b",
        "a",
        "b",
        "a",
        "b",
        "b",
        "a",
        "a",
        "b",
    ]
    assert [s.records for s in report.sources] == [6, 6]
    meta = open_sample(tmp_path / "o.parquet").meta
    assert [s["path"] for s in meta.sources] == [str(a), str(b)]


def test_merge_bounded_buffers() -> None:
    def stream(start: float, blocks: int) -> list[pa.Table]:
        return [pa.table({"ts": [start + 10 * k + j for j in range(5)]}) for k in range(blocks)]

    merged = list(merge_by_time([iter(stream(0.0, 4)), iter(stream(0.5, 4)), iter([])]))
    ts = [v for t in merged for v in t.column("ts").to_pylist()]
    assert ts == sorted(ts) and len(ts) == 40
    assert max(t.num_rows for t in merged) <= 20  # never everything at once


def test_block_order_within_one_file(tmp_path: Path) -> None:
    src = tmp_path / "r.log"
    src.write_text(_log("r", [5, 3, 4, 1, 2]))
    import_logs([str(src)], tmp_path / "o.parquet")
    ts = open_sample(tmp_path / "o.parquet").to_table().column("ts").to_pylist()
    assert ts == sorted(ts)


def test_meta_records_sources_and_key_config(tmp_path: Path) -> None:
    src = tmp_path / "m.log"
    src.write_text(combined(5) + "junk\n")
    import_logs([str(src)], tmp_path / "o.jsonl.zst", ImportOptions())
    meta = open_sample(tmp_path / "o.jsonl.zst").meta
    (source,) = meta.sources
    assert (source["lines"], source["records"], source["malformed"]) == (6, 5, 1)
    assert source["malformed_first"] == [[6, "does not match the format"]]
    assert meta.requests == 5 and meta.key_config["sort_params"] is True


def test_prefetch_passes_items_and_errors_and_stops_when_closed() -> None:
    import threading

    from warmer.sample._memo import prefetch

    assert list(prefetch(iter(range(10)))) == list(range(10))

    def failing() -> Iterator[int]:
        yield 1
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        list(prefetch(failing()))
    endless = prefetch(iter(range(10**9)))
    assert next(endless) == 0
    endless.close()
    assert not any(t.name == "warmer-parse" and t.is_alive() for t in threading.enumerate())


def test_nothing_blocks_pandas_while_logs_are_imported(tmp_path: Path) -> None:
    """A user's own code may import pandas while warmer works (here: the import's
    on_source hook, in a fresh interpreter where pandas is not loaded yet)."""
    import subprocess
    import sys

    src = tmp_path / "in.log"
    src.write_text(combined(20))
    script = f"""
import sys
from pathlib import Path
assert "pandas" not in sys.modules
from warmer.sample.importer import ImportOptions, import_logs
seen = []
def hook(*args):
    import pandas
    seen.append(pandas.DataFrame({{"a": [1]}}).shape)
import_logs([{str(src)!r}], Path({str(tmp_path / "o.parquet")!r}), ImportOptions(), on_source=hook)
assert seen == [(1, 1)], seen
print("ok")
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("ok")


def test_several_inputs_keep_each_rows_own_headers_and_client(tmp_path: Path) -> None:
    """Inputs parse on their own threads and share the header and client memos."""
    paths = []
    for name in "abc":
        lines = [
            f"10.{ord(name)}.{i % 200}.1 - - [02/Nov/2026:08:{i // 600 % 60:02d}:{i // 10 % 60:02d}"
            f' +0100] "GET /{name}/{i % 500} HTTP/1.1" 200 5 "https://{name}.example/?q={i % 50}"'
            f' "agent-{name}-{i % 300}"\n'
            for i in range(20_000)
        ]
        path = tmp_path / f"{name}.log"
        path.write_text("".join(lines))
        paths.append(str(path))
    import_logs(paths, tmp_path / "o.parquet")
    rows = open_sample(tmp_path / "o.parquet").to_table().to_pylist()
    assert len(rows) == 60_000
    clients: dict[str, set[str]] = {}
    for row in rows:
        name = row["target"].split("/")[1]
        headers = dict(row["headers"])
        assert headers["user-agent"].startswith(f"agent-{name}-")
        assert headers["referer"].startswith(f"https://{name}.example/")
        clients.setdefault(name, set()).add(row["client"])
    assert [len(c) for c in clients.values()] == [200, 200, 200]
    assert len(set.union(*clients.values())) == 600  # every address its own hash
