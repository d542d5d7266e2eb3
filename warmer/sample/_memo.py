"""Speed for the importer: per-value results memoised across blocks, and parse-ahead.

Logs repeat the same targets, keys and client addresses block after block; computing in
Python once per *new* distinct value (not once per block, not once per row) is what makes
scrubbing and keying cheap. The memory is bounded: past ``limit`` values it starts over.
:func:`prefetch` overlaps parsing with the rest of the pipeline.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Callable, Generator, Iterator, Sequence
from typing import Any, TypeVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

T = TypeVar("T")


class Memo:
    """Map string values to result tuples computed by ``compute`` (one call per new value).

    ``types`` gives the Arrow type of each result field; :meth:`lookup` returns, per input
    row, the index of its result (null for null input) and :meth:`column` a result field
    for those indices.
    """

    def __init__(
        self,
        compute: Callable[[str], Sequence[Any]],
        types: Sequence[pa.DataType],
        limit: int = 500_000,
    ) -> None:
        self._compute = compute
        self._types = list(types)
        self._limit = limit
        self._reset()

    def _reset(self) -> None:
        self._known = pa.array([], pa.string())
        self._fields: list[list[Any]] = [[] for _ in self._types]
        self._arrays: list[pa.Array] | None = None

    def lookup(self, values: pa.Array) -> pa.Array:
        """Indices into the results for ``values``, computing results for unseen values."""
        indices = pc.index_in(values, value_set=self._known)
        missing = pc.and_(pc.is_null(indices), pc.is_valid(values))
        if not pc.any(missing).as_py():
            return indices
        new = pc.unique(pc.filter(values, missing))
        if len(self._known) + len(new) > self._limit:
            self._reset()
            new = pc.unique(pc.drop_null(values))
        for value in new.to_pylist():
            for field, result in zip(self._fields, self._compute(value), strict=True):
                field.append(result)
        self._known = pa.concat_arrays([self._known, new.cast(pa.string())])
        self._arrays = None
        return pc.index_in(values, value_set=self._known)

    def column(self, field: int, indices: pa.Array) -> pa.Array:
        """Result ``field`` for each index (null where the index is null)."""
        if self._arrays is None:
            self._arrays = [pa.array(f, t) for f, t in zip(self._fields, self._types, strict=True)]
        return pc.take(self._arrays[field], indices)

    def counts(self, indices: pa.Array) -> np.ndarray:
        """How often each known value occurs in ``indices``."""
        codes = pc.drop_null(indices).to_numpy(zero_copy_only=False)
        return np.bincount(codes, minlength=len(self._known))

    def results(self, field: int) -> list[Any]:
        """Every known value's result ``field``, in index order."""
        return self._fields[field]


def prefetch(items: Iterator[T], depth: int = 2) -> Generator[T, None, None]:
    """Run ``items`` in a background thread, ``depth`` items ahead of the consumer.

    Parsing (Arrow's CSV reader, compute kernels, decompression) releases the GIL, so the
    next block is parsed while this one is scrubbed, keyed and written. Memory grows by
    ``depth`` blocks; an exception in the producer is raised in the consumer. Closing the
    generator stops the thread (it never blocks on a consumer that went away).
    """
    done = object()
    box: queue.Queue[tuple[bool, Any]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def offer(entry: tuple[bool, Any]) -> bool:
        while not stop.is_set():
            with contextlib.suppress(queue.Full):
                box.put(entry, timeout=0.1)
                return True
        return False

    def produce() -> None:
        try:
            for item in items:
                if not offer((True, item)):
                    return
        except BaseException as exc:  # handed to the consumer, raised there
            offer((False, exc))
            return
        offer((True, done))

    worker = threading.Thread(target=produce, name="warmer-parse", daemon=True)
    worker.start()
    try:
        while True:
            ok, item = box.get()
            if not ok:
                raise item
            if item is done:
                return
            yield item
    finally:
        stop.set()
        worker.join(timeout=5)
