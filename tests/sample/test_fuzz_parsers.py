"""Property-based fuzzing of every parser: no exception escapes, no control character
reaches the output, every input line is either a record or a counted reject."""

from __future__ import annotations

import contextlib
import io
import json
import re

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from warmer.sample.formats.alb import AlbFormat
from warmer.sample.formats.csvfile import CsvFormat
from warmer.sample.formats.har import HarFormat
from warmer.sample.formats.interface import LogFormat
from warmer.sample.formats.jsonl import JsonLinesFormat
from warmer.sample.formats.nginx import COMBINED, COMBINED_TIMING, COMMON, NginxFormat
from warmer.sample.importer import ImportOptions, ImportReport, _Refiner

CONTROL = re.compile(r"[\x00-\x1f\x7f]")
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

GOOD = '1.2.3.4 - - [02/Nov/2026:08:00:00 +0100] "GET /a?b=1 HTTP/1.1" 200 12 "-" "ua" 0.1 HIT'
piece = st.sampled_from(
    ['"', "\\", "\\x0d", "\r", "\n", "\x00", " ", "[", "]", "-", "\xff", "é", "GET", "/", "%0d"]
)


def mutate(base: str) -> st.SearchStrategy[str]:
    """Lines close to valid ones, with pieces inserted or cut (finds more than random text)."""
    return st.tuples(st.integers(0, len(base)), st.integers(0, 8), st.lists(piece, max_size=4)).map(
        lambda t: base[: t[0]] + "".join(t[2]) + base[t[0] + t[1] :]
    )


lines = st.lists(st.one_of(mutate(GOOD), st.text(max_size=80)), min_size=1, max_size=12)
raw_bytes = st.binary(max_size=400)


def _run(fmt: LogFormat, data: bytes) -> None:
    refiner = _Refiner(ImportOptions(), ImportReport(output=None, sources=[]))  # type: ignore[arg-type]
    for block in fmt.parse(io.BytesIO(data)):
        if block.checked:  # line formats: every line is a row or a counted reject
            assert block.table.num_rows + block.rejects.count == block.lines
        table, rejects = refiner.refine(block.table, checked=block.checked)
        assert table.num_rows + rejects.count == block.table.num_rows
        _assert_clean(table)


def _assert_clean(table: pa.Table) -> None:
    for row in table.to_pylist():
        assert not CONTROL.search(row["method"]) and not CONTROL.search(row["target"])
        assert " " not in row["target"]
        for name, value in row["headers"] or ():
            assert not CONTROL.search(name) and not CONTROL.search(value)


@SETTINGS
@given(lines)
def test_nginx_formats(text: list[str]) -> None:
    data = "\n".join(text).encode("utf-8", errors="surrogatepass")
    for fmt in (COMBINED, COMMON, COMBINED_TIMING, "$remote_addr|$msec|$request|$status"):
        _run(NginxFormat("f", fmt), data)


@SETTINGS
@given(raw_bytes)
def test_nginx_raw_bytes(data: bytes) -> None:
    _run(NginxFormat("f", COMBINED_TIMING), data)


ALB_GOOD = (
    "https 2026-11-02T07:00:00.123456Z app/lb/1 1.2.3.4:5 10.0.0.1:80 0.001 0.002 0.000 200 200 "
    '10 20 "GET https://h.example:443/a?x=1 HTTP/1.1" "curl/8" - - arn "Root=1" "-" "-" 0'
)


@SETTINGS
@given(st.lists(st.one_of(mutate(ALB_GOOD), st.text(max_size=60)), min_size=1, max_size=8))
def test_alb(text: list[str]) -> None:
    _run(AlbFormat(), "\n".join(text).encode("utf-8", errors="surrogatepass"))


json_values = st.recursive(
    st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=8,
)
json_objects = st.fixed_dictionaries(
    {},
    optional={
        "ts": st.one_of(st.floats(), st.integers(), st.text(max_size=30)),
        "method": st.text(max_size=8),
        "target": st.text(max_size=30),
        "status": json_values,
        "headers": st.dictionaries(st.text(max_size=10), st.text(max_size=10), max_size=3),
        "request": st.text(max_size=30),
    },
)


@SETTINGS
@given(st.lists(st.one_of(json_objects, json_values), min_size=1, max_size=8))
def test_json_lines(objects: list[object]) -> None:
    data = "\n".join(json.dumps(o) for o in objects).encode()
    _run(JsonLinesFormat(), data)


@SETTINGS
@given(st.lists(st.one_of(json_objects, json_values), max_size=6), raw_bytes)
def test_har(entries: list[object], junk: bytes) -> None:
    from warmer.errors import InputError

    har = {
        "log": {
            "version": "1.2",
            "entries": [
                {
                    "startedDateTime": e.get("ts") if isinstance(e, dict) else e,
                    "request": {
                        "method": e.get("method") if isinstance(e, dict) else None,
                        "url": e.get("target") if isinstance(e, dict) else None,
                        "headers": [{"name": "X", "value": str(e)}],
                    },
                }
                for e in entries
            ],
        }
    }
    try:
        document = json.dumps(har, allow_nan=False)
    except ValueError:  # NaN/Infinity are not JSON (RFC 8259): refused as input, not a crash
        with pytest.raises(InputError):
            _run(HarFormat(), json.dumps(har).encode())
    else:
        _run(HarFormat(), document.encode())
    # A document that is not HAR is a clean input error, never a crash.
    with contextlib.suppress(InputError):
        _run(HarFormat(), junk)


@SETTINGS
@given(st.lists(st.lists(st.text(max_size=15), max_size=5), min_size=1, max_size=8))
def test_csv(rows: list[list[str]]) -> None:
    import csv

    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["ts", "method", "target", "status"])
    writer.writerows(rows)
    _run(CsvFormat(), buf.getvalue().encode("utf-8", errors="surrogatepass"))
