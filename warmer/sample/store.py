"""Read and write canonical sample files (JSON Lines, optionally gz/zst, and Parquet).

Both directions stream in bounded memory. Writing: ``SampleWriter`` takes Arrow batches
and writes the file under a temporary name next to the target, renamed into place only
on :meth:`SampleWriter.close` (an exception inside ``with`` removes it). Reading:
:func:`open_sample` sniffs the encoding from the file's first bytes (not its name) and
returns a :class:`SampleReader` that yields batches or records. The format itself is
documented in ``docs/sample-schema.md``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gzip
import io
import json
import math
import os
import shutil
from collections.abc import Generator, Iterator, Mapping
from pathlib import Path
from types import TracebackType
from typing import IO, TYPE_CHECKING, Any, Literal, Protocol

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from warmer.errors import InputError, UsageError
from warmer.model.sample import (
    SAMPLE_ARROW_SCHEMA,
    SAMPLE_SCHEMA_VERSION,
    TS_MAX,
    SampleMeta,
    SampleRecord,
    ts_in_range,
)

if TYPE_CHECKING:
    import pandas as pd

Encoding = Literal["parquet", "jsonl", "jsonl.gz", "jsonl.zst"]

HEADER_KEY = "warmer_sample"
"""Name of the JSONL header line's only field and of the Parquet key-value metadata entry."""

REQUIRED_FIELDS = ("ts", "method", "target")
"""Fields every record must carry; ``key`` is computed when a hand-written file omits it."""

_SUFFIXES: tuple[tuple[str, Encoding], ...] = (
    (".parquet", "parquet"),
    (".jsonl.gz", "jsonl.gz"),
    (".jsonl.zst", "jsonl.zst"),
    (".jsonl", "jsonl"),
)
_ROW_GROUP = 65536
_NO_DICTIONARY = frozenset({"response_bytes", "duration_ms"})
"""Columns with nearly one value per request: a dictionary never pays off, and trying one
first costs write time (measured: ~10 % of the import's Parquet write, 11 % larger file)."""
_DICTIONARY_COLUMNS = [
    "headers.key_value.key" if name == "headers" else name
    for name in SAMPLE_ARROW_SCHEMA.names
    if name not in _NO_DICTIONARY
] + ["headers.key_value.value"]
_STATISTICS_COLUMNS = ["ts", "status", "response_bytes", "duration_ms"]
"""Min/max statistics only where a reader filters on ranges (a time window, a status):
for the long strings (targets, keys, header values) they cost ~12 % of the write and no
reader uses them."""
_FORMAT_HINT = "a sample is .jsonl, .jsonl.gz, .jsonl.zst or .parquet (see docs/sample-schema.md)"


def encoding_for(path: str | os.PathLike[str]) -> Encoding:
    """The encoding a file name asks for, from its suffix."""
    name = os.fspath(path).lower()
    for suffix, encoding in _SUFFIXES:
        if name.endswith(suffix):
            return encoding
    raise UsageError(f"cannot tell the sample encoding of {os.fspath(path)!r}", _FORMAT_HINT)


# --------------------------------------------------------------------------- metadata


def meta_to_json(meta: SampleMeta) -> dict[str, Any]:
    """The JSON object stored in the header line / Parquet metadata."""
    data = dataclasses.asdict(meta)
    data["sources"] = list(data["sources"])
    return data


def meta_from_json(data: Any, where: str) -> SampleMeta:
    """Parse a stored meta object, refusing a newer schema major version."""
    if not isinstance(data, dict):
        raise InputError(f"{where}: the sample header is not a JSON object", _FORMAT_HINT)
    version = _major(data.get("schema_version", SAMPLE_SCHEMA_VERSION), where)
    if version > SAMPLE_SCHEMA_VERSION:
        raise InputError(
            f"{where}: sample schema version {version} is newer than this warmer "
            f"understands ({SAMPLE_SCHEMA_VERSION})",
            "upgrade warmer, or re-import the traffic with this version",
        )
    known = {f.name for f in dataclasses.fields(SampleMeta)}
    # Unknown fields are additions of a newer minor revision: ignored, not refused.
    kwargs = {k: v for k, v in data.items() if k in known}
    kwargs["schema_version"] = version
    kwargs["sources"] = tuple(kwargs.get("sources") or ())
    try:
        return SampleMeta(**kwargs)
    except TypeError as exc:  # pragma: no cover - dataclass without validation
        raise InputError(f"{where}: invalid sample header ({exc})", _FORMAT_HINT) from exc


