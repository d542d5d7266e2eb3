"""The compiled nginx tokenizer (``_tokenize_c.c``) against the Arrow path it speeds up.

Both must give the same rows and the same rejects for any input. The Arrow path reads a
line with Arrow's CSV tokenizer and falls back to the format's regular expression; the
compiled one splits the line itself and falls back to the same expression, so a line
only the CSV tokenizer would accept (text glued after a closing quote, a bare field that
starts with a quote, a value without the quotes the format gives it) is read by the
expression there, which refuses it: those lines are compared line by line below, where
the two tokenizers agree on how to split.
"""

from __future__ import annotations

import gzip
import io
import os
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from warmer.sample.formats import nginx
from warmer.sample.formats._lines import _line_problem, iter_line_blocks
from warmer.sample.formats.interface import Rejects

REPO = Path(__file__).resolve().parents[2]

native = pytest.mark.skipif(
    nginx._tokenize is None,
    reason="the C tokenizer is off (not built: no C compiler; or WARMER_NO_NATIVE)",
)

FORMATS = [
    nginx.COMBINED,
    nginx.COMMON,
    nginx.COMBINED_TIMING,
    '$remote_addr [$time_local] "$request" $status "$http_x_forwarded_for" $host',
    '$remote_addr - $remote_user [$time_local] "$request" $status $bytes_sent '
    '"$http_referer" "$http_user_agent" $msec $upstream_cache_status',
]


def arrow_path(log_format: str, data: bytes) -> tuple[pa.Table, Rejects, int]:
    compiled = nginx.compile_log_format(log_format)
    blocks = [nginx.parse_block(compiled, b) for b in iter_line_blocks(io.BytesIO(data))]
    return _joined(blocks)


def native_path(log_format: str, data: bytes) -> tuple[pa.Table, Rejects, int]:
    compiled = nginx.compile_log_format(log_format)
    return _joined(list(nginx.parse_native(compiled, io.BytesIO(data))))


def _joined(blocks: list) -> tuple[pa.Table, Rejects, int]:  # type: ignore[type-arg]
    rejects = Rejects()
    for b in blocks:
        rejects.extend(b.rejects)
    table = pa.concat_tables([b.table for b in blocks]).combine_chunks()
    return table.sort_by("line"), rejects, sum(b.lines for b in blocks)


def assert_same(log_format: str, data: bytes) -> tuple[pa.Table, Rejects]:
    expected, expected_rejects, expected_lines = arrow_path(log_format, data)
    table, rejects, lines = native_path(log_format, data)
    assert lines == expected_lines
    assert table.to_pylist() == expected.to_pylist()
    assert (rejects.count, rejects.by_reason) == (
        expected_rejects.count,
        expected_rejects.by_reason,
    )
    assert rejects.first == expected_rejects.first
    return table, rejects


GOOD = '1.2.3.4 - - [02/Nov/2026:08:00:00 +0100] "GET /a HTTP/1.1" 200 5 "-" "ua"'


def split_by_csv(line: bytes) -> bool:
    """Whether the Arrow path decides ``line`` without the regex (checks, then CSV)."""
    if _line_problem(line):
        return True
    compiled = nginx.compile_log_format(nginx.COMBINED)
    assert compiled.fields is not None
    width = sum(f.width for f in compiled.fields)
    try:
        table, invalid = nginx._read_fields(line + b"\n", width, threads=False)
    except pa.ArrowInvalid:
        return False
    return table.num_rows == 1 and not invalid


def split_by_native(line: bytes) -> bool:
    """Whether the compiled path decides ``line`` without the regex."""
    compiled = nginx.compile_log_format(nginx.COMBINED)
    assert compiled.fields is not None and nginx._tokenize is not None
    plan = nginx._plan(compiled.fields)
    _, _, _, retry, _ = nginx._tokenize(line + b"\n", 1, plan.fields, len(plan.columns), 2)
    return not retry


def assert_same_per_line(data: bytes) -> int:
    """Each line on its own, followed by a good one; returns how many were compared.

    A line both tokenizers split must give the same row (or the same reject), and so must
    a line neither splits (the format's regular expression reads it in both). A line only
    one of them splits is read by different rules: Arrow's CSV tokenizer ends a quoted
    value at ``\\"`` and glues text after a closing quote on, the compiled one takes
    ``\\"`` as an escaped quote (as the regular expression does) and refuses glued text.
    An empty line is left out: Arrow makes a row of empty fields of it.
    """
    compared = 0
    for line in data.split(b"\n"):
        line = line.removesuffix(b"\r")
        if not line or b'\\"' in line or split_by_csv(line) != split_by_native(line):
            continue
        assert_same(nginx.COMBINED, line + b"\n" + GOOD.encode() + b"\n")
        compared += 1
    return compared


