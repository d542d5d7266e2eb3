"""Stream replay results to a Parquet file in bounded memory, and read them back.

A results file holds one row per request in ``RESULTS_ARROW_SCHEMA``
(``warmer/model/results.py``). It is written under a ``.part`` name and renamed into place
on :meth:`ResultsWriter.close`, so a results file that exists is always readable — also
after SIGINT, because the replay flushes and closes before it raises ``Interrupted``.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from warmer.errors import InputError
from warmer.model.results import RESPONSE_HEADERS, RESULTS_ARROW_SCHEMA, RESULTS_SCHEMA_VERSION

_ROW_GROUP = 65536
_QUEUE_BATCHES = 64  # bounded: a slow disk makes the replay wait rather than grow

META_KEY = "warmer_results"
"""Parquet key-value metadata entry holding the JSON description of the run."""

Row = tuple[Any, ...]
"""One results row, fields in ``RESULTS_ARROW_SCHEMA`` order."""


_WARMUP_ROW: Row = (0, None, "GET", "/", "/", None, 0.0, 0.0, 0.0, 0.0, 200, 0, None, None,
                    *(None for _ in RESPONSE_HEADERS), [("x", "y")])  # fmt: skip


class ResultsWriter:
    """Append rows of results to a Parquet file; one writer may span several phases.

    The writer owns the run's clock origin: ``origin`` (a ``time.perf_counter()`` value)
    is time zero for every ``scheduled_s``/``sent_s`` column, ``started_at`` the same
    instant as epoch seconds. A gate that warms then verifies passes one writer to both
    replays so both phases share one time axis.
    """

    def __init__(self, path: str | os.PathLike[str], *, meta: dict[str, Any] | None = None) -> None:
        self.path = Path(path)
        self.origin = time.perf_counter()
        self.started_at = time.time()
        self.rows_written = 0
        self._meta: dict[str, Any] = {"schema_version": RESULTS_SCHEMA_VERSION, **(meta or {})}
        self._meta["started_at"] = self.started_at
        self._listeners: list[Callable[[pa.RecordBatch], None]] = []
        self._tmp = self.path.with_name(self.path.name + ".part")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # The file is opened here, not by pyarrow, so that it is closed (and its space
            # freed) on every path, also after a write failed on a full disk.
            self._sink = open(self._tmp, "wb")  # noqa: SIM115 - closed in close()/_discard()
            self._writer: pq.ParquetWriter | None = pq.ParquetWriter(
                self._sink, RESULTS_ARROW_SCHEMA, compression="zstd"
            )
            self._failure: Exception | None = None
            self._queue: queue.Queue[pa.RecordBatch | None] = queue.Queue(_QUEUE_BATCHES)
            self._thread = threading.Thread(target=self._write_loop, name="warmer-results")
            self._thread.daemon = True
            self._thread.start()
            # pyarrow imports its pandas shim on the first list conversion (~0.3 s): pay
            # that here, not in the middle of a paced replay.
            rows_to_batch([_WARMUP_ROW])
        except OSError as exc:
            raise InputError(f"cannot write results file {os.fspath(path)!r}: {exc}") from exc

    def __enter__(self) -> ResultsWriter:
        return self

    def __exit__(
        self, typ: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def update_meta(self, **fields: Any) -> None:
        """Add fields (target, engine, summaries ...) to the metadata written on close."""
        self._meta.update(fields)

    def add_run(self, summary: dict[str, Any]) -> None:
        """Append one replay's summary (a phase) to the ``runs`` list in the metadata."""
        self._meta.setdefault("runs", []).append(summary)

    def listen(self, listener: Callable[[pa.RecordBatch], None]) -> Callable[[], None]:
        """Call ``listener`` with every batch written from now on; returns how to stop.

        Listeners run on the writing thread (a replay's event loop) right after the batch
        is queued, so they must be quick: a gate reads live hit rates this way.
        """
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def write_rows(self, rows: Sequence[Row]) -> pa.RecordBatch:
        """Queue ``rows`` for writing as one record batch and return it (summaries read it).

        Encoding and compressing Parquet happens on a writer thread (pyarrow releases the
        GIL for it), in row groups of about ``_ROW_GROUP`` rows; the caller only pays for
        the conversion to Arrow.
        """
        if self._writer is None:
            raise RuntimeError("results writer is closed")
        self._raise_failure()
        batch = rows_to_batch(rows)
        self._queue.put(batch)
        self.rows_written += len(rows)
        for listener in self._listeners:
            listener(batch)
        return batch

    def close(self) -> Path:
        """Write the metadata, close the file and move it into place (idempotent).

        When writing failed (a full disk), the partial file is removed and InputError
        raised: a results file that exists is always complete and readable.
        """
        writer = self._writer
        if writer is None:
            return self.path
        self._queue.put(None)
        self._thread.join()  # the writer thread writes the last row group with ``_writer``
        self._writer = None
        try:
            self._raise_failure()
            writer.add_key_value_metadata({META_KEY: json.dumps(self._meta, default=str)})
            writer.close()
            self._sink.close()
            os.replace(self._tmp, self.path)
        except (OSError, pa.ArrowException, InputError) as exc:
            self._discard(writer)
            if isinstance(exc, InputError):
                raise
            raise InputError(f"cannot write results file {self.path}: {exc}") from exc
        return self.path

    def _discard(self, writer: pq.ParquetWriter) -> None:
        """Close everything and remove the partial file, whatever still fails."""
        for close in (writer.close, self._sink.close):
            with contextlib.suppress(OSError, pa.ArrowException):
                close()
        self._tmp.unlink(missing_ok=True)

    def _raise_failure(self) -> None:
        if self._failure is not None:
            raise InputError(
                f"cannot write results file {self.path}: {_describe(self._failure)}",
                "is the disk full?",
            )

    def _write_loop(self) -> None:
        pending: list[pa.RecordBatch] = []
        size = 0
        while True:
            batch = self._queue.get()
            if batch is not None:
                pending.append(batch)
                size += batch.num_rows
            if pending and (batch is None or size >= _ROW_GROUP) and self._failure is None:
                try:
                    assert self._writer is not None
                    self._writer.write_table(pa.Table.from_batches(pending), _ROW_GROUP)
                except Exception as exc:  # reported on the caller's thread
                    self._failure = exc
                pending, size = [], 0
            if batch is None:
                return