def _major(value: Any, where: str) -> int:
    try:
        return int(str(value).split(".", 1)[0])
    except ValueError as exc:
        raise InputError(f"{where}: invalid schema_version {value!r}", _FORMAT_HINT) from exc


# --------------------------------------------------------------------------- writing


class SampleWriter:
    """Write a sample file batch by batch; the file appears only on :meth:`close`.

    ``fmt`` overrides the encoding chosen from the suffix of ``path``. Batches must have
    the columns of :data:`SAMPLE_ARROW_SCHEMA`; missing optional columns are written as
    null. Use as a context manager: ``close`` still needs the meta, so call it inside
    the ``with`` block; leaving the block by an exception removes every temporary file.
    """

    def __init__(self, path: str | os.PathLike[str], *, fmt: Encoding | None = None) -> None:
        self.path = Path(path)
        self.encoding: Encoding = fmt or encoding_for(self.path)
        self.rows = 0
        self._closed = False
        self._tmp = self._temp_path(".part")
        self._spool: IO[bytes] | None = None
        self._parquet: Any = None
        self._pending: list[pa.RecordBatch] = []
        self._pending_rows = 0

    def __enter__(self) -> SampleWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is not None or not self._closed:
            self.abort()

    def write_batch(self, batch: pa.RecordBatch | pa.Table) -> None:
        """Append rows; memory held is at most one Parquet row group."""
        if self._closed:
            raise ValueError("write_batch() after close()")
        table = conform(batch)
        self.rows += table.num_rows
        with self._writing():
            if self.encoding == "parquet":
                self._write_parquet(table)
            else:
                self._write_jsonl(table)

    def close(self, meta: SampleMeta) -> Path:
        """Finish the file with ``meta`` (its ``requests`` is set to the rows written)."""
        meta = dataclasses.replace(meta, requests=self.rows)
        with self._writing():
            if self.encoding == "parquet":
                self._close_parquet(meta)
            else:
                self._close_jsonl(meta)
            os.replace(self._tmp, self.path)
        self._closed = True
        return self.path

    @contextlib.contextmanager
    def _writing(self) -> Iterator[None]:
        """A directory that cannot be made (a file in the way), a full disk, no
        permission: an :class:`InputError` naming the sample (exit 2), never a traceback."""
        try:
            yield
        except (OSError, pa.ArrowException) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise InputError(
                f"cannot write the sample {os.fspath(self.path)!r}: {reason}",
                "choose another -o/--output (a writable directory with free space)",
            ) from exc

    def abort(self) -> None:
        """Drop everything written so far; the target path is left untouched."""
        self._closed = True
        if self._parquet is not None:
            with contextlib.suppress(Exception):
                self._parquet.close()
        if self._spool is not None:
            self._spool.close()
        for tmp in (self._tmp, self._temp_path(".spool")):
            with contextlib.suppress(OSError):  # gone, or its directory never existed
                tmp.unlink()

    def _temp_path(self, suffix: str) -> Path:
        return self.path.with_name(f".{self.path.name}.{os.getpid()}{suffix}")

    # Parquet: batches are gathered into row groups of about _ROW_GROUP rows.
    def _write_parquet(self, table: pa.Table) -> None:
        self._pending.extend(table.to_batches())
        self._pending_rows += table.num_rows
        if self._pending_rows >= _ROW_GROUP:
            self._flush_parquet()

    def _flush_parquet(self) -> None:
        import pyarrow.parquet as pq

        if self._parquet is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._parquet = pq.ParquetWriter(
                self._tmp,
                SAMPLE_ARROW_SCHEMA,
                compression="zstd",
                use_dictionary=_DICTIONARY_COLUMNS,
                write_statistics=_STATISTICS_COLUMNS,
            )
        if self._pending:
            self._parquet.write_table(pa.Table.from_batches(self._pending, SAMPLE_ARROW_SCHEMA))
        self._pending, self._pending_rows = [], 0

    def _close_parquet(self, meta: SampleMeta) -> None:
        self._flush_parquet()
        self._parquet.add_key_value_metadata({HEADER_KEY: json.dumps(meta_to_json(meta))})
        self._parquet.close()

    # JSONL: records are spooled uncompressed; the header is only known at close.
    def _write_jsonl(self, table: pa.Table) -> None:
        if self._spool is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._spool = open(self._temp_path(".spool"), "w+b")  # noqa: SIM115
        lines = [record_to_json(row) for row in table.to_pylist()]
        if lines:
            self._spool.write(("\n".join(lines) + "\n").encode())

    def _close_jsonl(self, meta: SampleMeta) -> None:
        header = json.dumps({HEADER_KEY: meta_to_json(meta)}, separators=(",", ":")) + "\n"
        with contextlib.ExitStack() as stack:
            out = _open_compressed_write(stack, self._tmp, self.encoding)
            out.write(header.encode())
            if self._spool is not None:
                self._spool.seek(0)
                shutil.copyfileobj(self._spool, out, 1 << 20)
        if self._spool is not None:
            self._spool.close()
            self._temp_path(".spool").unlink()
            self._spool = None


