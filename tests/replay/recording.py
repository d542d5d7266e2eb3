"""A raw-socket HTTP/1.1 server that records every request head it can find in the bytes.

It reads the stream as leniently as the most permissive server would: any LF ends a line
(a bare CR, NUL or other control byte is kept and reported), a blank line ends a head,
``Content-Length`` frames a body, and whatever follows is read as the next request. So
a value that smuggles a second request into the stream shows up here as an extra head.
Each head is answered with an empty 200 on the same keep-alive connection.
"""

from __future__ import annotations

import re
import socket
import threading
from dataclasses import dataclass

from tests.replay.conftest import Resetter

_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_FIELD_VALUE = re.compile(rb"[\t\x20-\x7e\x80-\xff]*")
_REQUEST_LINE = re.compile(rb"([A-Z]+) (/[\x21-\x7e]*) HTTP/1\.1")
_RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nX-Cache: HIT\r\n\r\n"


@dataclass(frozen=True)
class Head:
    """One request head as received: the request line and the header lines, raw."""

    line: bytes
    fields: tuple[bytes, ...]

    @property
    def method(self) -> bytes:
        return self.line.split(b" ", 1)[0]

    @property
    def target(self) -> bytes:
        parts = self.line.split(b" ")
        return parts[1] if len(parts) > 1 else b""

    def values(self, name: bytes) -> list[bytes]:
        """Values of every header called ``name`` (any case), surrounding spaces removed."""
        out = []
        for field in self.fields:
            key, colon, value = field.partition(b":")
            if colon and key.lower() == name.lower():
                out.append(value.strip(b" \t"))
        return out

    def problems(self) -> list[str]:
        """What makes this head unlike a request warmer may send (empty when none)."""
        found = []
        if not _REQUEST_LINE.fullmatch(self.line):
            found.append(f"request line {self.line!r}")
        for field in self.fields:
            key, colon, value = field.partition(b":")
            if not colon or not _TOKEN.fullmatch(key):
                found.append(f"header line {field!r}")
            elif not _FIELD_VALUE.fullmatch(value):
                found.append(f"header value {field!r}")
        if len(self.values(b"host")) != 1:
            found.append(f"{len(self.values(b'host'))} Host headers")
        return found


class RecordingServer(Resetter):
    """Records the heads of every request on ``port``; ``reset`` starts a new record."""

    def __init__(self) -> None:
        self.heads: list[Head] = []
        self.raw: list[bytes] = []
        self._lock = threading.Lock()
        super().__init__()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def reset(self) -> None:
        with self._lock:
            self.heads, self.raw = [], []

    def snapshot(self) -> tuple[list[Head], bytes]:
        """The heads recorded so far and every byte received."""
        with self._lock:
            return list(self.heads), b"".join(self.raw)

    def handle(self, conn: socket.socket) -> None:
        buffer = b""
        while data := conn.recv(65536):
            with self._lock:
                self.raw.append(data)
            buffer += data
            while (parsed := _next_request(buffer)) is not None:
                head, buffer = parsed
                with self._lock:
                    self.heads.append(head)
                conn.sendall(_RESPONSE)


def _next_request(buffer: bytes) -> tuple[Head, bytes] | None:
    """The first complete request in ``buffer`` and the bytes after it, or None."""
    buffer = buffer.lstrip(b"\r\n")  # RFC 9112 §2.2: empty lines before a request
    end = re.search(rb"\n\r?\n", buffer)
    if end is None:
        return None
    lines = [line.removesuffix(b"\r") for line in buffer[: end.start()].split(b"\n")]
    head = Head(lines[0], tuple(lines[1:]))
    rest = buffer[end.end() :]
    length = head.values(b"content-length")
    size = int(length[0]) if length and length[0].isdigit() else 0
    if len(rest) < size:
        return None
    return head, rest[size:]
