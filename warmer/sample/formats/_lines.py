"""Cut a byte stream into blocks of whole lines, rejecting lines no parser should see.

Each block's lines are valid UTF-8, at most :data:`MAX_LINE` bytes, and free of control
characters other than TAB; every other line is replaced by an empty line (so line
numbers stay true) and recorded with its reason. CRLF endings are accepted. Empty lines
are left to the format, which rejects them as not matching.
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
_ALLOWED = bytes(b for b in range(256) if (b >= 32 and b != 127) or b in (9, 10))


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
    for raw, long_lines in raw_blocks(stream, block_size):
        data, n, rejected = clean_block(raw, line_no)
        for offset in long_lines:
            rejected[line_no + offset] = REASON_LONG
        yield LineBlock(data, line_no, n, rejected)
        line_no += n


def raw_blocks(
    stream: BinaryIO, block_size: int = BLOCK_SIZE, max_line: int = MAX_LINE
) -> Iterator[tuple[bytes, list[int]]]:
    """Blocks of whole lines, unchecked, each ending with LF, and the offsets (line index
    within the block) of lines longer than :data:`MAX_LINE` that were dropped to an empty
    line as they streamed (a line longer than a read is never held whole)."""
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
        if len(rest) > max_line:
            long_lines.append(whole.count(b"\n"))
            whole, rest, skipping = whole + b"\n", b"", True
        if whole:
            yield whole, long_lines
            long_lines = []
    if rest or long_lines:
        yield (rest + b"\n" if rest else b""), long_lines


def reused_blocks(
    stream: BinaryIO, block_size: int = BLOCK_SIZE, max_line: int = MAX_LINE
) -> Iterator[tuple[memoryview, list[int]]]:
    """The blocks of :func:`raw_blocks`, each a view of one buffer that the next read
    overwrites: a consumer must be done with a block before it asks for the next one.

    Reading into the same memory spares the two copies of every block that carrying a
    partial line over costs in :func:`raw_blocks`, and the page faults of fresh buffers;
    the compiled tokenizer copies out what it keeps, so it can read blocks this way.
    """
    buf = bytearray(max_line + block_size + 1)  # a carried partial line, a read, an LF
    view = memoryview(buf)
    carried = 0  # bytes of an unfinished line at the front of buf
    skipping = False  # inside an over-long line: drop bytes through its LF
    long_lines: list[int] = []
    while True:
        n = _fill(stream, view[carried : carried + block_size])
        if not n:
            break
        start, end = 0, carried + n
        if skipping:
            cut = buf.find(b"\n", carried, end)
            if cut < 0:
                carried = 0
                continue
            start, skipping = cut + 1, False
        cut = buf.rfind(b"\n", start, end) + 1 or start
        if end - cut > max_line:  # over-long: it becomes an empty line, the rest is dropped
            long_lines.append(buf.count(b"\n", start, cut))
            buf[cut] = 10
            yield view[start : cut + 1], long_lines
            long_lines, carried, skipping = [], 0, True
            continue
        if cut > start:
            yield view[start:cut], long_lines
            long_lines = []
        carried = end - cut
        buf[:carried] = buf[cut:end]
    if carried or long_lines:
        buf[carried] = 10
        yield view[: carried + 1 if carried else 0], long_lines


def _fill(stream: BinaryIO, view: memoryview) -> int:
    """Read into ``view`` until it is full or the input ends; the bytes read."""
    readinto = getattr(stream, "readinto", None)
    got = 0
    while got < len(view):
        if readinto is not None:
            n = readinto(view[got:])
        else:  # a file-like object without readinto: read, then copy
            chunk = stream.read(len(view) - got)
            n = len(chunk)
            view[got : got + n] = chunk
        if not n:
            break
        got += n
    return got


def clean_block(data: bytes, first_line: int) -> tuple[bytes, int, dict[int, str]]:
    """Blank out bad lines of ``data`` (whole lines); returns data, line count, rejections."""
    if not data.endswith(b"\n"):
        data += b"\n"
    n = data.count(b"\n")
    if not data.translate(None, _ALLOWED):  # no control byte but TAB/LF: the common case
        if not _has_long_line(data) and (data.isascii() or _is_utf8(data)):
            return data, n, {}
    elif b"\r\n" in data:
        data = data.replace(b"\r\n", b"\n")
    rejected: dict[int, str] = {}
    lines = data.split(b"\n")[:n]
    for i, line in enumerate(lines):
        reason = _line_problem(line)
        if reason:
            rejected[first_line + i] = reason
            lines[i] = b""
    return b"\n".join(lines) + b"\n", n, rejected


def _newlines(data: bytes) -> np.ndarray:
    return np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 10)


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _has_long_line(data: bytes) -> bool:
    if len(data) <= MAX_LINE:
        return False
    # A run of more than MAX_LINE bytes without LF covers a whole aligned half-window;
    # only when some half-window has no LF are the exact line lengths computed.
    half = MAX_LINE // 2
    if all(data.find(b"\n", k, k + half) >= 0 for k in range(0, len(data) - half + 1, half)):
        return False
    newlines = _newlines(data)
    return bool(np.any(np.diff(newlines, prepend=-1) - 1 > MAX_LINE))


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