class _Writable(Protocol):
    def write(self, data: bytes, /) -> int: ...


def _open_compressed_write(
    stack: contextlib.ExitStack, path: Path, encoding: Encoding
) -> _Writable:
    raw = stack.enter_context(open(path, "wb"))  # noqa: SIM115
    if encoding == "jsonl.gz":
        # mtime=0 and no file name keep the bytes deterministic for the same content.
        return stack.enter_context(gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0))
    if encoding == "jsonl.zst":
        import zstandard

        writer: _Writable = stack.enter_context(
            zstandard.ZstdCompressor(level=10).stream_writer(raw, closefd=False)
        )
        return writer
    return raw


def conform(batch: pa.RecordBatch | pa.Table) -> pa.Table:
    """Cast ``batch`` to the sample schema, adding missing optional columns as nulls."""
    table = pa.Table.from_batches([batch]) if isinstance(batch, pa.RecordBatch) else batch
    if table.schema.equals(SAMPLE_ARROW_SCHEMA):  # already canonical (e.g. read from Parquet)
        return table
    columns = []
    for field in SAMPLE_ARROW_SCHEMA:
        if field.name in table.column_names:
            columns.append(table.column(field.name).cast(field.type))
        elif field.nullable:
            columns.append(pa.nulls(table.num_rows, field.type))
        else:
            raise ValueError(f"sample batch lacks the required column {field.name!r}")
    return pa.Table.from_arrays(columns, schema=SAMPLE_ARROW_SCHEMA)


def record_to_json(row: Mapping[str, Any]) -> str:
    """One JSONL line (without newline): null fields and empty headers omitted."""
    out: dict[str, Any] = {}
    for name, value in row.items():
        if value is None:
            continue
        if name == "headers":
            value = dict(value)
            if not value:
                continue
        out[name] = value
    return json.dumps(out, separators=(",", ":"), ensure_ascii=False)


# --------------------------------------------------------------------------- reading


def open_sample(path: str | os.PathLike[str]) -> SampleReader:
    """Open a sample file of any encoding; raises :class:`InputError` when it cannot."""
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            magic = fh.read(4)
    except FileNotFoundError as exc:
        raise InputError(
            f"sample file {os.fspath(path)!r} does not exist",
            "check the path, or create one with `warmer sample import LOG -o SAMPLE`",
        ) from exc
    except OSError as exc:
        raise InputError(f"cannot read sample file {os.fspath(path)!r}: {exc.strerror}") from exc
    if magic == b"PAR1":
        return _ParquetReader(path)
    return _JsonlReader(path, _compression(magic))


def _compression(magic: bytes) -> str:
    if magic[:2] == b"\x1f\x8b":
        return "gz"
    if magic == b"\x28\xb5\x2f\xfd":
        return "zst"
    return ""


