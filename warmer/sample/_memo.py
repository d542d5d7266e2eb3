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
        self.generation = -1
        """Bumped whenever the memo starts over (result indices change meaning)."""
        self._reset()

    def _reset(self) -> None:
        self.generation += 1
        self._known = pa.array([], pa.string())
        self._fields: list[list[Any]] = [[] for _ in self._types]
        self._arrays = [pa.array([], t) for t in self._types]

    def lookup(self, values: pa.Array) -> pa.Array:
        """Indices into the results for ``values``, computing results for unseen values."""
        # Each row is hashed once (dictionary_encode); the rest works on distinct values.
        encoded = pc.dictionary_encode(values)
        distinct = encoded.dictionary
        where = pc.index_in(distinct, value_set=self._known)
        missing = pc.is_null(where)
        if pc.any(missing).as_py():
            new = pc.filter(distinct, missing)
            if len(self._known) + len(new) > self._limit:
                self._reset()
                new = distinct
            self._add(new.cast(pa.string()))
            where = pc.index_in(distinct, value_set=self._known)
        return pc.take(where, encoded.indices)

    def _add(self, new: pa.Array) -> None:
        rows = [self._compute(value) for value in new.to_pylist()]
        # one transposition in C rather than an append per field per value
        results: list[Sequence[Any]] = (
            list(zip(*rows, strict=True)) if rows else [() for _ in self._types]
        )
        for field, more in zip(self._fields, results, strict=True):
            field.extend(more)
        self._arrays = [
            pa.concat_arrays([old, pa.array(more, t)])
            for old, more, t in zip(self._arrays, results, self._types, strict=True)
        ]
        self._known = pa.concat_arrays([self._known, new])

    def column(self, field: int, indices: pa.Array) -> pa.Array:
        """Result ``field`` for each index (null where the index is null)."""
        return pc.take(self._arrays[field], indices)

    def counts(self, indices: pa.Array) -> np.ndarray:
        """How often each known value occurs in ``indices``."""
        codes = pc.drop_null(indices).to_numpy(zero_copy_only=False)
        return np.bincount(codes, minlength=len(self._known))

    def results(self, field: int) -> list[Any]:
        """Every known value's result ``field``, in index order."""
        return self._fields[field]


class LabelIndex:
    """Label -> the entries of a memo whose result field ``field`` (a list of labels)
    carries it, kept up to date incrementally (only entries added since the last call are
    read): what the importer multiplies by :meth:`Memo.counts` to count scrubbing."""

    def __init__(self, memo: Memo, field: int) -> None:
        self.memo, self.field = memo, field
        self._lists: dict[str, list[int]] = {}
        self._index: dict[str, np.ndarray] = {}
        self._seen = (-1, 0)

    def entries(self) -> dict[str, np.ndarray]:
        labels: list[list[str]] = self.memo.results(self.field)
        generation, seen = self._seen
        if generation != self.memo.generation:  # the memo started over
            self._lists, seen = {}, 0
        if seen == len(labels):
            return self._index
        for index in range(seen, len(labels)):
            for label in labels[index]:
                self._lists.setdefault(label, []).append(index)
        self._index = {k: np.array(v, dtype=np.int64) for k, v in self._lists.items()}
        self._seen = (self.memo.generation, len(labels))
        return self._index


def prefetch(
    items: Iterator[T], depth: int = 2, name: str = "warmer-parse"
) -> Generator[T, None, None]:
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
        finally:
            # A stopped consumer leaves ``items`` unfinished: close it here, on the thread
            # that runs it, so a prefetch nested in it stops its own thread too.
            close = getattr(items, "close", None)
            if close is not None:
                close()
        offer((True, done))

    worker = threading.Thread(target=produce, name=name, daemon=True)
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
