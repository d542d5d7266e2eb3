"""Cut a byte stream into blocks of whole lines, rejecting lines no parser should see.

Each block's lines are valid UTF-8, at most :data:`MAX_LINE` bytes, and free of control
characters other than TAB; every other line is replaced by an empty line (so line
numbers stay true) and recorded with its reason. CRLF endings are accepted.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np

MAX_LINE = 1 << 20
"""Lines longer than this (1 MiB) are rejected, without ever holding them whole."""

BLOCK_SIZE = 16 << 20
"""Bytes read per block; memory of the import scales with this, not with the input."""

REASON_UTF8 = "not valid UTF-8"
REASON_LONG = "line longer than 1 MiB"
REASON_CONTROL = "control character in line"
REASON_EMPTY = "empty line"
_NOT_CONTROL = bytes(b for b in range(256) if b >= 32 and b != 127)


@dataclass
class LineBlock:
    """Whole lines ``first_line`` .. ``first_line + n_lines - 1``; each ends with ``\\n``."""

    data: bytes
    first_line: int
    n_lines: int
    rejected: dict[int, str]
    """Absolute line number -> reason, for lines blanked out of ``data``."""


def iter_line_blocks(stream: BinaryIO, block_size: int = BLOCK_SIZE) -> Iterator[LineBlock]:
    """Yield cleaned blocks of whole lines from ``stream``; the last line may lack ``\\n``."""
    line_no = 1
    for raw, long_lines in _raw_blocks(stream, block_size):
        data, n, rejected = clean_block(raw, line_no)
        for offset in long_lines:
            rejected[line_no + offset] = REASON_LONG
        yield LineBlock(data, line_no, n, rejected)
        line_no += n


def _raw_blocks(stream: BinaryIO, block_size: int) -> Iterator[tuple[bytes, list[int]]]:
    """Blocks of whole lines; over-long lines are dropped to an empty line as they stream."""
    rest = b""
    long_lines: list[int] = []
    skipping = False
    while True:
        chunk = stream.read(block_size)
        if not chunk:
            break
        if skipping:
            cut = chunk.find(b"\n")
            if cut < 0:
                continue
            chunk, skipping = chunk[cut + 1 :], False
        buf = rest + chunk if rest else chunk
        cut = buf.rfind(b"\n") + 1
        whole, rest = buf[:cut], buf[cut:]
        if len(rest) > MAX_LINE:
            long_lines.append(whole.count(b"\n"))
            whole, rest, skipping = whole + b"\n", b"", True
        if whole:
            yield whole, long_lines
            long_lines = []
    if rest or long_lines:
        yield (rest + b"\n" if rest else b""), long_lines


def clean_block(data: bytes, first_line: int) -> tuple[bytes, int, dict[int, str]]:
    """Blank out bad lines of ``data`` (whole lines); returns data, line count, rejections."""
    if not data.endswith(b"\n"):
        data += b"\n"
    if b"\r\n" in data:
        data = data.replace(b"\r\n", b"\n")
    arr = np.frombuffer(data, dtype=np.uint8)
    newlines = np.flatnonzero(arr == 10)
    n = len(newlines)
    suspect = _suspect_lines(data)
    long_idx = np.flatnonzero(np.diff(newlines, prepend=-1) - 1 > MAX_LINE)
    empty_idx = np.flatnonzero(np.diff(newlines, prepend=-1) == 1)
    rejected: dict[int, str] = {int(i) + first_line: REASON_EMPTY for i in empty_idx}
    if not suspect and not len(long_idx):
        try:
            data.decode("utf-8")
            return data, n, rejected
        except UnicodeDecodeError:
            pass
    lines = data.split(b"\n")[:n]
    for i, line in enumerate(lines):
        reason = _line_problem(line)
        if reason:
            rejected[first_line + i] = reason
            lines[i] = b""
    return b"\n".join(lines) + b"\n", n, rejected


def _suspect_lines(data: bytes) -> bool:
    """Whether any control byte other than TAB and LF occurs (one C-speed pass)."""
    return bool(data.translate(None, _NOT_CONTROL).translate(None, b"\t\n"))


def _line_problem(line: bytes) -> str | None:
    if len(line) > MAX_LINE:
        return REASON_LONG
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError:
        return REASON_UTF8
    if any((ord(c) < 32 and c != "\t") or c == "\x7f" for c in text):
        return REASON_CONTROL
    return None
