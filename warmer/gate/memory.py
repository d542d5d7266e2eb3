"""Keeping a long run's conclusion within twice the replay's memory.

The conclusion reads the whole results file (a row per request) and derives numpy arrays
of a row each from it, made and dropped one after another. Two allocators stand between
that and the system, and both keep what is freed for reuse: Arrow's default pool
(mimalloc) holds freed pages, and glibc serves arrays of up to 32 MB from a heap that only
shrinks from the top once its mmap threshold has risen by itself. The process then holds
the high-water mark of everything the analysis ever made rather than what is alive: 1.3 GB
against 0.83 GB for a 2M-request gate (docs/benchmarks.md). :func:`lean_memory` makes
freed memory go back at once for the conclusion's duration.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator
from typing import Any

_M_MMAP_THRESHOLD = -3
"""glibc's ``mallopt`` parameter: allocations from this size up are mapped on their own."""
_MAPPED_FROM = 1 << 20
"""1 MB: every array of a long run's rows is mapped alone, small objects stay on the heap."""


@contextlib.contextmanager
def lean_memory() -> Iterator[None]:
    """Inside the block, Arrow allocates from the C heap, which maps every buffer of 1 MB or
    more on its own, so freeing one hands it back; the previous pool is restored after
    (buffers keep the pool they came from, so nothing allocated inside is affected)."""
    import pyarrow as pa

    previous = pa.default_memory_pool()
    release_memory()
    _map_large_allocations()
    pa.set_memory_pool(pa.system_memory_pool())
    try:
        yield
    finally:
        pa.set_memory_pool(previous)


def release_memory() -> None:
    """Hand back what Arrow's pool and the C heap hold free."""
    import pyarrow as pa

    pa.default_memory_pool().release_unused()
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)


def _map_large_allocations() -> None:
    libc = _glibc()
    if libc is not None:
        libc.mallopt(_M_MMAP_THRESHOLD, _MAPPED_FROM)


@functools.cache
def _glibc() -> Any:
    """The C library when it is glibc (``mallopt``, ``malloc_trim``); None elsewhere
    (musl, macOS), where nothing is asked. Opened by its soname, as ``demo/services.py``
    does (``find_library`` would run ``ldconfig`` in a subprocess), and once."""
    import ctypes

    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt  # noqa: B018 - glibc's; musl lacks it
        libc.malloc_trim  # noqa: B018
    except (OSError, AttributeError):
        return None
    return libc
