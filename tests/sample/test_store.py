"""Sample store: round trips in every encoding, streaming reads, and refused inputs."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from warmer.errors import InputError, UsageError
from warmer.model.sample import SAMPLE_ARROW_SCHEMA, SAMPLE_SCHEMA_VERSION, SampleMeta
from warmer.sample.keys import make_key_function
from warmer.sample.store import SampleWriter, encoding_for, open_sample

ENCODINGS = ["parquet", "jsonl", "jsonl.gz", "jsonl.zst"]


def _rows(n: int) -> list[dict[str, object]]:
    return [
        {
            "ts": 1_700_000_000.0 + i * 0.25,
            "method": "GET" if i % 7 else "POST",
            "target": f"/product/{i % 50}?a=1",
            "key": f"GET /product/{i % 50}?a=1",
            "scheme": "https" if i % 2 else None,
            "host": "shop.example" if i % 2 else None,
            "headers": {"accept": "text/html", "user-agent": "t"} if i % 3 else None,
            "body": "eyJ4IjoxfQ==" if i % 7 == 0 else None,
            "status": 200 if i % 5 else 404,
            "response_bytes": 1000 + i,
            "duration_ms": 1.5 * i if i % 4 else None,
            "cache_status": "HIT" if i % 2 else "MISS",
            "client": f"c{i % 9}",
        }
        for i in range(n)
    ]


def _table(n: int) -> pa.Table:
    return pa.Table.from_pylist(_rows(n), schema=SAMPLE_ARROW_SCHEMA)


def _write(path: Path, table: pa.Table, meta: SampleMeta | None = None, chunk: int = 100) -> None:
    with SampleWriter(path) as writer:
        for batch in table.to_batches(max_chunksize=chunk):
            writer.write_batch(batch)
        writer.close(meta or SampleMeta(created="2026-11-30T00:00:00Z"))


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_round_trip_every_encoding(tmp_path: Path, encoding: str) -> None:
    table = _table(1000)
    path = tmp_path / f"s.{encoding}"
    meta = SampleMeta(created="x", sources=({"path": "a.log", "records": 1000},), sample_rate=0.5)
    _write(path, table, meta)
    reader = open_sample(path)
    assert reader.num_requests == 1000
    assert reader.meta.requests == 1000
    assert reader.meta.sources == ({"path": "a.log", "records": 1000},)
    assert reader.meta.sample_rate == 0.5
    assert reader.to_table().equals(table)
    records = list(reader.iter_records())
    assert len(records) == 1000
    assert records[1].headers == {"accept": "text/html", "user-agent": "t"}
    assert records[0].headers == {}
    assert records[0].body == "eyJ4IjoxfQ=="
    assert records[3].duration_ms == 4.5
    assert list(reader.to_pandas(columns=["key"]).columns) == ["key"]


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_missing_optional_columns_are_null(tmp_path: Path, encoding: str) -> None:
    batch = pa.table({"ts": [1.0], "method": ["GET"], "target": ["/"], "key": ["GET /"]})
    path = tmp_path / f"s.{encoding}"
    _write(path, batch)
    (record,) = open_sample(path).iter_records()
    assert (record.target, record.status, record.headers) == ("/", None, {})


def test_jsonl_omits_null_fields_and_starts_with_header(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    _write(path, _table(2))
    header, first, _ = path.read_text().splitlines()
    assert json.loads(header)["warmer_sample"]["schema_version"] == SAMPLE_SCHEMA_VERSION
    assert json.loads(header)["warmer_sample"]["requests"] == 2
    assert "headers" not in json.loads(first)
    assert "scheme" not in json.loads(first)


def test_hand_written_jsonl_without_header(tmp_path: Path) -> None:
    path = tmp_path / "hand.jsonl"
    path.write_text(
        '{"ts": 10, "method": "GET", "target": "/s?utm_source=x&b=2&a=1"}\n'
        "\n"
        '{"ts": 11.5, "method": "HEAD", "target": "/", "key": "custom", "status": 200}\n'
    )
    reader = open_sample(path)
    assert reader.meta.requests == 0
    assert reader.num_requests == 2
    first, second = reader.iter_records()
    assert first.key == "GET /s?a=1&b=2"  # computed with the default KeyConfig
    assert second.key == "custom"
    assert reader.to_table().column("status").to_pylist() == [None, 200]


def test_hand_written_gzip_without_header(tmp_path: Path) -> None:
    path = tmp_path / "hand.jsonl.gz"
    with gzip.open(path, "wt") as fh:
        fh.write('{"ts": 1, "method": "GET", "target": "/a"}\n')
    assert [r.key for r in open_sample(path).iter_records()] == ["GET /a"]


def test_deterministic_bytes(tmp_path: Path) -> None:
    for name in ("a", "b"):
        _write(tmp_path / f"{name}.jsonl.gz", _table(300))
    assert (tmp_path / "a.jsonl.gz").read_bytes() == (tmp_path / "b.jsonl.gz").read_bytes()


def test_exception_inside_with_leaves_nothing(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl.gz"
    with pytest.raises(RuntimeError), SampleWriter(path) as writer:
        writer.write_batch(_table(10))
        raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_leaving_without_close_leaves_nothing(tmp_path: Path) -> None:
    with SampleWriter(tmp_path / "s.parquet") as writer:
        writer.write_batch(_table(10))
    assert list(tmp_path.iterdir()) == []


def test_fmt_overrides_suffix(tmp_path: Path) -> None:
    path = tmp_path / "sample.bin"
    with SampleWriter(path, fmt="jsonl.zst") as writer:
        writer.write_batch(_table(5))
        writer.close(SampleMeta())
    assert path.read_bytes()[:4] == b"\x28\xb5\x2f\xfd"
    assert open_sample(path).num_requests == 5


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("a.parquet", "parquet"),
        ("A.JSONL", "jsonl"),
        ("x/y.jsonl.gz", "jsonl.gz"),
        ("s.jsonl.zst", "jsonl.zst"),
    ],
)
def test_encoding_for(name: str, expected: str) -> None:
    assert encoding_for(name) == expected


def test_unknown_suffix_is_usage_error() -> None:
    with pytest.raises(UsageError, match="encoding"):
        SampleWriter("sample.csv")


def test_streaming_reader_yields_bounded_batches(tmp_path: Path) -> None:
    # A file far larger than the batch size: the reader must hand it out in pieces,
    # each no larger than asked, never as one materialised table.
    for encoding in ("jsonl.gz", "parquet"):
        path = tmp_path / f"big.{encoding}"
        _write(path, _table(20_000), chunk=5000)
        sizes = []
        for batch in open_sample(path).iter_batches(batch_size=512):
            assert isinstance(batch, pa.RecordBatch)
            sizes.append(batch.num_rows)
        assert sum(sizes) == 20_000
        assert max(sizes) <= 512
        assert len(sizes) >= 20_000 // 512


def test_iter_records_is_lazy(tmp_path: Path) -> None:
    path = tmp_path / "big.jsonl"
    _write(path, _table(5000))
    with path.open("a") as fh:
        fh.write("not json\n")  # a bad last line is only met when reading reaches it
    records = open_sample(path).iter_records()
    assert next(records).target == "/product/0?a=1"
    with pytest.raises(InputError, match=":5002:"):
        list(records)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist") as info:
        open_sample(tmp_path / "nope.jsonl")
    assert info.value.hint and "warmer sample import" in info.value.hint


@pytest.mark.parametrize("encoding", ["jsonl.gz", "jsonl.zst", "jsonl", "parquet"])
def test_truncated_file(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / f"s.{encoding}"
    _write(path, _table(3000))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError) as info:
        open_sample(path).to_table()
    assert info.value.hint


def test_zstd_cut_at_line_boundary_is_caught_by_count(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    _write(path, _table(10))
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[:6]))
    with pytest.raises(InputError, match="announces 10"):
        list(open_sample(path).iter_records())


@pytest.mark.parametrize(
    ("line", "match"),
    [
        ('{"method": "GET", "target": "/"}', "lacks required field"),
        ('{"ts": 1, "target": "/"}', "method"),
        ('{"ts": "yesterday", "method": "GET", "target": "/"}', "ts must be a number"),
        ('{"ts": 1, "method": "GET", "target": 5}', "must be strings"),
        ("[1, 2]", "must be a JSON object"),
        ('{"ts": 1, "method": "GET", "target": "/", "status": "ok"}', "wrong type"),
    ],
)
def test_bad_records(tmp_path: Path, line: str, match: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(line + "\n")
    with pytest.raises(InputError, match=match):
        open_sample(path).to_table()


def test_newer_schema_major_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "new.jsonl"
    path.write_text('{"warmer_sample": {"schema_version": 2}}\n')
    with pytest.raises(InputError, match="newer") as info:
        open_sample(path)
    assert info.value.hint and "upgrade" in info.value.hint


def test_newer_schema_in_parquet_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "new.parquet"
    _write(path, _table(3), SampleMeta(schema_version=SAMPLE_SCHEMA_VERSION + 1))
    with pytest.raises(InputError, match="newer"):
        open_sample(path)


def test_unknown_header_fields_are_ignored(tmp_path: Path) -> None:
    path = tmp_path / "minor.jsonl"
    path.write_text(
        '{"warmer_sample": {"schema_version": "1.3", "requests": 1, "later": true}}\n'
        '{"ts": 1, "method": "GET", "target": "/"}\n'
    )
    assert open_sample(path).meta.schema_version == 1


def test_not_a_sample(tmp_path: Path) -> None:
    path = tmp_path / "x.parquet"
    path.write_bytes(b"PAR1garbage")
    with pytest.raises(InputError, match="Parquet"):
        open_sample(path)
    other = tmp_path / "log.jsonl"
    other.write_text('127.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.0" 200 2326\n')
    with pytest.raises(InputError, match="not a JSON object"):
        open_sample(other)


def test_parquet_without_sample_columns(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    path = tmp_path / "other.parquet"
    pq.write_table(pa.table({"x": [1]}), path)
    with pytest.raises(InputError, match="lacks sample column"):
        open_sample(path)


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_empty_sample(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / f"empty.{encoding}"
    with SampleWriter(path) as writer:
        writer.close(SampleMeta())
    reader = open_sample(path)
    assert reader.num_requests == 0
    assert reader.to_table().num_rows == 0
    assert list(reader.iter_records()) == []


def test_unknown_record_fields_are_ignored(tmp_path: Path) -> None:
    # Additive fields of a newer minor revision must not break an older reader.
    path = tmp_path / "later.jsonl"
    path.write_text('{"ts": 1, "method": "GET", "target": "/", "priority": "high"}\n')
    reader = open_sample(path)
    assert reader.to_table().column_names == SAMPLE_ARROW_SCHEMA.names
    assert [r.target for r in reader.iter_records()] == ["/"]


def test_documented_example_reads(tmp_path: Path) -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "sample-schema.md").read_text()
    example = doc.split("```json\n", 1)[1].split("```", 1)[0]
    path = tmp_path / "example.jsonl"
    path.write_text(example)
    reader = open_sample(path)
    assert reader.meta.requests == 3
    records = list(reader.iter_records())
    assert [r.method for r in records] == ["GET", "GET", "POST"]
    key = make_key_function()
    assert all(r.key == key(r.method, r.target, r.headers) for r in records)


_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=12)
_record = st.fixed_dictionaries(
    {
        "ts": st.floats(0, 4e9, allow_nan=False),
        "method": st.sampled_from(["GET", "HEAD", "POST"]),
        "target": _text,
        "key": _text,
    },
    optional={
        "headers": st.dictionaries(_text, _text, max_size=3),
        "status": st.integers(100, 599),
        "response_bytes": st.integers(0, 2**40),
        "duration_ms": st.floats(0, 1e6, allow_nan=False),
        "cache_status": _text,
    },
)


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(_record, max_size=20), st.sampled_from(ENCODINGS))
def test_any_records_round_trip(
    tmp_path: Path, rows: list[dict[str, object]], encoding: str
) -> None:
    table = pa.Table.from_pylist(rows, schema=SAMPLE_ARROW_SCHEMA)
    path = tmp_path / f"prop.{encoding}"
    _write(path, table, chunk=7)
    back = open_sample(path).to_table()

    # An empty header map and an absent one mean the same (JSONL omits both); the order of
    # differently named headers carries no meaning (RFC 9110 §5.3) and a whole-file JSONL
    # read gives them in the file's first-seen order.
    def same(t: pa.Table) -> list[dict[str, object]]:
        return [{**r, "headers": dict(r["headers"] or ()) or None} for r in t.to_pylist()]

    assert same(back) == same(table)