_NAMES = tuple(RESULTS_ARROW_SCHEMA.names)


def make_row(**values: Any) -> Row:
    """A row from column values by name (others null), for engines and tests that build few.

    ``make_row(seq=0, method="GET", target="/", key="GET /", sent_s=0.0, status=200)``.
    """
    unknown = set(values) - set(_NAMES)
    if unknown:
        raise ValueError(f"not results columns: {', '.join(sorted(unknown))}")
    return tuple(values.get(name) for name in _NAMES)


def rows_to_batch(rows: Sequence[Row]) -> pa.RecordBatch:
    """Transpose row tuples into an Arrow record batch in the results schema."""
    if not rows:
        columns: list[Any] = [[] for _ in RESULTS_ARROW_SCHEMA]
    else:
        columns = list(zip(*rows, strict=True))  # pa.array takes the tuples as they are
    arrays = [
        pa.array(col, type=field.type)
        for col, field in zip(columns, RESULTS_ARROW_SCHEMA, strict=True)
    ]
    return pa.RecordBatch.from_arrays(arrays, schema=RESULTS_ARROW_SCHEMA)


class ResultsFile:
    """A results file opened for reading (see :func:`open_results`)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self._file = pq.ParquetFile(path)
        except (OSError, pa.ArrowInvalid) as exc:
            raise InputError(
                f"cannot read results file {os.fspath(path)!r}: {exc}",
                "results files are written by `warmer replay --out RESULTS.parquet`",
            ) from exc
        raw = (self._file.metadata.metadata or {}).get(META_KEY.encode())
        self.meta: dict[str, Any] = json.loads(raw) if raw else {}
        if int(self.meta.get("schema_version", 1)) > RESULTS_SCHEMA_VERSION:
            raise InputError(
                f"results file {os.fspath(path)!r} has a newer schema version",
                "upgrade warmer to read it",
            )

    @property
    def num_rows(self) -> int:
        """Number of requests recorded."""
        return int(self._file.metadata.num_rows)

    @property
    def schema_version(self) -> int:
        """The results schema version the file was written with."""
        return int(self.meta.get("schema_version", 1))

    def iter_batches(self, batch_size: int = 65536, columns: list[str] | None = None) -> Any:
        """Record batches in file order, in bounded memory (columns an older file lacks: null)."""
        present = set(self._file.schema_arrow.names)
        wanted = columns or RESULTS_ARROW_SCHEMA.names
        stored = [c for c in wanted if c in present]
        for batch in self._file.iter_batches(batch_size=batch_size, columns=stored):
            yield upgrade(pa.Table.from_batches([batch]), columns).to_batches()[0]

    def to_table(self, columns: list[str] | None = None, *, compact: bool = False) -> pa.Table:
        """The whole file (or some columns) as one table (columns an older file lacks: null).

        ``compact`` holds less for the same answers, for a long run's analysis: a column
        that is null in every row (the footer's statistics say so) is not read but made
        of nulls, and ``key`` comes dictionary-encoded (each distinct key stored once).
        """
        present = set(self._file.schema_arrow.names)
        wanted = list(columns or RESULTS_ARROW_SCHEMA.names)
        if compact:
            wanted = [c for c in wanted if not self.all_null(c)]
        stored = [c for c in wanted if c in present]
        table = self._read_compact(stored) if compact else self._file.read(columns=stored)
        return upgrade(table, columns)

    def _read_compact(self, columns: list[str]) -> pa.Table:
        """Row group by row group, one thread: the decoding buffers of one group at a time
        (reading every group at once costs about as much again as the table itself)."""
        dictionary = ["key"] if "key" in columns else None
        file = pq.ParquetFile(self.path, read_dictionary=dictionary)
        groups = [
            file.read_row_group(index, columns=columns, use_threads=False)
            for index in range(file.num_row_groups)
        ]
        if not groups:
            return file.read(columns=columns)
        return pa.concat_tables(groups)

    def all_null(self, column: str) -> bool:
        """Whether ``column`` holds no value in any row, from the footer (no data is read)."""
        metadata = self._file.metadata
        stored = column in set(self._file.schema_arrow.names)
        if not stored or metadata.num_rows == 0:
            return not stored
        nulls = 0
        for group in range(metadata.num_row_groups):
            chunk = _column_chunk(metadata.row_group(group), column)
            stats = chunk.statistics if chunk is not None else None
            if stats is None or not stats.has_null_count:
                return False
            nulls += stats.null_count
        return bool(nulls == metadata.num_rows)


def _column_chunk(group: Any, name: str) -> Any:
    """The row group's chunk of top-level column ``name`` (a map's first leaf), or None."""
    for index in range(group.num_columns):
        chunk = group.column(index)
        if chunk.path_in_schema == name or chunk.path_in_schema.startswith(name + "."):
            return chunk
    return None


def upgrade(table: pa.Table, columns: list[str] | None = None) -> pa.Table:
    """``table`` with every results column (or ``columns``) it lacks added as nulls.

    Files of schema version 1 have no ``recorded_s``, ``body_digest``, freshness headers
    or ``headers``; readers downstream see one layout whatever the version.
    """
    for name in columns or RESULTS_ARROW_SCHEMA.names:
        if name not in table.column_names and name in RESULTS_ARROW_SCHEMA.names:
            field = RESULTS_ARROW_SCHEMA.field(name)
            table = table.append_column(field, null_column(table.num_rows, field.type))
    return table


_NULL_CHUNK = 1 << 16


def null_column(rows: int, type: pa.DataType) -> pa.ChunkedArray:
    """``rows`` nulls of ``type`` whose chunks all share one small buffer: a column a file
    lacks (or that is null throughout) costs nothing, where ``pa.nulls`` would allocate
    and zero its full width (16 MB per 2M int64 rows)."""
    chunk = pa.nulls(min(rows, _NULL_CHUNK), type)
    full, rest = divmod(rows, _NULL_CHUNK)
    chunks = [chunk] * full + ([chunk.slice(0, rest)] if rest else [])
    return pa.chunked_array(chunks or [chunk], type)


def open_results(path: str | os.PathLike[str]) -> ResultsFile:
    """Open a results file written by :class:`ResultsWriter`; ``InputError`` if unreadable."""
    p = Path(path)
    if not p.exists():
        raise InputError(f"results file {os.fspath(path)!r} does not exist")
    return ResultsFile(p)


def _describe(exc: BaseException) -> str:
    """An OS error's own words (``No space left on device``), else the exception's."""
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or repr(exc)