class SampleReader:
    """A sample file opened for streaming reads; see :func:`open_sample`."""

    path: Path
    meta: SampleMeta

    @property
    def num_requests(self) -> int:
        """Number of records in the file."""
        raise NotImplementedError

    def iter_batches(
        self, batch_size: int = 65536, columns: list[str] | None = None
    ) -> Iterator[pa.RecordBatch]:
        """Record batches of at most ``batch_size`` rows with the sample schema, in file
        order and bounded memory; only ``columns`` when given (Parquet reads no others)."""
        raise NotImplementedError

    def iter_records(self) -> Iterator[SampleRecord]:
        """One :class:`SampleRecord` per request, in file order, in bounded memory."""
        for batch in self.iter_batches():
            for row in batch.to_pylist():
                yield SampleRecord.from_row(row)

    def to_table(self, columns: list[str] | None = None) -> pa.Table:
        """The whole sample (or some ``columns``) as one Arrow table."""
        schema = _selected(SAMPLE_ARROW_SCHEMA.empty_table(), columns).schema
        return pa.Table.from_batches(list(self.iter_batches(columns=columns)), schema=schema)

    def to_pandas(self, columns: list[str] | None = None) -> pd.DataFrame:
        """The sample as a pandas DataFrame (pandas is imported only here)."""
        frame: pd.DataFrame = self.to_table(columns).to_pandas()
        return frame

    def _where(self) -> str:
        return os.fspath(self.path)


class _ParquetReader(SampleReader):
    def __init__(self, path: Path) -> None:
        import pyarrow.parquet as pq

        self.path = path
        try:
            self._file = pq.ParquetFile(path)
        except (pa.ArrowException, OSError) as exc:
            raise InputError(
                f"{path}: not a readable Parquet sample ({exc})", "the file may be truncated"
            ) from exc
        self._check_schema()
        stored = (self._file.metadata.metadata or {}).get(HEADER_KEY.encode())
        data = json.loads(stored) if stored else {}
        self.meta = meta_from_json(data, self._where())

    def _check_schema(self) -> None:
        names = set(self._file.schema_arrow.names)
        missing = [f for f in (*REQUIRED_FIELDS, "key") if f not in names]
        if missing:
            raise InputError(
                f"{self.path}: Parquet file lacks sample column(s) {', '.join(missing)}",
                _FORMAT_HINT,
            )

    @property
    def num_requests(self) -> int:
        return int(self._file.metadata.num_rows)

    def iter_batches(
        self, batch_size: int = 65536, columns: list[str] | None = None
    ) -> Iterator[pa.RecordBatch]:
        present = self._columns(columns)
        row = 0
        try:
            for batch in self._file.iter_batches(batch_size=batch_size, columns=present):
                table = pa.Table.from_batches([batch])
                self._check_ts(table, row)
                row += table.num_rows
                yield from _selected(table, columns).to_batches()
        except pa.ArrowException as exc:
            raise InputError(f"{self.path}: cannot read Parquet sample ({exc})") from exc

    def to_table(self, columns: list[str] | None = None) -> pa.Table:
        try:
            table = self._file.read(columns=self._columns(columns))
        except pa.ArrowException as exc:
            raise InputError(f"{self.path}: cannot read Parquet sample ({exc})") from exc
        self._check_ts(table, 0)
        return _selected(table, columns)

    def _check_ts(self, table: pa.Table, first_row: int) -> None:
        if _ts_ok(table):
            return
        row = first_row + (_first_bad_ts(table) or 0) + 1
        raise InputError(
            f"{self.path}: row {row}: ts is out of range (seconds from 1970 to 9999)",
            _FORMAT_HINT,
        )

    def _columns(self, columns: list[str] | None) -> list[str] | None:
        """The wanted columns the file has (the others are filled with nulls)."""
        if columns is None:
            return None
        names = set(self._file.schema_arrow.names)
        return [name for name in columns if name in names]


