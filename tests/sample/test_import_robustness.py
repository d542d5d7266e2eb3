"""Regression fixtures of issue 10 for the import: zero usable records is an input error in
every format (with the reasons counted and the first one located), wrong types are
malformed records, Apache escapes are undone on both tokenizer paths, ALB ``ts`` is the
request's creation time, and timestamps outside 1970..9999 never reach a sample."""

from __future__ import annotations

import gzip
import io
import json
from pathlib import Path

import pytest
import zstandard

from warmer.errors import InputError
from warmer.sample.formats import nginx
from warmer.sample.formats._lines import iter_line_blocks
from warmer.sample.importer import ImportOptions, import_logs
from warmer.sample.store import open_sample

COMBINED_BAD = b'1.2.3.4 - - [99/Zzz/2026:08:00:00 +0100] "GET /a HTTP/1.1" 200 5 "-" "ua"\n'
ALB_LINE = (
    "http 2018-07-02T22:23:00.186641Z app/my-loadbalancer/50dc6c495c0c9188 "
    "192.168.131.39:2817 10.0.0.1:80 0.000 0.001 0.000 200 200 34 366 "
    '"GET http://www.example.com:80/ HTTP/1.1" "curl/7.46.0" - - '
    "arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/my-targets/73e2d6bc24d8a067 "
    '"Root=1-58337262-36d228ad5d99923122bbe354" "-" "-" 0 2018-07-02T22:22:48.364000Z '
    '"forward" "-" "-" "10.0.0.1:80" "200" "-" "-"\n'
)
"""The HTTP example of AWS's "Access log entries" page: the response left at 22:23:00.186641,
the request was received at 22:22:48.364 (request_creation_time)."""

NOTHING_USABLE = {
    "combined": ("in.log", COMBINED_BAD * 2, ImportOptions(format="combined")),
    "log_format": (
        "in.log",
        b'1.2.3.4 "GET /a HTTP/1.1" nope\n' * 2,
        ImportOptions(format="nginx", log_format='$remote_addr "$request" $msec'),
    ),
    "jsonl": ("in.jsonl", b'{"ts": "abc", "method": "GET", "target": "/a"}\n', ImportOptions()),
    "har": (
        "in.har",
        json.dumps(
            {
                "log": {
                    "entries": [{"startedDateTime": 12, "request": {"method": "GET", "url": "/"}}]
                }
            }
        ).encode(),
        ImportOptions(),
    ),
    "alb": ("in.log", ALB_LINE.replace("200 200", "xx 200").encode(), ImportOptions(format="alb")),
    "csv": ("in.csv", b"ts,method,target\nnope,GET,/a\n", ImportOptions(format="csv")),
}


@pytest.mark.parametrize("compression", ["", ".gz", ".zst"])
@pytest.mark.parametrize("kind", sorted(NOTHING_USABLE))
def test_zero_usable_records_is_an_input_error_with_the_reasons(
    tmp_path: Path, kind: str, compression: str
) -> None:
    name, data, options = NOTHING_USABLE[kind]
    if compression == ".gz":
        data = gzip.compress(data)
    elif compression == ".zst":
        data = zstandard.ZstdCompressor().compress(data)
    src = tmp_path / (name + compression)
    src.write_bytes(data)
    with pytest.raises(InputError) as info:
        import_logs([str(src)], tmp_path / "out.parquet", options)
    message = info.value.message
    assert message.startswith("no request could be imported: ")
    assert str(src) in message and "first at " in message  # file, and line or entry
    assert not (tmp_path / "out.parquet").exists()


def test_everything_left_out_by_the_selection_is_an_input_error(tmp_path: Path) -> None:
    from warmer.sample.select import Selection

    src = tmp_path / "in.jsonl"
    src.write_text('{"ts": 1764504000, "method": "GET", "target": "/a"}\n')
    options = ImportOptions(selection=Selection(methods=("POST",)))
    with pytest.raises(InputError, match=r"left out \(1 by method\)"):
        import_logs([str(src)], tmp_path / "out.parquet", options)


@pytest.mark.parametrize(
    ("record", "reason"),
    [
        ({"ts": "abc", "method": "GET", "target": "/a"}, "bad or missing timestamp"),
        ({"ts": 1e308, "method": "GET", "target": "/a"}, "bad or missing timestamp"),
        ({"ts": -5, "method": "GET", "target": "/a"}, "bad or missing timestamp"),
        ({"ts": 1764504000, "method": "GET", "target": "/a", "status": "x"}, "bad status"),
        ({"ts": 1764504000, "method": "GET", "target": "/a", "headers": "x"}, "headers is not"),
        ({"ts": 1764504000, "method": 7, "target": "/a"}, "bad or missing request line"),
        ({"ts": 1764504000, "method": "GET", "target": "/a", "body": 5}, "body is not a string"),
        (
            {"ts": 1764504000, "method": "GET", "target": "/a", "headers": {"a": {"b": 1}}},
            "a header value is an object",
        ),
    ],
)
def test_wrong_types_in_json_lines_are_malformed_and_located(
    tmp_path: Path, record: dict[str, object], reason: str
) -> None:
    good = json.dumps({"ts": 1764504000, "method": "GET", "target": "/ok"})
    src = tmp_path / "in.jsonl"
    src.write_text(good + "\n" + json.dumps(record) + "\n")
    report = import_logs([str(src)], tmp_path / "out.parquet")
    (source,) = report.sources
    assert report.written == 1 and source.rejects.count == 1
    line, why = source.rejects.first[0]
    assert line == 2 and why.startswith(reason)


