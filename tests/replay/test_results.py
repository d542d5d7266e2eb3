"""The results file: streamed, renamed into place on close, readable with its metadata."""

from __future__ import annotations

from pathlib import Path

import pytest

from warmer.errors import InputError
from warmer.model.results import RESULTS_ARROW_SCHEMA
from warmer.replay.results import ResultsWriter, open_results
from warmer.replay.shards import merge_summaries, parse_shard
from warmer.replay.summary import Tally


def _row(seq: int, status: int | None = 200, error: str | None = None) -> tuple[object, ...]:
    latency = None if error else 1.5
    return (seq, "warm", "GET", f"/{seq}", f"k{seq}", 1.7e9 + seq, seq * 0.1, seq * 0.1 + 0.001,
            latency, 2.0 if latency else None, status, 5, 123, error, "edge; hit", "HIT", None,
            "3", "max-age=60", None, None, '"v1"', None, [("x-served-by", "cache-a")])  # fmt: skip


def test_rows_round_trip_and_file_appears_only_on_close(tmp_path: Path) -> None:
    out = tmp_path / "r.parquet"
    writer = ResultsWriter(out, meta={"target": "http://c"})
    writer.write_rows([_row(0), _row(1)])
    writer.write_rows([_row(2, None, "timeout")])
    assert not out.exists()
    writer.add_run({"phase": "warm", "sent": 3})
    writer.close()
    results = open_results(out)
    assert results.num_rows == 3 and results.to_table().schema.equals(RESULTS_ARROW_SCHEMA)
    assert results.meta["target"] == "http://c" and results.meta["runs"] == [
        {"phase": "warm", "sent": 3}
    ]
    rows = results.to_table().to_pylist()
    assert rows[2]["error"] == "timeout" and rows[2]["status"] is None
    assert rows[0]["cache_status"] == "edge; hit" and rows[0]["cache_control"] == "max-age=60"
    assert rows[0]["recorded_s"] == 1.7e9 and rows[0]["body_digest"] == 123
    assert rows[0]["headers"] == [("x-served-by", "cache-a")]


def test_a_version_1_file_reads_with_the_new_columns_null(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    v1 = [f for f in RESULTS_ARROW_SCHEMA if f.name not in V2_ONLY]
    table = pa.table(
        {f.name: pa.array([values[f.name]], f.type) for f in v1 for values in [V1_ROW]},
        schema=pa.schema(v1),
    )
    meta = {b"warmer_results": b'{"schema_version": 1}'}
    pq.write_table(table.replace_schema_metadata(meta), tmp_path / "v1.parquet")
    results = open_results(tmp_path / "v1.parquet")
    assert results.schema_version == 1
    whole = results.to_table()
    assert set(whole.column_names) == set(RESULTS_ARROW_SCHEMA.names)
    row = whole.to_pylist()[0]
    assert row["cache_status"] == "l0; hit" and row["recorded_s"] is None
    assert row["cache_control"] is None and row["headers"] is None
    some = results.to_table(["key", "age", "expires"]).to_pylist()
    assert some == [{"key": "k", "age": "3", "expires": None}]
    batch = next(iter(results.iter_batches(columns=["key", "etag"])))
    assert batch.to_pylist() == [{"key": "k", "etag": None}]


V2_ONLY = {"recorded_s", "body_digest", "cache_control", "expires", "date", "etag",
           "last_modified", "headers"}  # fmt: skip
V1_ROW = {"seq": 0, "phase": "warm", "method": "GET", "target": "/", "key": "k",
          "scheduled_s": None, "sent_s": 0.1, "latency_ms": 1.0,
          "latency_from_schedule_ms": None, "status": 200, "response_bytes": 3, "error": None,
          "cache_status": "l0; hit", "x_cache": None, "x_cache_status": None,
          "age": "3"}  # fmt: skip


def test_open_results_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError):
        open_results(tmp_path / "missing.parquet")
    (tmp_path / "junk.parquet").write_text("not parquet")
    with pytest.raises(InputError):
        open_results(tmp_path / "junk.parquet")


def test_tally_and_merge_add_counts_and_histograms(tmp_path: Path) -> None:
    from warmer.replay.results import rows_to_batch

    tally = Tally()
    tally.add(rows_to_batch([_row(0), _row(1, 503), _row(2, None, "reset")]))
    assert tally.sent == 3 and tally.status_classes == {"2xx": 1, "5xx": 1}
    assert tally.errors == {"reset": 1}
    assert tally.latency.get_total_count() == 2 and tally.send_lag.get_total_count() == 3


def test_merge_summaries() -> None:
    from warmer.replay.run import ReplaySummary
    from warmer.replay.summary import encode, new_histogram

    def part(sent: int, value_us: int) -> ReplaySummary:
        h = new_histogram()
        h.record_value(value_us, sent)
        return ReplaySummary(
            None, "fast", "c", sent, sent, {"2xx": sent}, {}, {}, 2.0, sent / 2, {}, {}, {},
            histograms={"latency": encode(h)},
        )  # fmt: skip

    merged = merge_summaries([part(10, 1000), part(30, 3000)])
    assert merged.sent == 40 and merged.status_classes == {"2xx": 40} and merged.rate == 20.0
    assert merged.latency_ms["p50"] == pytest.approx(3.0, rel=0.01)
    assert merged.latency_ms["max"] == pytest.approx(3.0, rel=0.01)


@pytest.mark.parametrize(
    ("text", "ok"), [("0/2", (0, 2)), ("1/2", (1, 2)), ("2/2", None), ("x", None)]
)
def test_parse_shard(text: str, ok: tuple[int, int] | None) -> None:
    if ok is None:
        with pytest.raises(Exception, match="shard"):
            parse_shard(text)
    else:
        assert parse_shard(text) == ok


@pytest.mark.parametrize("rows", [0, 1, 65_536, 200_003])
def test_null_columns_share_one_small_buffer(rows: int) -> None:
    import pyarrow as pa
    import pyarrow.compute as pc

    from warmer.replay.results import null_column

    column = null_column(rows, pa.int64())
    assert column.type == pa.int64() and len(column) == rows and column.null_count == rows
    assert pc.sum(pc.is_valid(column)).as_py() in (0, None)
    # One chunk's worth of buffer whatever the length: a 2M-row column of int64 nulls
    # made by pa.nulls would hold 16 MB.
    held = {b.address: b.size for chunk in column.chunks for b in chunk.buffers() if b}
    assert sum(held.values()) <= 65_536 * 8 + 65_536 // 8 + 1024  # one chunk: data, validity
