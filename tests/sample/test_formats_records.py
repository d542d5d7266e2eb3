"""JSON lines, CSV, HAR and ALB against small hand-written fixtures."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from warmer.errors import InputError
from warmer.sample.detect import detect
from warmer.sample.formats.alb import AlbFormat
from warmer.sample.formats.csvfile import CsvFormat
from warmer.sample.formats.har import HarFormat
from warmer.sample.formats.interface import LogFormat
from warmer.sample.formats.jsonl import JsonLinesFormat


def rows(fmt: LogFormat, data: str | bytes) -> list[dict[str, Any]]:
    raw = data.encode() if isinstance(data, str) else data
    return [r for b in fmt.parse(io.BytesIO(raw)) for r in b.table.to_pylist()]


CADDY = {
    "ts": 1793602800.5,
    "msg": "handled request",
    "request": {
        "remote_ip": "1.2.3.4",
        "method": "GET",
        "host": "shop.example",
        "uri": "/p?x=1",
        "headers": {"User-Agent": ["curl/8"], "Accept": ["*/*"]},
    },
    "duration": 0.0123,
    "size": 42,
    "status": 200,
}
NGINX_JSON = {
    "time_iso8601": "2026-11-02T08:00:00+01:00",
    "remote_addr": "1.2.3.4",
    "request": "HEAD /h HTTP/1.1",
    "status": "304",
    "body_bytes_sent": "0",
    "request_time": "0.005",
    "http_user_agent": "ua",
    "upstream_cache_status": "HIT",
}
ENVOY = {
    "start_time": "2026-11-02T07:00:00.250Z",
    "method": "GET",
    "path": "/e",
    "response_code": 200,
    "bytes_sent": 9,
    "duration": 7,
    "downstream_remote_address": "5.6.7.8:4000",
    "authority": "api.example",
}


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        (
            CADDY,
            {
                "ts": 1793602800.5,
                "method": "GET",
                "target": "/p?x=1",
                "host": "shop.example",
                "status": 200,
                "response_bytes": 42,
                "duration_ms": 12.3,
                "client": "1.2.3.4",
            },
        ),
        (
            NGINX_JSON,
            {
                "ts": 1793602800.0,
                "method": "HEAD",
                "target": "/h",
                "status": 304,
                "response_bytes": 0,
                "duration_ms": 5.0,
                "cache_status": "HIT",
            },
        ),
        (
            ENVOY,
            {
                "ts": 1793602800.25,
                "target": "/e",
                "status": 200,
                "duration_ms": 7.0,
                "client": "5.6.7.8",
                "host": "api.example",
            },
        ),
    ],
)
def test_json_defaults_for_common_shapes(record: dict[str, Any], expected: dict[str, Any]) -> None:
    (row,) = rows(JsonLinesFormat(), json.dumps(record) + "\n")
    for name, value in expected.items():
        assert row[name] == pytest.approx(value) if isinstance(value, float) else row[name] == value


def test_json_headers_from_caddy_and_nginx() -> None:
    (row,) = rows(JsonLinesFormat(), json.dumps(CADDY))
    assert dict(row["headers"]) == {"user-agent": "curl/8", "accept": "*/*"}
    (row,) = rows(JsonLinesFormat(), json.dumps(NGINX_JSON))
    assert dict(row["headers"]) == {"user-agent": "ua"}


def test_json_field_mapping() -> None:
    record = {"when": "2026-11-02T07:00:00Z", "verb": "GET", "where": {"path": "/m"}, "ua": "x"}
    fmt = JsonLinesFormat(
        {"ts": "when", "method": "verb", "target": "where.path", "header.user-agent": "ua"}
    )
    (row,) = rows(fmt, json.dumps(record))
    assert (row["ts"], row["target"], dict(row["headers"])) == (
        1793602800.0,
        "/m",
        {"user-agent": "x"},
    )


def test_json_bad_lines_counted() -> None:
    data = json.dumps(CADDY) + "\n[1,2]\n{not json\n" + json.dumps({"ts": 1}) + "\n"
    (block,) = list(JsonLinesFormat().parse(io.BytesIO(data.encode())))
    assert block.table.num_rows == 1
    assert [line for line, _ in block.rejects.first] == [2, 3, 4]


def test_csv_with_mapping_and_defaults() -> None:
    data = (
        'time,verb,url,code\n2026-11-02T07:00:00Z,GET,"/c?a=1,2",200\n'
        "1793602801,POST,/d,201\nbad,row\n"
    )
    fmt = CsvFormat({"ts": "time", "method": "verb", "target": "url", "status": "code"})
    (block,) = list(fmt.parse(io.BytesIO(data.encode())))
    got = block.table.to_pylist()
    assert [(r["ts"], r["method"], r["target"], r["status"]) for r in got] == [
        (1793602800.0, "GET", "/c?a=1,2", 200),
        (1793602801.0, "POST", "/d", 201),
    ]
    assert block.rejects.first == [(4, "expected 4 columns, found 2")]


HAR = {
    "log": {
        "version": "1.2",
        "entries": [
            {
                "startedDateTime": "2026-11-02T08:00:00.250+01:00",
                "time": 12.5,
                "request": {
                    "method": "POST",
                    "url": "https://shop.example/api/cart?x=1",
                    "headers": [
                        {"name": "Host", "value": "shop.example"},
                        {"name": "Accept", "value": "*/*"},
                    ],
                    "postData": {"mimeType": "application/json", "text": '{"a":1}'},
                },
                "response": {
                    "status": 201,
                    "bodySize": 17,
                    "content": {"size": 17},
                    "headers": [{"name": "X-Cache-Status", "value": "MISS"}],
                },
            },
            {"startedDateTime": "garbage", "request": {"method": "GET", "url": "https://x/"}},
            "not an entry",
        ],
    }
}


def test_har_entry() -> None:
    (block,) = list(HarFormat().parse(io.BytesIO(json.dumps(HAR).encode())))
    (row,) = block.table.to_pylist()
    assert row["ts"] == 1793602800.25
    assert (row["method"], row["target"], row["scheme"], row["host"]) == (
        "POST",
        "/api/cart?x=1",
        "https",
        "shop.example",
    )
    assert row["body"] == "eyJhIjoxfQ=="
    assert dict(row["headers"]) == {"accept": "*/*", "content-type": "application/json"}
    assert (row["status"], row["response_bytes"], row["duration_ms"], row["cache_status"]) == (
        201,
        17,
        12.5,
        "MISS",
    )
    assert [line for line, _ in block.rejects.first] == [2, 3]


def test_har_not_a_document() -> None:
    with pytest.raises(InputError, match="not a valid HAR"):
        rows(HarFormat(), b'{"log": {"entries": [')
    with pytest.raises(InputError, match=r"no log\.entries"):
        rows(HarFormat(), b'{"log": {}}')


ALB = (
    "https 2026-11-02T07:00:00.123456Z app/my-lb/50dc6c495c0c9188 192.168.131.39:2817 10.0.0.1:80 "
    '0.000 0.001 0.000 200 200 34 366 "GET https://www.example.com:443/p?q=1 HTTP/1.1" '
    '"curl/7.46.0" ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2 '
    "arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/my-targets/73e2d6bc24d8a067 "
    '"Root=1-58337281-1d84f3d73c47ec4e58577259" "www.example.com" "arn:aws:acm:cert" 1 '
    '2026-11-02T06:59:59.999000Z "forward" "-" "-" "10.0.0.1:80" "200" "-" "-" TID_123'
)


def test_alb_line() -> None:
    (row,) = rows(AlbFormat(), ALB + "\n")
    assert row["ts"] == pytest.approx(1793602800.123456)
    assert (row["method"], row["target"], row["scheme"], row["host"]) == (
        "GET",
        "/p?q=1",
        "https",
        "www.example.com",
    )
    assert (row["status"], row["response_bytes"], row["client"]) == (200, 366, "192.168.131.39")
    assert row["duration_ms"] == pytest.approx(1.0)
    assert dict(row["headers"]) == {"user-agent": "curl/7.46.0"}


def test_alb_no_target_answer_has_no_duration() -> None:
    line = ALB.replace("0.000 0.001 0.000", "-1 -1 -1")
    (row,) = rows(AlbFormat(), line)
    assert row["duration_ms"] is None


@pytest.mark.parametrize(
    ("head", "name"),
    [
        (ALB.encode() + b"\n", "AWS ALB"),
        (json.dumps(HAR).encode(), "HAR 1.2"),
        (json.dumps(CADDY).encode() + b"\n", "JSON lines"),
        (b"ts,method,target\n1,GET,/\n", "CSV"),
        (b'1.2.3.4 - - [02/Nov/2026:08:00:00 +0100] "GET / HTTP/1.1" 200 5\n', "Apache common"),
        (
            b'1.2.3.4 - - [02/Nov/2026:08:00:00 +0100] "GET / HTTP/1.1" 200 5 "-" "ua"\n',
            "nginx/Apache combined",
        ),
    ],
)
def test_detect(head: bytes, name: str) -> None:
    assert detect(head).format.name == name


def test_detect_reports_probe_counts() -> None:
    line = b'1.2.3.4 - - [02/Nov/2026:08:00:00 +0100] "GET / HTTP/1.1" 200 5 "-" "ua"\n'
    detection = detect(line * 9 + b"junk\n")
    assert detection.message == "auto-detected nginx/Apache combined (matched 9/10 probe lines)"


def test_detect_failure_is_input_error() -> None:
    with pytest.raises(InputError, match="cannot tell the log format"):
        detect(b"hello world\nfoo bar\n")


@pytest.mark.parametrize(
    ("zone", "expected"),
    [
        (None, 1793606400.0),
        ("+01:00", 1793602800.0),
        ("-0530", 1793626200.0),
        ("Europe/Paris", 1793602800.0),
    ],
)
def test_zone_less_timestamps_read_in_tz(zone: str | None, expected: float) -> None:
    from warmer.sample.formats._records import parse_tz

    tz = parse_tz(zone) if zone else None
    record = {"time": "2026-11-02 08:00:00", "method": "GET", "target": "/z"}
    (row,) = rows(JsonLinesFormat(tz=tz), json.dumps(record))
    assert row["ts"] == expected
    record["time"] = "2026-11-02T08:00:00+01:00"  # an explicit zone always wins
    (row,) = rows(JsonLinesFormat(tz=tz), json.dumps(record))
    assert row["ts"] == 1793602800.0


def test_unknown_zone_is_usage_error() -> None:
    from warmer.errors import UsageError
    from warmer.sample.formats._records import parse_tz

    with pytest.raises(UsageError):
        parse_tz("Mars/Olympus")