class _JsonlReader(SampleReader):
    def __init__(self, path: Path, compression: str) -> None:
        self.path = path
        self._compression = compression
        self._header: dict[str, Any] | None = None
        self._count: int | None = None
        first = self._first_line()
        if first is not None:
            self._header = first
        self.meta = meta_from_json(self._header or {}, self._where())
        if self._header is not None:
            self._count = self.meta.requests

    def _first_line(self) -> dict[str, Any] | None:
        with contextlib.closing(self._objects(skip_header=False)) as objects:
            for _lineno, obj in objects:
                if isinstance(obj, dict) and set(obj) == {HEADER_KEY}:
                    header: dict[str, Any] = obj[HEADER_KEY]
                    return header
                return None
        return None

    @property
    def num_requests(self) -> int:
        if self._count is None:
            self._count = sum(1 for _ in self._objects(skip_header=True))
        return self._count

    def iter_batches(
        self, batch_size: int = 65536, columns: list[str] | None = None
    ) -> Iterator[pa.RecordBatch]:
        """Block by block (``_fast_jsonl.BLOCK_BYTES``), by Arrow's JSON reader where a
        block is plainly well-formed, else record by record (errors name the line)."""
        from warmer.sample._fast_jsonl import parse_block, record_blocks

        count = 0
        first = 1
        try:
            header = self._header is not None
            for first, data in record_blocks(self.path, self._compression, header=header):
                table = parse_block(data, self._key_function)
                if table is None or not _ts_ok(table):
                    table = self._slow_block(data, first)
                count += table.num_rows
                yield from _selected(table, columns).to_batches(max_chunksize=batch_size)
        except (EOFError, OSError, pa.ArrowException) as exc:
            raise _truncated(self.path, first, exc) from exc
        self._check_count(count)

    def _slow_block(self, data: bytes, first: int) -> pa.Table:
        """One block record by record: the errors name the file and line at fault."""
        key_function = self._key_function()
        rows = []
        for lineno, raw in enumerate(data.split(b"\n"), first):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise _truncated(self.path, lineno, exc) from exc
            if line.strip():
                row = _check_row(
                    _parse_json(line, lineno, self.path), lineno, self.path, key_function
                )
                rows.append(row)
        return pa.Table.from_batches([self._batch(rows)])

    def _check_count(self, count: int) -> None:
        # zstd and plain files cut at a line boundary read cleanly: the header's count
        # is what reveals them.
        if self._header is not None and count != self.meta.requests:
            raise InputError(
                f"{self.path}: holds {count} records but its header announces {self.meta.requests}",
                "the file looks truncated or corrupt; copy or re-import it",
            )

    def to_table(self, columns: list[str] | None = None) -> pa.Table:
        """The whole sample, parsed by Arrow's multi-threaded JSON reader when it can.

        A file that reader does not take as it is (a bad record, a blank line, headers
        that are not all strings ...) is read record by record instead, which raises the
        error naming the line at fault. Read whole, each record's headers come in the
        order their names first appear in the file, and a header whose value is null is
        left out.
        """
        from warmer.sample._fast_jsonl import read_table

        table = read_table(
            self.path,
            self._compression,
            header_requests=self.meta.requests if self._header is not None else None,
            key_function=self._key_function,
        )
        if table is None or not _ts_ok(table):
            return super().to_table(columns)
        return _selected(table, columns)

    def iter_records(self) -> Iterator[SampleRecord]:
        # Straight from JSON: no Arrow round trip on the replay stage's hot path.
        for row in self._rows():
            yield SampleRecord.from_row(row)

    def _batch(self, rows: list[dict[str, Any]]) -> pa.RecordBatch:
        try:
            return pa.RecordBatch.from_pylist(rows, schema=SAMPLE_ARROW_SCHEMA)
        except (pa.ArrowException, TypeError, ValueError) as exc:
            raise InputError(
                f"{self.path}: a record has a field of the wrong type ({exc})", _FORMAT_HINT
            ) from exc

    def _rows(self) -> Iterator[dict[str, Any]]:
        key_function = self._key_function()
        count = 0
        for lineno, obj in self._objects(skip_header=True):
            count += 1
            yield _check_row(obj, lineno, self.path, key_function)
        self._check_count(count)

    def _key_function(self) -> Any:
        from warmer.config.schema import KeyConfig
        from warmer.sample.keys import make_key_function

        fields = {f.name for f in dataclasses.fields(KeyConfig)}
        stored = {k: v for k, v in self.meta.key_config.items() if k in fields}
        for name in ("ignore_params", "vary"):
            if name in stored:
                stored[name] = tuple(stored[name])
        return make_key_function(KeyConfig(**stored))

    def _objects(self, *, skip_header: bool) -> Generator[tuple[int, Any], None, None]:
        """(line number, parsed JSON) for each non-blank line."""
        with self._open() as text:
            lineno = 0
            try:
                for lineno, line in enumerate(text, 1):
                    if not line.strip():
                        continue
                    if skip_header and lineno == 1 and self._header is not None:
                        continue
                    yield lineno, _parse_json(line, lineno, self.path)
            except (EOFError, OSError, UnicodeDecodeError) as exc:
                raise _truncated(self.path, lineno, exc) from exc
            except Exception as exc:
                if type(exc).__name__ == "ZstdError":
                    raise _truncated(self.path, lineno, exc) from exc
                raise

    @contextlib.contextmanager
    def _open(self) -> Iterator[IO[str]]:
        raw: Any
        if self._compression == "gz":
            raw = gzip.open(self.path, "rb")  # noqa: SIM115
        elif self._compression == "zst":
            import zstandard

            raw = zstandard.open(self.path, "rb")
        else:
            raw = open(self.path, "rb")  # noqa: SIM115
        with raw, io.TextIOWrapper(raw, encoding="utf-8") as text:
            yield text


