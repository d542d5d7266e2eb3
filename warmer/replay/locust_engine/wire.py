"""The messages between warmer, its Locust master and the workers: kinds, layouts, framing.

warmer imports this as ``warmer.replay.locust_engine.wire``; the master and worker
processes load it by path (Locust's gevent patching keeps them apart from warmer), so it
needs only the standard library and msgpack, a Locust dependency.

warmer ⇄ master: frames on a socket pair, each a 4-byte big-endian length and a msgpack
``[kind, data]``. master ⇄ workers: Locust custom messages (``runner.send_message``).
Job chunks and row batches are msgpack bytes packed by their sender and unpacked by their
receiver only; the master forwards them without decoding.

A chunk (warmer → worker) is ``{"h": HEADER_LISTS, "j": JOBS}``; each job is
``[seq, due, method, path, header_index, body]`` with ``due`` in seconds after the phase's
shared start (``None``: as soon as a user is free) and ``body`` bytes or ``None``.
A row batch (worker → warmer) is a list of ``ROW_FIELDS`` lists.
"""

from __future__ import annotations

import struct
from typing import Any

import msgpack

# warmer → master
PHASE = "phase"
"""``{"name"}``: pick the workers for a phase; the master answers ``WORKERS``."""
START = "start"
"""``{"t0", "duration", "paced"}``: the shared start (master epoch s), time limit, open model."""
JOBS = "jobs"
"""``{"w": worker index, "b": chunk}``."""
END = "end"
"""No more jobs in this phase."""
STOP = "stop"
"""Stop taking jobs now; what is in flight still reports."""
CLOSE = "close"
"""Tell the workers to quit and exit."""

# master → warmer
BOUND = "bound"
"""``{"port"}``: the master listens (local workers may connect now)."""
READY = "ready"
"""``{"workers"}``: the expected workers joined and their users are spawned."""
WORKERS = "workers"
"""``{"workers": [{"id", "host", "address"}, ...]}``: a phase's workers, in index order."""
ROWS = "rows"
"""``{"w", "b": row batch, "n": rows, "d": jobs dropped unsent}``."""
DONE = "done"
"""``{"w", "sent", "dropped"}``: a worker finished the phase after ``sent`` rows."""
LOST = "lost"
"""``{"w", "host", "address", "why"}``: a phase's worker is gone."""
ERROR = "error"
"""``{"message", "hint"}``: the master cannot go on."""

# Locust custom messages, master ⇄ worker
TO_WORKER_SETUP = "warmer_setup"
TO_WORKER_START = "warmer_start"
TO_WORKER_JOBS = "warmer_jobs"
TO_WORKER_END = "warmer_end"
TO_WORKER_STOP = "warmer_stop"
TO_WORKER_PONG = "warmer_pong"
FROM_WORKER_PING = "warmer_ping"
FROM_WORKER_HELLO = "warmer_hello"
FROM_WORKER_ROWS = "warmer_rows"
FROM_WORKER_DONE = "warmer_done"

ROW_FIELDS = (
    "seq", "sent", "latency_ms", "status", "bytes", "error",
    "cache_status", "x_cache", "x_cache_status", "age",
)  # fmt: skip
"""A result row: ``sent`` in seconds after the phase's shared start, ``latency_ms`` or None."""

_LENGTH = struct.Struct(">I")
MAX_FRAME = 64 << 20


def pack(data: Any) -> bytes:
    """msgpack bytes of ``data`` (bytes stay bytes)."""
    packed: bytes = msgpack.packb(data, use_bin_type=True)
    return packed


def unpack(data: bytes) -> Any:
    """The value :func:`pack` turned into ``data``."""
    return msgpack.unpackb(data, raw=False, strict_map_key=False)


def frame(kind: str, data: Any = None) -> bytes:
    """One warmer ⇄ master frame."""
    body = pack([kind, data])
    return _LENGTH.pack(len(body)) + body


class FrameReader:
    """Splits a byte stream into frames: :meth:`feed` bytes, get ``(kind, data)`` pairs."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[tuple[str, Any]]:
        """Frames completed by ``data``; a partial frame waits for more bytes."""
        self._buffer += data
        frames: list[tuple[str, Any]] = []
        start = 0
        buffer = self._buffer
        while len(buffer) - start >= _LENGTH.size:
            (length,) = _LENGTH.unpack_from(buffer, start)
            if length > MAX_FRAME:
                raise ValueError(f"frame of {length} bytes is larger than {MAX_FRAME}")
            end = start + _LENGTH.size + length
            if len(buffer) < end:
                break
            kind, payload = unpack(bytes(buffer[start + _LENGTH.size : end]))
            frames.append((kind, payload))
            start = end
        del buffer[:start]
        return frames
