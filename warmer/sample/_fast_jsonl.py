"""Read JSONL samples into Arrow tables with Arrow's C++ JSON reader, a block at a time.

The fast path of ``SampleReader.iter_batches``/``to_table`` for JSON Lines (plain, gz,
zst): parsing is multi-threaded and never builds a Python object per record, and the
file is read in blocks of whole lines (:func:`blocks`), so memory stays bounded whatever
its size. :func:`parse_block` only takes blocks that are plainly well-formed and returns
None for anything else — a parse or type error, a blank line or two objects on one line
(rows would not match lines), a record without ``ts``, ``method`` or ``target``, header
values that are not strings — so that the caller reads that block record by record,
which raises the same :class:`~warmer.errors.InputError` naming the line at fault.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from warmer.model.sample import SAMPLE_ARROW_SCHEMA

KeyFunction = Callable[[str, str, Mapping[str, str]], str]

_COMPRESSION = {"gz": "gzip", "zst": "zstd", "": None}
_REQUIRED = ("ts", "method", "target")
BLOCK_BYTES = 32 << 20
"""Decompressed bytes parsed at once: large enough for Arrow's threads, small enough to
keep memory flat (a 10M-record sample is read in a few hundred blocks)."""

# Every column but ``headers`` is typed up front, so a value of another JSON type is a
# parse error. ``headers`` has free-form names, which Arrow can only infer as a struct.
# Nullable throughout: a missing required field is reported by the record-by-record path.
_EXPLICIT = pa.schema(
    [field.with_nullable(True) for field in SAMPLE_ARROW_SCHEMA if field.name != "headers"]
)


def read_table(
    path: Path,
    compression: str,
    *,
    header_requests: int | None,
    key_function: Callable[[], KeyFunction],
) -> pa.Table | None:
    """The sample at ``path`` with :data:`SAMPLE_ARROW_SCHEMA`, or None to read it slowly.

    ``header_requests`` is the record count announced by the file's header line (None
    when it has none); ``key_function`` builds the cache-key function for records that
    lack a ``key`` and is only called when one does. Every block must take the fast path
    and the count must match the header's, else the whole file is read record by record.
    """
    tables = []
    try:
        header = header_requests is not None
        for _first, data in record_blocks(path, compression, header=header):
            table = parse_block(data, key_function)
            if table is None:
                return None
            tables.append(table)
    except (pa.ArrowException, OSError, EOFError):
        return None  # truncated or corrupt: the slow path says where
    table = pa.concat_tables(tables) if tables else SAMPLE_ARROW_SCHEMA.empty_table()
    if header_requests is not None and table.num_rows != header_requests:
        return None
    return table


def record_blocks(
    path: Path, compression: str, *, header: bool, block_bytes: int | None = None
) -> Iterator[tuple[int, bytes]]:
    """:func:`blocks` without the header line (when the file has one) and empty blocks."""
    for first, data in blocks(path, compression, block_bytes or BLOCK_BYTES):
        if first == 1 and header:
            cut = data.find(b"\n") + 1
            data, first = (data[cut:], 2) if cut else (b"", 2)
        if data:
            yield first, data


def parse_block(data: bytes, key_function: Callable[[], KeyFunction]) -> pa.Table | None:
    """One block of whole record lines as a sample table, or None to read it slowly."""
    buffer = pa.py_buffer(data)
    lines = _object_lines(buffer)
    raw = _parse(buffer) if lines else None
    if raw is None or raw.num_rows != lines:
        return None
    return _checked(raw, key_function)


def _checked(raw: pa.Table, key_function: Callable[[], KeyFunction]) -> pa.Table | None:
    if any(raw.column(name).null_count for name in _REQUIRED):
        return None
    headers = _headers_as_map(raw)
    if headers is None:
        return None
    return _assemble(raw, headers, key_function)


def blocks(
    path: Path, compression: str, block_bytes: int = BLOCK_BYTES
) -> Iterator[tuple[int, bytes]]:
    """(number of the block's first line, bytes of whole lines) over the decompressed file.

    A block ends at a newline; the last one may lack it. Raises ``OSError``/``EOFError``
    (or pyarrow's errors) from a truncated or corrupt file, after the blocks before it.
    """
    carry = b""
    line = 1
    with pa.input_stream(str(path), compression=_COMPRESSION[compression]) as stream:
        while True:
            chunk = stream.read(block_bytes)
            data = carry + chunk
            if not chunk:
                if data:
                    yield line, data
                return
            cut = data.rfind(b"\n") + 1
            if cut == 0:
                carry = data  # one line longer than a block: keep reading
                continue
            yield line, data[:cut]
            line += data.count(b"\n", 0, cut)
            carry = data[cut:]


def _parse(data: pa.Buffer) -> pa.Table | None:
    import pyarrow.json as pj

    options = pj.ParseOptions(explicit_schema=_EXPLICIT, unexpected_field_behavior="infer")
    try:
        return pj.read_json(pa.BufferReader(data), parse_options=options)
    except pa.ArrowException:
        return None


def _object_lines(data: pa.Buffer) -> int:
    """How many lines ``data`` has when every one of them starts with ``{``, else 0.

    Checked before parsing: a line holding another JSON value (``null`` ...) is no
    record, and Arrow's reader is not fed anything but objects (a lone ``null`` crashes
    pyarrow 26). The last line counts also without its newline.
    """
    raw = np.frombuffer(data, dtype=np.uint8)
    if not raw.size:
        return 0
    ends = np.flatnonzero(raw == ord("\n"))
    starts = ends[ends < raw.size - 1] + 1
    if raw[0] != ord("{") or np.any(raw[starts] != ord("{")):
        return 0
    return len(ends) + (1 if raw[-1] != ord("\n") else 0)


def _headers_as_map(raw: pa.Table) -> pa.Array | None:
    """The ``headers`` struct column as a map column; None when a value is not a string."""
    if "headers" not in raw.column_names or pa.types.is_null(raw.column("headers").type):
        return pa.nulls(raw.num_rows, SAMPLE_ARROW_SCHEMA.field("headers").type)
    column = raw.column("headers")
    if not pa.types.is_struct(column.type):
        return None
    names = [column.type.field(i).name for i in range(column.type.num_fields)]
    kinds = [column.type.field(i).type for i in range(column.type.num_fields)]
    if not all(pa.types.is_string(t) or pa.types.is_null(t) for t in kinds):
        return None
    return struct_to_map(column.combine_chunks(), names)


def struct_to_map(struct: pa.StructArray, names: list[str]) -> pa.MapArray:
    """A struct of string fields as map<string, string>, one entry per non-null field.

    Entries follow the struct's field order — for headers inferred from a file, the order
    in which names first appear in it, not each record's own order (which carries no
    meaning for differently named HTTP fields, RFC 9110 §5.3). A null field (absent from
    the JSON object, or ``null``) has no entry; a null struct is a null map.
    """
    rows = len(struct)
    children = [child.cast(pa.string()) for child in struct.flatten()]
    present = np.zeros((rows, len(children)), dtype=bool)
    for column, child in enumerate(children):
        present[:, column] = valid_mask(child)
    offsets = np.zeros(rows + 1, dtype=np.int32)
    np.cumsum(present.sum(axis=1), out=offsets[1:])
    row_index, field_index = np.nonzero(present)  # row-major: each row's entries together
    keys = string_array(names).take(int_array(field_index))
    every_value = pa.concat_arrays(children) if children else string_array([])
    values = every_value.take(int_array(field_index * rows + row_index))
    mask = bool_array(~valid_mask(struct)) if struct.null_count else None
    return pa.MapArray.from_arrays(
        int_array(offsets),
        keys,
        values,
        type=SAMPLE_ARROW_SCHEMA.field("headers").type,
        mask=mask,
    )


def valid_mask(array: pa.Array) -> np.ndarray[Any, np.dtype[np.bool_]]:
    """Which slots of ``array`` hold a value, read straight from its validity bitmap.

    (``Array.to_numpy`` on a boolean array would import pandas, a second on a cold start.)
    """
    if array.null_count == 0:
        return np.ones(len(array), dtype=bool)
    bitmap = array.buffers()[0]
    if array.null_count == len(array) or bitmap is None:
        return np.zeros(len(array), dtype=bool)
    bits = np.unpackbits(np.frombuffer(bitmap, dtype=np.uint8), bitorder="little")
    return bits[array.offset : array.offset + len(array)].astype(bool)


# Arrays built from their buffers: ``pa.array`` on a list or a NumPy array makes pyarrow
# import pandas (to recognise pandas' nulls), a second of a cold start for nothing here.


def int_array(values: np.ndarray[Any, Any]) -> pa.Array:
    """A NumPy integer array as an Arrow array of the same width, without nulls."""
    values = np.ascontiguousarray(values)
    kind = pa.from_numpy_dtype(values.dtype)
    return pa.Array.from_buffers(kind, len(values), [None, pa.py_buffer(values)])


def bool_array(values: np.ndarray[Any, np.dtype[np.bool_]]) -> pa.Array:
    """A NumPy boolean array as an Arrow boolean array, without nulls."""
    bits = np.packbits(values, bitorder="little")
    return pa.Array.from_buffers(pa.bool_(), len(values), [None, pa.py_buffer(bits)])


def string_array(values: list[str]) -> pa.Array:
    """Python strings as an Arrow string array, without nulls."""
    encoded = [value.encode() for value in values]
    offsets = np.zeros(len(encoded) + 1, dtype=np.int32)
    np.cumsum([len(value) for value in encoded], out=offsets[1:])
    data = pa.py_buffer(b"".join(encoded))
    return pa.Array.from_buffers(pa.string(), len(encoded), [None, pa.py_buffer(offsets), data])


def _assemble(
    raw: pa.Table, headers: pa.Array, key_function: Callable[[], KeyFunction]
) -> pa.Table:
    columns: list[Any] = []
    for field in SAMPLE_ARROW_SCHEMA:
        if field.name == "headers":
            columns.append(headers)
        elif field.name in raw.column_names:
            columns.append(raw.column(field.name))
        else:
            columns.append(pa.nulls(raw.num_rows, field.type))
    table = pa.Table.from_arrays(columns, schema=SAMPLE_ARROW_SCHEMA)
    return _fill_keys(table, key_function)


def _fill_keys(table: pa.Table, key_function: Callable[[], KeyFunction]) -> pa.Table:
    """Compute the cache key of records that carry none (hand-written samples)."""
    keys = table.column("key").combine_chunks()
    if not keys.null_count:
        return table
    missing = keys.is_null()
    rows = table.select(["method", "target", "headers"]).filter(missing).to_pylist()
    function = key_function()
    computed = [function(r["method"], r["target"], dict(r["headers"] or ())) for r in rows]
    filled = pc.replace_with_mask(keys, missing, string_array(computed))
    index = table.schema.get_field_index("key")
    return table.set_column(index, SAMPLE_ARROW_SCHEMA.field("key"), filled)