def test_a_har_date_that_is_a_number_is_malformed_not_a_time(tmp_path: Path) -> None:
    entry = {"request": {"method": "GET", "url": "http://h/a", "headers": []}}
    entries = [
        {"startedDateTime": "2026-11-02T08:00:00Z", **entry},
        {"startedDateTime": 12, **entry},
        {"startedDateTime": "2026-11-02T08:00:01Z", "request": {"method": "GET", "url": 5}},
    ]
    src = tmp_path / "in.har"
    src.write_text(json.dumps({"log": {"entries": entries}}))
    report = import_logs([str(src)], tmp_path / "out.parquet")
    (source,) = report.sources
    assert report.written == 1
    assert source.rejects.first == [
        (2, "startedDateTime is not an ISO 8601 string"),
        (3, "request.method or request.url is not a string"),
    ]
    assert [r["ts"] for r in open_sample(tmp_path / "out.parquet").to_table().to_pylist()] == [
        1793606400.0
    ]


APACHE = (
    '1.2.3.4 - - [02/Nov/2026:08:00:00 +0100] "GET /q?x=\\"y\\"&z=\\\\x41 HTTP/1.1" 200 5 '
    '"http://r/\\"x\\"" "say \\"hi\\" \\\\o/"\n'
)


def _rows(data: bytes, native: bool) -> list[dict[str, object]]:
    compiled = nginx.compile_log_format(nginx.COMBINED)
    if native:
        if nginx._tokenize is None:
            pytest.skip("the C tokenizer is not built (or WARMER_NO_NATIVE is set)")
        blocks = list(nginx.parse_native(compiled, io.BytesIO(data)))
    else:
        blocks = [nginx.parse_block(compiled, b) for b in iter_line_blocks(io.BytesIO(data))]
    return [row for block in blocks for row in block.table.to_pylist()]


@pytest.mark.parametrize("native", [False, True], ids=["python", "c"])
def test_apache_escapes_are_undone_in_both_tokenizers(native: bool) -> None:
    (row,) = _rows(APACHE.encode(), native)
    assert dict(row["headers"]) == {  # type: ignore[call-overload]
        "referer": 'http://r/"x"',
        "user-agent": 'say "hi" \\o/',
    }
    # The target keeps them as nginx's \xHH escapes, which the importer decodes in one
    # pass: Apache's \\x41 is a backslash followed by x41, never "A".
    assert row["target"] == "/q?x=\\x22y\\x22&z=\\x5Cx41"


def test_apache_escapes_in_the_written_sample(tmp_path: Path) -> None:
    src = tmp_path / "access.log"
    src.write_text(APACHE)
    import_logs([str(src)], tmp_path / "out.jsonl", ImportOptions(format="combined"))
    (row,) = open_sample(tmp_path / "out.jsonl").to_table().to_pylist()
    assert row["target"] == '/q?x="y"&z=\\x41'
    assert dict(row["headers"])["user-agent"] == 'say "hi" \\o/'


def test_alb_ts_is_the_request_creation_time(tmp_path: Path) -> None:
    short = ALB_LINE.split(' "curl/7.46.0"')[0] + ' "curl/7.46.0"\n'  # an older, shorter line
    src = tmp_path / "alb.log"
    src.write_text(ALB_LINE + short)
    import_logs([str(src)], tmp_path / "out.parquet", ImportOptions(format="alb"))
    rows = open_sample(tmp_path / "out.parquet").to_table().to_pylist()
    assert [r["ts"] for r in rows] == [1530570168.364, 1530570180.186641]


@pytest.mark.parametrize("ts", ["1e308", "NaN", "-1"])
def test_a_sample_with_a_timestamp_out_of_range_is_refused_naming_the_line(
    tmp_path: Path, ts: str
) -> None:
    path = tmp_path / "s.jsonl"
    path.write_text(
        '{"ts": 1764504000, "method": "GET", "target": "/a"}\n'
        f'{{"ts": {ts}, "method": "GET", "target": "/b"}}\n'
    )
    with pytest.raises(InputError, match=r"s\.jsonl:2: ts .* out of range"):
        open_sample(path).to_table()
    with pytest.raises(InputError, match=r"s\.jsonl:2: ts .* out of range"):
        list(open_sample(path).iter_batches())
