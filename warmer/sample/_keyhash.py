"""A stable 64-bit hash of every string in an Arrow array, computed on whole columns.

SHARDS samples cache keys by hash, so the same key must hash the same in every batch, every
run and every process (Python's own ``hash`` of a string is salted per process). The hash
of the bytes ``b[0..n)`` is the polynomial ``Σ b[i]·P^i`` modulo 2^64 plus a length term,
passed through the splitmix64 finaliser so every bit depends on every byte. Computed on
the array's data buffer at once: a prefix sum of ``b[i]·P^i`` gives each string's sum as a
difference, which ``P^-start`` (P is odd, so invertible modulo 2^64) moves back to
position 0 — no Python loop over the strings.

The same hash also exists in C (``_keyhash_c.c``, built at install when a C compiler is
present; ``WARMER_NO_NATIVE=1`` turns it off): one loop per string instead of five passes
over the bytes, the larger part of a 10M-request SHARDS curve's time.

Not a cryptographic hash: crafted keys can collide. Sampling tolerates that (a collision
makes two keys share a sampling decision and an LRU position).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import numpy as np
import pyarrow as pa

_P = np.uint64(0x100000001B3)
_P_INV = np.uint64(pow(0x100000001B3, -1, 1 << 64))
_LENGTH = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)

_powers = np.ones(1, dtype=np.uint64)
_inverse_powers = np.ones(1, dtype=np.uint64)


def _tables(n: int) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """``P^i`` and ``P^-i`` for i < n (grown on demand, kept for the next batch)."""
    global _powers, _inverse_powers
    if len(_powers) < n:
        size = max(n, 2 * len(_powers))
        with np.errstate(over="ignore"):
            _powers = _geometric(_P, size)
            _inverse_powers = _geometric(_P_INV, size)
    return _powers[:n], _inverse_powers[:n]


def _geometric(ratio: np.uint64, size: int) -> np.ndarray[Any, Any]:
    steps = np.full(size, ratio, dtype=np.uint64)
    steps[0] = 1
    return np.cumprod(steps, dtype=np.uint64)


def mix64(values: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """The splitmix64 finaliser, element-wise on uint64 (wrapping arithmetic)."""
    with np.errstate(over="ignore"):
        z = values ^ (values >> np.uint64(30))
        z = z * _MIX1
        z = z ^ (z >> np.uint64(27))
        z = z * _MIX2
        result: np.ndarray[Any, Any] = z ^ (z >> np.uint64(31))
    return result


def _load_native() -> Callable[..., None] | None:
    if os.environ.get("WARMER_NO_NATIVE"):  # the numpy path, for comparison
        return None
    try:
        from warmer.sample import _keyhash_c
    except ImportError:  # installed without a C compiler: numpy does it
        return None
    native: Callable[..., None] = _keyhash_c.hash_strings
    return native


_native = _load_native()


def hash_strings(array: pa.Array | pa.ChunkedArray, *, native: bool = True) -> np.ndarray[Any, Any]:
    """One uint64 per string of ``array`` (a null hashes like the empty string).

    ``native=False`` takes the numpy path even when the C one is built (for tests).
    """
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    if array.type != pa.string():
        array = array.cast(pa.string())
    if len(array) == 0:
        return np.zeros(0, dtype=np.uint64)
    if native and _native is not None:
        out = np.empty(len(array), dtype=np.uint64)
        data = array.buffers()[2]
        _native(
            array.buffers()[1], data if data is not None else b"", array.offset, len(array), out
        )
        return out
    return _hash_numpy(array)


def _hash_numpy(array: pa.Array) -> np.ndarray[Any, Any]:
    buffers = array.buffers()
    offsets = np.frombuffer(buffers[1], dtype=np.int32)[
        array.offset : array.offset + len(array) + 1
    ]
    offsets = offsets.astype(np.int64)
    base = int(offsets[0])
    raw = buffers[2] if buffers[2] is not None else b""
    data = np.frombuffer(raw, dtype=np.uint8)[base : int(offsets[-1])]
    offsets -= base
    powers, inverse = _tables(len(data) + 1)
    sums = np.zeros(len(data) + 1, dtype=np.uint64)
    with np.errstate(over="ignore"):
        if len(data):
            np.cumsum(np.asarray(data, dtype=np.uint64) * powers[: len(data)], out=sums[1:])
        starts, ends = offsets[:-1], offsets[1:]
        hashed = (sums[ends] - sums[starts]) * inverse[starts]
        hashed += (ends - starts).astype(np.uint64) * _LENGTH
    return mix64(hashed)
