"""A sample that can be read several times, in bounded memory: batches, parts, bounds.

Profiling a sample, splitting it into warm and verify parts and ranking its keys each read
it more than once. :class:`SampleSource` gives every reader the same thing — Arrow
batches of the columns it asks for — from one of two places: the sample's file, streamed
batch by batch (memory stays flat however large the sample is), or an in-memory table
(small samples, where one read is cheaper than several). Parts (:meth:`SampleSource.where`)
are sources too: the same batches, filtered by a row predicate.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from warmer.errors import InputError
from warmer.model.sample import SAMPLE_ARROW_SCHEMA, SampleMeta

IN_MEMORY_ROWS = 250_000
"""Samples up to this many records are read into memory once (about 50 MB at most);
larger ones are streamed from their file on every pass."""

BATCH_ROWS = 65_536

Batches = Callable[[list[str] | None], Iterator[pa.RecordBatch]]
"""``batches(columns)``: the sample's record batches, only ``columns`` when given."""
Predicate = Callable[[pa.RecordBatch], pa.Array]
"""A row filter: a boolean array over one batch."""


class SampleSource:
    """Read a sample as often as needed; ``rows`` is its record count when known."""

    def __init__(
        self,
        batches: Batches,
        *,
        rows: int | None = None,
        path: Path | None = None,
        meta: SampleMeta | None = None,
    ) -> None:
        self._batches = batches
        self.rows = rows
        self.path = path
        self.meta = meta or SampleMeta(requests=rows or 0)
        """What the sample file says about itself (empty for a table)."""

    @classmethod
    def from_table(cls, table: pa.Table, *, path: Path | None = None) -> SampleSource:
        """A source over an in-memory table (sample columns it lacks read as nulls)."""

        def batches(columns: list[str] | None) -> Iterator[pa.RecordBatch]:
            selected = table if columns is None else _select(table, columns)
            return iter(selected.to_batches(max_chunksize=BATCH_ROWS))

        return cls(batches, rows=table.num_rows, path=path)

    @classmethod
    def open(
        cls, path: str | os.PathLike[str], *, in_memory_rows: int = IN_MEMORY_ROWS
    ) -> SampleSource:
        """The sample file at ``path``: read into memory when it is small, else streamed."""
        from warmer.sample.store import open_sample

        reader = open_sample(path)
        rows = known_rows(reader)
        if rows is not None and rows <= in_memory_rows:
            source = cls.from_table(reader.to_table(), path=Path(path))
            source.meta = reader.meta
            return source

        def batches(columns: list[str] | None) -> Iterator[pa.RecordBatch]:
            return reader.iter_batches(BATCH_ROWS, columns=columns)

        return cls(batches, rows=rows, path=Path(path), meta=reader.meta)

    def batches(self, columns: list[str] | None = None) -> Iterator[pa.RecordBatch]:
        """Every record batch in file order (non-empty ones), only ``columns`` when given."""
        for batch in self._batches(columns):
            if batch.num_rows:
                yield batch

    def where(self, predicate: Predicate, *, needs: tuple[str, ...] = ("ts",)) -> SampleSource:
        """The part of this sample whose rows ``predicate`` keeps (it reads ``needs``)."""

        def batches(columns: list[str] | None) -> Iterator[pa.RecordBatch]:
            wanted = None if columns is None else list(dict.fromkeys([*columns, *needs]))
            for batch in self.batches(wanted):
                kept = batch.filter(predicate(batch))
                yield kept if columns is None else kept.select(columns)

        return SampleSource(batches, path=self.path, meta=self.meta)

    def count(self) -> int:
        """Records in this source (counted on a pass over ``ts`` when not known)."""
        if self.rows is None:
            self.rows = sum(batch.num_rows for batch in self.batches(["ts"]))
        return self.rows

    def ts_bounds(self) -> tuple[float, float] | None:
        """(first, last) recorded timestamp; None for an empty sample."""
        low = high = None
        for batch in self.batches(["ts"]):
            bounds = pc.min_max(batch.column("ts")).as_py()
            low = bounds["min"] if low is None else min(low, bounds["min"])
            high = bounds["max"] if high is None else max(high, bounds["max"])
        if low is None or high is None:
            return None
        return float(low), float(high)

    def to_table(self, columns: list[str] | None = None) -> pa.Table:
        """All of it in memory (for small samples and tests)."""
        batches = list(self.batches(columns))
        if not batches:
            return _select(SAMPLE_ARROW_SCHEMA.empty_table(), columns or SAMPLE_ARROW_SCHEMA.names)
        return pa.Table.from_batches(batches)


def known_rows(reader: object) -> int | None:
    """A reader's record count when it knows it without reading the records."""
    meta = getattr(reader, "meta", None)
    file = getattr(reader, "_file", None)
    if file is not None:  # Parquet: the footer says
        return int(file.metadata.num_rows)
    if getattr(reader, "_header", None) is not None and meta is not None:
        return int(meta.requests)  # JSONL with a header line
    return None


def _select(table: pa.Table, columns: list[str]) -> pa.Table:
    for name in columns:
        if name not in table.column_names:
            try:
                field = SAMPLE_ARROW_SCHEMA.field(name)
            except KeyError as exc:
                raise InputError(f"no sample column {name!r}") from exc
            table = table.append_column(field, pa.nulls(table.num_rows, field.type))
    return table.select(columns)
