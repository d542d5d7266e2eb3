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
    return (seq, "warm", "GET", f"/{seq}", f"k{seq}", seq * 0.1, seq * 0.1 + 0.001, latency,
            2.0 if latency else None, status, 5, error, "edge; hit", "HIT", None, "3")  # fmt: skip


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
    assert rows[0]["cache_status"] == "edge; hit"


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
