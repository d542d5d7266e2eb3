"""Stream a sample file's records column-wise: the fast path from a sample to the engines."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from warmer.model.sample import SampleRecord

_COLUMNS = ("ts", "method", "target", "key", "host", "headers", "body")
COLUMNS = list(_COLUMNS)
"""The sample columns replay reads."""


def stream_records(reader: Any, batch_size: int = 4096) -> Iterator[SampleRecord]:
    """The records of a ``warmer.sample.store`` reader, in file order, in bounded memory.

    Same records as ``reader.iter_records()`` with only the fields replay uses, built
    from whole columns instead of one dict per row (several times faster, which matters
    when the engine sends tens of thousands of requests a second). Batches are small
    because each one is converted in one go on the engine's thread: 4096 rows take a few
    milliseconds, short enough not to make a paced replay late.
    """
    return records_from_batches(reader.iter_batches(batch_size))


def records_from_batches(batches: Iterable[Any], chunk: int = 4096) -> Iterator[SampleRecord]:
    """:class:`SampleRecord` s from Arrow batches with (at least) :data:`COLUMNS`.

    Batches are converted ``chunk`` rows at a time, for the reason given above.
    """
    for whole in batches:
        for offset in range(0, whole.num_rows, chunk):
            yield from _convert(whole.slice(offset, chunk))


def _convert(batch: Any) -> Iterator[SampleRecord]:
    columns = [batch.column(name).to_pylist() for name in _COLUMNS]
    for ts, method, target, key, host, headers, body in zip(*columns, strict=True):
        yield SampleRecord(
            ts, method, target, key, host=host, headers=dict(headers) if headers else {},
            body=body,
        )  # fmt: skip