# Field values as they appear in real logs, and as an attacker or a broken proxy writes them.
_plain = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E, exclude_characters='"\\'))
_odd = st.sampled_from(
    [
        "-",
        "",
        " ",
        "\t",
        "é",
        "日本",
        "\\x22",
        '\\"',
        "\\\\",
        "%0d%0a",
        "\x7f",
        "\x00",
        "\r",
        "\x1b",
    ]
)
_text = st.lists(st.one_of(_plain, _odd), max_size=4).map("".join)
_stamps = st.sampled_from(
    ["02/Nov/2026:08:00:00 +0100", "31/Dec/2025:23:59:59 -0000", "99/Zzz/2026:00:00:00 +0000"]
)
_requests = st.one_of(
    st.tuples(st.sampled_from(["GET", "get", "POST", "G3T", ""]), _text).map(
        lambda r: f"{r[0]} /{r[1]} HTTP/1.1"
    ),
    _text,
)
_numbers = st.one_of(st.integers(0, 10**6).map(str), st.sampled_from(["-", "x", "1.5", ""]))


@st.composite
def combined_lines(draw: st.DrawFn) -> str:
    """A combined line; now and then with a field that is not what the format says."""
    fields = [
        draw(st.sampled_from(["10.0.0.1", "::1", "-", "a b"])),
        "-",
        draw(st.sampled_from(["-", "alice", ""])),
        f"[{draw(_stamps)}]",
        f'"{draw(_requests)}"',
        draw(_numbers),
        draw(_numbers),
        f'"{draw(_text)}"',
        f'"{draw(_text)}"',
    ]
    if draw(st.integers(0, 9)) == 0:  # a field missing or one too many
        fields.pop(draw(st.integers(0, len(fields) - 1)))
    line = " ".join(fields)
    return line + draw(st.sampled_from(["", "", "\r", " "]))


@native
@settings(max_examples=300, deadline=None)
@given(st.lists(combined_lines(), max_size=25))
def test_same_rows_and_rejects_as_the_arrow_path(lines: list[str]) -> None:
    assert_same_per_line("\n".join(lines).encode("utf-8", "surrogatepass"))


@native
@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_same_on_any_bytes(data: bytes) -> None:
    assert_same_per_line(data)


@native
@pytest.mark.parametrize("log_format", FORMATS)
def test_same_on_the_bundled_log_in_several_formats(log_format: str) -> None:
    """The demo log is combined with timing; read with other formats the lines fail."""
    data = gzip.decompress((REPO / "traffic_samples/demo-access.log.gz").read_bytes())
    table, _ = assert_same(log_format, data[: 4 << 20])
    if log_format == nginx.COMBINED_TIMING:
        assert table.num_rows > 10_000


@native
def test_escaped_quotes_and_long_lines_and_crlf() -> None:
    good = GOOD
    lines = [
        good,
        good.replace('"ua"', '"say \\"hi\\""'),  # Apache escapes a quote in a value
        good + "\r",
        good.replace("/a", "/" + "x" * (1 << 20)),  # longer than MAX_LINE
        good.replace("/a", "/\x01"),
        good.replace('"ua"', '"ua"trailing'),
        "",
        good,
    ]
    data = "\n".join(lines).encode()
    table, rejects, _ = native_path(nginx.COMBINED, data)
    assert table.column("line").to_pylist() == [1, 2, 3, 8]
    assert table.column("headers").to_pylist()[1] == [("user-agent", 'say "hi"')]  # unescaped
    assert rejects.count == 4
    assert rejects.by_reason == {
        "line longer than 1 MiB": 1,
        "control character in line": 1,
        "does not match the format": 2,  # glued text; the empty line
    }
    # Lines both tokenizers split are compared with the Arrow path one by one.
    assert assert_same_per_line(data) == 5  # 1, 3 (CR dropped), the long, the control one, 8
    assert table.column("line").to_pylist()[1] == 2  # the escaped quotes: regex-checked


@native
def test_the_cli_writes_the_same_sample_either_way(tmp_path: Path) -> None:
    """``WARMER_NO_NATIVE=1`` switches the compiled paths off: the file must not change."""
    log = REPO / "traffic_samples/demo-access.log.gz"
    outputs = []
    for flag in ("", "1"):
        out = tmp_path / f"sample-{flag or 'native'}.parquet"
        env = {k: v for k, v in os.environ.items() if not k.startswith("WARMER_")}
        env["WARMER_NO_NATIVE"] = flag
        command = [sys.executable, "-m", "warmer", "sample", "import", str(log), "-o", str(out)]
        # Pseudonyms and client ids are salted per run: plain redaction compares.
        command.append("--redact")
        subprocess.run(command, check=True, env=env, capture_output=True)
        outputs.append(pq.read_table(out).drop_columns(["client"]))
    assert outputs[0].num_rows > 10_000
    assert outputs[0].equals(outputs[1])
