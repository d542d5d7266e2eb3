"""nginx ``log_format`` compiler and the combined/common presets."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from warmer.errors import UsageError
from warmer.sample.formats.nginx import (
    COMBINED,
    COMBINED_TIMING,
    COMMON,
    NginxFormat,
    compile_log_format,
    segments,
)

from ._import_helpers import import_text


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [
        ("$a b", [("var", "a"), ("lit", " b")]),
        ("${a}b$c", [("var", "a"), ("lit", "b"), ("var", "c")]),
        ('"$request"', [("lit", '"'), ("var", "request"), ("lit", '"')]),
        ("plain", [("lit", "plain")]),
    ],
)
def test_segments(fmt: str, expected: list[tuple[str, str]]) -> None:
    assert segments(fmt) == expected


@pytest.mark.parametrize(
    ("fmt", "fast"),
    [
        (COMBINED, True),
        (COMMON, True),
        (COMBINED_TIMING, True),
        ("$remote_addr rt=$request_time [$time_local]", True),
        ("$remote_addr|$time_iso8601|$request_method|$request_uri|$status", False),
        ('$uri$args "$request"', False),
        ("$http_user_agent $status", False),  # unquoted user agent may hold spaces
    ],
)
def test_fast_path_chosen_only_for_space_separated_fields(fmt: str, fast: bool) -> None:
    assert (compile_log_format(fmt).fields is not None) is fast


def test_format_without_variable_is_usage_error() -> None:
    with pytest.raises(UsageError):
        compile_log_format("just text")


def _parse(fmt: str, text: str) -> list[dict[str, object]]:
    blocks = list(NginxFormat("t", fmt).parse(io.BytesIO(text.encode())))
    return [row for b in blocks for row in b.table.to_pylist()]


LINE = (
    '203.0.113.9 - bob [02/Nov/2026:08:00:05 +0100] "GET /a?b=1 HTTP/2.0" 304 0 '
    '"https://ref.example/" "Mozilla/5.0 (X11)" 0.012 HIT'
)


@pytest.mark.parametrize(
    ("fmt", "line", "field", "value"),
    [
        (COMBINED_TIMING, LINE, "ts", 1793602805.0),
        (COMBINED_TIMING, LINE, "method", "GET"),
        (COMBINED_TIMING, LINE, "target", "/a?b=1"),
        (COMBINED_TIMING, LINE, "status", 304),
        (COMBINED_TIMING, LINE, "response_bytes", 0),
        (COMBINED_TIMING, LINE, "duration_ms", 12.0),
        (COMBINED_TIMING, LINE, "cache_status", "HIT"),
        (COMBINED_TIMING, LINE, "client", "203.0.113.9"),
        (
            COMBINED,
            LINE.rsplit(" ", 2)[0],
            "headers",
            [("referer", "https://ref.example/"), ("user-agent", "Mozilla/5.0 (X11)")],
        ),
        (
            COMMON,
            '1.2.3.4 - - [02/Nov/2026:08:00:05 +0100] "HEAD / HTTP/1.0" 200 -',
            "response_bytes",
            None,
        ),
        (
            COMMON,
            '1.2.3.4 - - [02/Nov/2026:08:00:05 +0100] "HEAD / HTTP/1.0" 200 -',
            "method",
            "HEAD",
        ),
        (
            "$msec $request_method $request_uri $status",
            "1793602805.250 POST /x 201",
            "ts",
            1793602805.25,
        ),
        (
            "$remote_addr|$time_iso8601|$request_method|$request_uri|$status",
            "1.2.3.4|2026-11-02T08:00:05+01:00|GET|/q?x=1|200",
            "target",
            "/q?x=1",
        ),
        (
            "$remote_addr|$time_iso8601|$request_method|$request_uri|$status",
            "1.2.3.4|2026-11-02T08:00:05+01:00|GET|/q?x=1|200",
            "ts",
            1793602805.0,
        ),
        (
            '$remote_addr rt=$request_time [$time_local] "$request" $status',
            '1.2.3.4 rt=0.5 [02/Nov/2026:08:00:05 +0100] "GET /z HTTP/1.1" 200',
            "duration_ms",
            500.0,
        ),
        (
            '$msec $host "$request" $status $scheme',
            '1.5 shop.example "GET /h HTTP/1.1" 200 https',
            "host",
            "shop.example",
        ),
        (
            '$msec $host "$request" $status $scheme',
            '1.5 shop.example "GET /h HTTP/1.1" 200 https',
            "scheme",
            "https",
        ),
    ],
)
def test_fields_parsed(fmt: str, line: str, field: str, value: object) -> None:
    rows = _parse(fmt, line + "\n")
    assert len(rows) == 1
    assert rows[0][field] == value


def test_apache_escaped_quote_is_retried_with_regex() -> None:
    line = '1.2.3.4 - - [02/Nov/2026:08:00:05 +0100] "GET /q HTTP/1.1" 200 5 "-" "say \\"hi\\" x"\n'
    rows = _parse(COMBINED, line)
    assert [r["target"] for r in rows] == ["/q"]


def test_malformed_lines_counted_with_line_numbers(tmp_path: Path) -> None:
    good = LINE.rsplit(" ", 2)[0]
    text = f"{good}\nnot a log line\n{good}\n\n{good} extra\n"
    report, rows, _ = import_text(tmp_path, text)
    (source,) = report.sources
    assert len(rows) == 2
    assert source.lines == 5
    assert source.rejects.count == 3
    assert [line for line, _ in source.rejects.first] == [2, 4, 5]