def _ts_ok(table: pa.Table) -> bool:
    """Whether every ``ts`` of ``table`` is in range (NaN is not)."""
    if "ts" not in table.column_names or table.num_rows == 0:
        return True
    ts = pc.cast(table.column("ts"), pa.float64())
    low, high = pc.min_max(ts).values()  # NaN is skipped by min_max: count it apart
    if pc.any(pc.is_nan(ts)).as_py():
        return False
    return low.as_py() is None or (ts_in_range(low.as_py()) and ts_in_range(high.as_py()))


def _first_bad_ts(table: pa.Table) -> int | None:
    ts = pc.cast(table.column("ts"), pa.float64()).to_numpy(zero_copy_only=False)
    bad = ~((ts >= 0.0) & (ts < TS_MAX))
    return int(np.flatnonzero(bad)[0]) if bad.any() else None


def _selected(table: pa.Table, columns: list[str] | None) -> pa.Table:
    """``columns`` of ``table`` in that order, cast to the sample schema's types; a column
    it lacks becomes nulls. All of it, conformed, when ``columns`` is None."""
    if columns is None:
        return conform(table)
    fields = [SAMPLE_ARROW_SCHEMA.field(name) for name in columns]
    arrays = [
        table.column(f.name).cast(f.type)
        if f.name in table.column_names
        else pa.nulls(table.num_rows, f.type)
        for f in fields
    ]
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


def _truncated(path: Path, lineno: int, exc: BaseException) -> InputError:
    return InputError(
        f"{path}: cannot read past line {lineno} ({exc or type(exc).__name__})",
        "the file looks truncated or corrupt; copy or re-import it",
    )


def _parse_json(line: str, lineno: int, path: Path) -> Any:
    try:
        return json.loads(line)
    except json.JSONDecodeError as exc:
        raise InputError(
            f"{path}:{lineno}: not a JSON object ({exc.msg})",
            "a JSONL sample has one JSON object per line (see docs/sample-schema.md); "
            "a cut last line means the file is truncated",
        ) from exc


def _check_row(obj: Any, lineno: int, path: Path, key_function: Any) -> dict[str, Any]:
    if not isinstance(obj, dict):
        raise InputError(f"{path}:{lineno}: a sample record must be a JSON object", _FORMAT_HINT)
    missing = [name for name in REQUIRED_FIELDS if obj.get(name) is None]
    if missing:
        raise InputError(
            f"{path}:{lineno}: record lacks required field(s) {', '.join(missing)}",
            "every record needs ts (epoch seconds), method and target (see docs/sample-schema.md)",
        )
    if not isinstance(obj["ts"], int | float) or isinstance(obj["ts"], bool):
        raise InputError(f"{path}:{lineno}: ts must be a number of seconds since the epoch")
    if not ts_in_range(float(obj["ts"]) if abs(obj["ts"]) < 1e300 else math.inf):
        raise InputError(
            f"{path}:{lineno}: ts {obj['ts']!r} is out of range (seconds from 1970 to 9999)",
            _FORMAT_HINT,
        )
    if not isinstance(obj["method"], str) or not isinstance(obj["target"], str):
        raise InputError(f"{path}:{lineno}: method and target must be strings", _FORMAT_HINT)
    if obj.get("key") is None:
        obj["key"] = key_function(obj["method"], obj["target"], obj.get("headers") or {})
    return obj
