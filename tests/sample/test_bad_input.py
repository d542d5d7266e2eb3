"""Bad input never crashes the import and never reaches the sample."""

from __future__ import annotations

import gzip
import io
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from warmer.errors import InputError, MalformedInputError
from warmer.sample.importer import ImportOptions, import_logs

from ._import_helpers import combined, import_text

GOOD = combined(1).rstrip("\n")


def _only_good(tmp_path: Path, data: bytes, bad_line: int, reason_part: str) -> None:
    report, rows, out = import_text(tmp_path, data, ImportOptions(format="combined"))
    (source,) = report.sources
    assert len(rows) == 2
    assert source.rejects.count >= 1
    assert any(line == bad_line and reason_part in why for line, why in source.rejects.first)
    raw = out.read_bytes()
    assert b"EVIL" not in raw


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        (b"\xff\xfe EVIL not utf-8 \x80", "UTF-8"),
        (GOOD.replace("/p/0", "/p/EVIL\rX").encode(), "control"),
        (GOOD.replace("/p/0", "/EVIL\x00").encode(), "control"),
        (GOOD.replace("curl/8.0", "EVIL\x1b[31m").encode(), "control"),
        (GOOD.replace("/p/0", "/p/EVIL\\x0d\\x0aSet-Cookie:").encode(), "target"),
        (GOOD.replace("/p/0", "/p/EVIL\\xff").encode(), "target"),
        (GOOD.replace("GET", "G\\x0dET EVIL").encode(), "request"),
        (b"\x00\x01\x02\x03EVIL\x04\x05 binary garbage", "control"),
        (GOOD.replace("[02/Nov/2026:08:00:00 +0100]", "[99/Zzz/2026:EVIL]").encode(), "match"),
        (b'1.2.3.4 - - [02/Nov/2026:08:00:00 +0100] "GET /EVIL', "match"),
    ],
)
def test_bad_line_skipped_and_reported(tmp_path: Path, bad: bytes, reason: str) -> None:
    data = GOOD.encode() + b"\n" + bad + b"\n" + GOOD.encode() + b"\n"
    _only_good(tmp_path, data, 2, reason)


def test_crlf_in_middle_of_path_is_rejected(tmp_path: Path) -> None:
    bad = GOOD.replace("/p/0", "/p/EVIL\r\nHost: x").encode()
    data = GOOD.encode() + b"\n" + bad + b"\n" + GOOD.encode() + b"\n"
    report, rows, out = import_text(tmp_path, data, ImportOptions(format="combined"))
    assert len(rows) == 2
    assert report.sources[0].rejects.count == 2  # both halves of the split line
    assert b"EVIL" not in out.read_bytes()


def test_crlf_line_endings_are_fine(tmp_path: Path) -> None:
    data = (GOOD + "\r\n" + GOOD + "\r\n").encode()
    report, rows, _ = import_text(tmp_path, data)
    assert len(rows) == 2 and report.sources[0].rejects.count == 0


def test_line_over_one_mib_is_rejected(tmp_path: Path) -> None:
    long_line = GOOD.replace("/p/0", "/EVIL" + "a" * (1 << 20)).encode()
    data = GOOD.encode() + b"\n" + long_line + b"\n" + GOOD.encode() + b"\n"
    _only_good(tmp_path, data, 2, "1 MiB")


def test_line_over_one_mib_spanning_reads(tmp_path: Path) -> None:
    import io

    from warmer.sample.formats._lines import iter_line_blocks

    long_line = b"x" * (3 << 20)
    data = b"a\n" + long_line + b"\nb\n"
    blocks = list(iter_line_blocks(io.BytesIO(data), block_size=1 << 20))
    assert sum(b.n_lines for b in blocks) == 3
    rejected = {k: v for b in blocks for k, v in b.rejected.items()}
    assert rejected == {2: "line longer than 1 MiB"}
    assert all(len(b.data) < (2 << 20) for b in blocks)


def test_empty_file_is_an_input_error_and_writes_nothing(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"in\.log holds no line or entry"):
        import_text(tmp_path, b"")
    assert not (tmp_path / "out.parquet").exists()


def test_truncated_gzip_is_input_error(tmp_path: Path) -> None:
    data = gzip.compress(combined(2000).encode())
    src = tmp_path / "t.log.gz"
    src.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match="truncated or corrupt"):
        import_logs([str(src)], tmp_path / "o.parquet", ImportOptions(format="combined"))
    assert not (tmp_path / "o.parquet").exists()


def test_missing_fields(tmp_path: Path) -> None:
    data = (
        GOOD
        + "\n"
        + '1.2.3.4 - - [02/Nov/2026:08:00:00 +0100] "GET /EVIL HTTP/1.1" 200\n'
        + GOOD
        + "\n"
    )
    _only_good(tmp_path, data.encode(), 2, "match")


def test_strict_stops_at_first_malformed_line(tmp_path: Path) -> None:
    src = tmp_path / "s.log"
    src.write_text(GOOD + "\n" + GOOD + "\nnonsense\n")
    with pytest.raises(MalformedInputError, match=r"s\.log:3: does not match"):
        import_logs(
            [str(src)], tmp_path / "o.parquet", ImportOptions(strict=True, format="combined")
        )


def test_nothing_importable_is_input_error(tmp_path: Path) -> None:
    src = tmp_path / "x.log"
    src.write_text("nonsense\nmore nonsense\n")
    with pytest.raises(InputError, match="no request could be imported") as info:
        import_logs([str(src)], tmp_path / "o.parquet", ImportOptions(format="combined"))
    assert info.value.hint and "--format" in info.value.hint


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.integers(0, 40), max_size=30),
    st.integers(1, 16),
    st.integers(4, 24),
    st.booleans(),
)
def test_reused_blocks_give_what_raw_blocks_give(
    lengths: list[int], block_size: int, max_line: int, final_newline: bool
) -> None:
    """The reading the C tokenizer uses (one buffer, overwritten) against the plain one,
    with lines longer than the limit and than a read, and a last line without LF."""
    from warmer.sample.formats._lines import raw_blocks, reused_blocks

    data = b"\n".join(bytes([97 + i % 26]) * n for i, n in enumerate(lengths))
    data += b"\n" if final_newline and data else b""
    expected = list(raw_blocks(io.BytesIO(data), block_size, max_line))
    got = [
        (bytes(view), list(long_lines))
        for view, long_lines in reused_blocks(io.BytesIO(data), block_size, max_line)
    ]
    assert got == [(bytes(b), ll) for b, ll in expected]
