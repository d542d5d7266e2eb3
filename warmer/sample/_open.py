"""Open an input for reading: a path or ``-`` (stdin), gzip or zstd by magic number."""

from __future__ import annotations

import contextlib
import gzip
import io
import sys
import zlib
from collections.abc import Callable, Iterator
from typing import Any, BinaryIO

from warmer.errors import InputError

_GZIP = b"\x1f\x8b"
_ZSTD = b"\x28\xb5\x2f\xfd"
HEAD_SIZE = 1 << 16


class PrefixedStream(io.RawIOBase):
    """``head`` followed by the rest of ``stream``; lets detection peek without seeking."""

    def __init__(self, head: bytes, stream: BinaryIO, name: str) -> None:
        super().__init__()
        self._head = head
        self._stream = stream
        self.name = name

    def peek_head(self) -> bytes:
        """The bytes not yet read from the head (the first 64 KiB right after opening)."""
        return self._head

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if self._head:
            if size < 0:
                data, self._head = self._head + self._read(-1), b""
                return data
            data, self._head = self._head[:size], self._head[size:]
            if len(data) < size:
                data += self._read(size - len(data))
            return data
        return self._read(size)

    def _read(self, size: int) -> bytes:
        data: bytes = self._translated(self._stream.read, size)
        return data

    def _translated(self, read: Callable[[Any], Any], arg: Any) -> Any:
        """``read(arg)`` with decompression errors turned into :class:`InputError`."""
        try:
            return read(arg)
        except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
            raise InputError(
                f"{self.name}: compressed data is truncated or corrupt ({exc})",
                hint="check the file is complete (gzip -t / zstd -t)",
            ) from exc
        except Exception as exc:
            if type(exc).__name__ == "ZstdError":
                raise InputError(f"{self.name}: corrupt zstd data ({exc})") from exc
            raise

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        if not self._head and hasattr(self._stream, "readinto"):
            # straight into the caller's memory: no bytes object, no copy
            n: int = self._translated(self._stream.readinto, buffer) or 0
            return n
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


@contextlib.contextmanager
def open_input(path: str) -> Iterator[PrefixedStream]:
    """Yield the decompressed bytes of ``path`` (``-`` = stdin) with its head peekable."""
    name = "<stdin>" if path == "-" else path
    with contextlib.ExitStack() as stack:
        raw = sys.stdin.buffer if path == "-" else stack.enter_context(_open_file(path))
        magic = raw.read(4)
        stream = _decompressor(stack, magic, PrefixedStream(magic, raw, name))  # type: ignore[arg-type]
        wrapped = PrefixedStream(b"", stream, name)
        head = wrapped.read(HEAD_SIZE)
        yield PrefixedStream(head, stream, name)


def _open_file(path: str) -> BinaryIO:
    try:
        return open(path, "rb")
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}", hint="check the path") from exc


def _decompressor(stack: contextlib.ExitStack, magic: bytes, stream: BinaryIO) -> BinaryIO:
    if magic.startswith(_GZIP):
        return stack.enter_context(gzip.GzipFile(fileobj=stream, mode="rb"))  # type: ignore[return-value]
    if magic.startswith(_ZSTD):
        import zstandard

        reader: BinaryIO = stack.enter_context(
            zstandard.ZstdDecompressor().stream_reader(stream, read_across_frames=True)
        )
        return reader
    return stream
