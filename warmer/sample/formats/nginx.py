"""nginx ``log_format`` strings compiled into a fast columnar parser (and the presets).

Grammar of a format string (nginx's own)::

    format   = *( literal / variable )
    variable = "$" name / "${" name "}"      ; name = 1*( ALPHA / DIGIT / "_" )
    literal  = any other text

Every format compiles to a regular expression, the reference for what a line means. When
the format is a sequence of space-separated fields, each either ``"<one variable>"`` or
``prefix $variable suffix`` (``[$time_local]``), a faster path splits the lines:

* the compiled tokenizer (``_tokenize_c.c``, built at install when a C compiler is present)
  checks, splits and derives every line in one pass without the GIL. A quoted value may
  hold backslash escapes (Apache's ``\\"``), as in the regular expression; a line it cannot
  split so (a value without its quotes, text glued after a closing quote, an empty line)
  goes to the regular expression, which refuses it: "does not match the format".
* without it, Arrow's CSV tokenizer (C++), with the same results on every line both split
  (tests/sample/test_native_tokenizer.py); it ends a quoted value at ``\\"`` and glues
  text after a closing quote on, so such lines go to the regular expression or are read
  more leniently there.

Any other format (``$uri$args``, ``a|b`` separators) uses the regular expression for every
line (RE2 through Arrow: correct, but several times slower).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from warmer.errors import UsageError
from warmer.sample.formats._fields import (
    REASON_NO_MATCH,
    USED,
    Columns,
    build_raw,
    header_map,
    header_name,
    is_header,
    split_request,
)
from warmer.sample.formats._lines import (
    MAX_LINE,
    REASON_CONTROL,
    REASON_LONG,
    REASON_UTF8,
    LineBlock,
    iter_line_blocks,
    reused_blocks,
)
from warmer.sample.formats.interface import ParsedBlock

COMBINED = (
    '$remote_addr $remote_ident $remote_user [$time_local] "$request" $status '
    '$body_bytes_sent "$http_referer" "$http_user_agent"'
)
"""nginx ``combined`` = Apache ``%h %l %u %t \"%r\" %>s %b \"%{Referer}i\" \"%{User-agent}i\"``."""
COMMON = '$remote_addr $remote_ident $remote_user [$time_local] "$request" $status $body_bytes_sent'
"""Apache/NCSA common log format (nginx has no name for it)."""
COMBINED_TIMING = COMBINED + " $request_time $upstream_cache_status"
"""``combined`` with request time and cache status appended, a common nginx extension."""

_VAR = re.compile(r"\$\{([A-Za-z0-9_]+)\}|\$([A-Za-z0-9_]+)")
_SPACEY = frozenset({"request", "request_body", "request_line", "time_local"})
_QUOTED_VALUE = r'(?:[^"\\\n]|\\[^\n])*'
_FRAGMENTS = {
    "time_local": r"[0-9]{2}/[A-Za-z]{3}/[0-9]{4}:[0-9]{2}:[0-9]{2}:[0-9]{2} [+-][0-9]{4}",
    "status": r"[0-9]{3}|-",
    "body_bytes_sent": r"[0-9]+|-",
    "bytes_sent": r"[0-9]+|-",
    "request_time": r"[0-9.]+|-",
}


@dataclass(frozen=True)
class _Field:
    """One space-separated field of the fast path."""

    var: str | None
    prefix: str = ""
    suffix: str = ""
    width: int = 1
    """CSV columns it spans: 2 for an unquoted ``$time_local`` (it holds one space)."""
    quoted: bool = False
    """Written ``"$var"``: the value may hold spaces (and backslash escapes)."""


@dataclass(frozen=True)
class CompiledFormat:
    """The two parsers of one format string; ``fields`` is None when no fast path exists."""

    pattern: str
    variables: tuple[str, ...]
    fields: tuple[_Field, ...] | None
    python: re.Pattern[str] = field(repr=False, compare=False, default=re.compile(""))


def segments(log_format: str) -> list[tuple[str, str]]:
    """Split a format into ``("lit", text)`` and ``("var", name)`` parts."""
    out: list[tuple[str, str]] = []
    pos = 0
    for match in _VAR.finditer(log_format):
        if match.start() > pos:
            out.append(("lit", log_format[pos : match.start()]))
        out.append(("var", match.group(1) or match.group(2)))
        pos = match.end()
    if pos < len(log_format):
        out.append(("lit", log_format[pos:]))
    return out


def compile_log_format(log_format: str) -> CompiledFormat:
    """Compile an nginx ``log_format`` string; raises :class:`UsageError` if it has no variable."""
    parts = segments(log_format.strip())
    variables = tuple(name for kind, name in parts if kind == "var")
    if not variables:
        raise UsageError(
            f"log format {log_format!r} has no $variable",
            hint="pass the format string exactly as in nginx.conf",
        )
    pattern = _regex(parts)
    try:
        python = re.compile(pattern)
    except re.error as exc:
        raise UsageError(f"cannot compile log format {log_format!r}: {exc}") from exc
    return CompiledFormat(pattern, variables, _plan_fields(parts), python)


def _regex(parts: list[tuple[str, str]]) -> str:
    out, named = ["^"], set()
    for i, (kind, text) in enumerate(parts):
        if kind == "lit":
            out.append(re.escape(text))
            continue
        before = parts[i - 1][1] if i and parts[i - 1][0] == "lit" else ""
        after = parts[i + 1][1] if i + 1 < len(parts) and parts[i + 1][0] == "lit" else None
        fragment = _fragment(text, before, after)
        if text in named:
            out.append(f"(?:{fragment})")
        else:
            named.add(text)
            out.append(f"(?P<{text}>{fragment})")
    out.append(r"\n?$")
    return "".join(out)


def _fragment(var: str, before: str, after: str | None) -> str:
    if before.endswith('"') and after is not None and after.startswith('"'):
        return _QUOTED_VALUE
    if var in _FRAGMENTS:
        return _FRAGMENTS[var]
    if after is None:
        return r"[^\n]*" if var in _SPACEY or var.startswith("http_") else r"[^\s]*"
    if var in _SPACEY or var.startswith("http_"):
        return r"[^\n]*?"
    return "[^" + re.escape(after[0]) + r"\n]*" if not after[0].isalnum() else r"[^\s]*?"


def _plan_fields(parts: list[tuple[str, str]]) -> tuple[_Field, ...] | None:
    """Fields of the fast path, or None when the format is not space-separated fields."""
    tokens: list[list[tuple[str, str]]] = [[]]
    for kind, text in parts:
        if kind == "var":
            tokens[-1].append((kind, text))
            continue
        pieces = text.split(" ")
        for j, piece in enumerate(pieces):
            if j:
                tokens.append([])
            if piece:
                tokens[-1].append(("lit", piece))
    plan = [_plan_token(t) for t in tokens]
    return None if any(p is None for p in plan) else tuple(p for p in plan if p is not None)


def _plan_token(token: list[tuple[str, str]]) -> _Field | None:
    names = [text for kind, text in token if kind == "var"]
    if not token or len(names) > 1:
        return None
    text = "".join(t if k == "lit" else "\0" for k, t in token)
    if not names:
        return None if '"' in text else _Field(None)
    var = names[0]
    prefix, _, suffix = text.partition("\0")
    if prefix == '"' and suffix == '"':
        return _Field(var, quoted=True)
    if (
        '"' in prefix + suffix
        or (var in _SPACEY and var != "time_local")
        or var.startswith("http_")
    ):
        return None
    return _Field(var, prefix, suffix, 2 if var == "time_local" else 1)


@dataclass(frozen=True)
class NginxFormat:
    """A :class:`~warmer.sample.formats.interface.LogFormat` for one ``log_format`` string."""

    name: str
    log_format: str

    def parse(self, stream: BinaryIO) -> Iterator[ParsedBlock]:
        compiled = compile_log_format(self.log_format)
        if compiled.fields is not None and _tokenize is not None:
            yield from parse_native(compiled, stream)
            return
        for block in iter_line_blocks(stream):
            yield parse_block(compiled, block)


def parse_block(compiled: CompiledFormat, block: LineBlock) -> ParsedBlock:
    """Parse one block of whole lines (fast path when possible, regex otherwise)."""
    result = None
    if compiled.fields is not None:
        result = _parse_fast(compiled, block)
    if result is None:
        result = _parse_regex(compiled, block)
    cols, lines, rejected = result
    table, rejects = build_raw(cols, lines, rejected)
    return ParsedBlock(table, rejects, block.n_lines, checked=True)


_Result = tuple[Columns, np.ndarray, dict[int, str]]
_CSV_CHUNK = MAX_LINE + (64 << 10)
"""Arrow's CSV chunk: small chunks parse faster, and any accepted line fits in one."""


def _parse_fast(compiled: CompiledFormat, block: LineBlock) -> _Result | None:
    assert compiled.fields is not None
    width = sum(f.width for f in compiled.fields)
    # Threaded first (fast); Arrow cannot number the bad rows then, so a block that has
    # any is read again serially, which numbers them.
    try:
        table, invalid = _read_fields(block.data, width, threads=True)
        if invalid:
            table, invalid = _read_fields(block.data, width, threads=False)
    except pa.ArrowInvalid:
        return None  # e.g. nothing but empty lines: the regex path copes with anything
    if table.num_rows + len(invalid) != block.n_lines or any(n <= 0 for n, _ in invalid):
        return None  # an unbalanced quote joined lines: the regex path keeps numbering true
    lines = np.arange(block.first_line, block.first_line + block.n_lines, dtype=np.int64)
    if invalid:
        bad = np.array([n for n, _ in invalid], dtype=np.int64) + (block.first_line - 1)
        lines = lines[~np.isin(lines, bad)]
    cols = _fast_columns(compiled.fields, table)
    return _retry(compiled, cols, lines, invalid, block)


def _read_fields(
    data: bytes, width: int, *, threads: bool
) -> tuple[pa.Table, list[tuple[int, str]]]:
    """Split space-separated, optionally quoted fields; rows of another width are returned
    apart with their 1-based line number (0 when Arrow does not know it)."""
    import pyarrow.csv as pcsv

    invalid: list[tuple[int, str]] = []

    def on_invalid(row: pcsv.InvalidRow) -> str:
        invalid.append((row.number or 0, row.text))
        return "skip"

    names = [f"c{i}" for i in range(width)]
    # Without the final LF, a quote left open on the last line cannot swallow it.
    body = pa.py_buffer(data)
    table = pcsv.read_csv(
        pa.BufferReader(body.slice(0, max(len(data) - 1, 0))),
        read_options=pcsv.ReadOptions(
            column_names=names, block_size=_CSV_CHUNK, use_threads=threads
        ),
        parse_options=pcsv.ParseOptions(
            delimiter=" ",
            quote_char='"',
            double_quote=False,
            escape_char=False,
            ignore_empty_lines=False,
            invalid_row_handler=on_invalid,
        ),
        convert_options=pcsv.ConvertOptions(
            column_types={n: pa.string() for n in names},
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        ),
    )
    return table, invalid


def _fast_columns(fields: tuple[_Field, ...], table: pa.Table) -> Columns:
    cols: Columns = {}
    at = 0
    for f in fields:
        values = table.column(at).combine_chunks()
        if f.width == 2:
            values = pc.binary_join_element_wise(values, table.column(at + 1).combine_chunks(), " ")
        at += f.width
        if f.var is None or f.var in cols:
            continue
        cols[f.var] = _strip(values, f.prefix, f.suffix)
    return cols


def _strip(values: pa.Array, prefix: str, suffix: str) -> pa.Array:
    """Remove the literal around a value; a value without it becomes null (a bad row)."""
    if not prefix and not suffix:
        return values
    ok = pc.and_(pc.starts_with(values, prefix), pc.ends_with(values, suffix))
    stripped = pc.utf8_slice_codeunits(values, len(prefix), -len(suffix) if suffix else None)
    return pc.if_else(ok, stripped, pa.scalar(None, pa.string()))


def _retry(
    compiled: CompiledFormat,
    cols: Columns,
    lines: np.ndarray,
    invalid: list[tuple[int, str]],
    block: LineBlock,
) -> _Result:
    """Lines the tokenizer refused get one more chance with the regular expression."""
    rejected = dict(block.rejected)
    numbered = [(number + block.first_line - 1, text) for number, text in invalid]
    extra, extra_lines = _match_regex(compiled, numbered, rejected)
    if not extra:
        return cols, lines, rejected
    for name in list(cols):
        more = pa.array([row.get(name) for row in extra], pa.string())
        cols[name] = pa.concat_arrays([cols[name], more])
    return cols, np.concatenate([lines, np.array(extra_lines, dtype=np.int64)]), rejected


def _match_regex(
    compiled: CompiledFormat, lines: list[tuple[int, str]], rejected: dict[int, str]
) -> tuple[list[dict[str, str | None]], list[int]]:
    """The variables of each (line number, text) the format's regular expression matches,
    and their numbers; a line it does not match is added to ``rejected`` (a line already
    there is not tried)."""
    found: list[dict[str, str | None]] = []
    numbers = []
    for line, text in lines:
        match = compiled.python.match(text) if line not in rejected else None
        if match is None:
            rejected.setdefault(line, REASON_NO_MATCH)
            continue
        found.append(match.groupdict())
        numbers.append(line)
    return found, numbers


def _parse_regex(compiled: CompiledFormat, block: LineBlock) -> _Result:
    data = block.data
    newlines = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 10)
    offsets = np.zeros(len(newlines) + 1, dtype=np.int32)
    offsets[1:] = newlines + 1
    strings = pa.StringArray.from_buffers(len(newlines), pa.py_buffer(offsets), pa.py_buffer(data))
    parsed = pc.extract_regex(strings, compiled.pattern)
    matched = pc.is_valid(parsed).to_numpy(zero_copy_only=False)
    lines = np.arange(block.first_line, block.first_line + len(newlines), dtype=np.int64)
    rejected = dict(block.rejected)
    for line in lines[~matched]:
        rejected.setdefault(int(line), REASON_NO_MATCH)
    keep = pa.array(matched)
    cols = {name: pc.filter(parsed.field(name), keep) for name in dict.fromkeys(compiled.variables)}
    return cols, lines[matched], rejected


# --------------------------------------------------------------------------- compiled path
#
# ``_tokenize_c.c`` checks, splits and derives in one pass what the path above does with
# bytes methods, Arrow's CSV reader and compute kernels; it is built at install when a C
# compiler is present (setup.py) and gives the same rows (tests/sample/test_native.py).

_ROLE_IGNORE, _ROLE_COLUMN, _ROLE_HEADER, _ROLE_REQUEST = -1, 0, 1, 2
_REASONS = {1: REASON_LONG, 2: REASON_UTF8, 3: REASON_CONTROL}


def _load_tokenizer() -> Callable[..., tuple[Any, ...]] | None:
    if os.environ.get("WARMER_NO_NATIVE"):  # the pure-Python paths, for comparison
        return None
    try:
        from warmer.sample.formats import _tokenize_c
    except ImportError:  # installed without a C compiler: the Arrow path does it all
        return None
    tokenize: Callable[..., tuple[Any, ...]] = _tokenize_c.tokenize
    return tokenize


_tokenize = _load_tokenizer()


@dataclass(frozen=True)
class _Plan:
    """What the tokenizer is asked for: per field (quoted, prefix, suffix, width, role,
    index), the output column of each variable, and the header names in map order."""

    fields: tuple[tuple[int, bytes, bytes, int, int, int], ...]
    columns: dict[str, int]
    headers: tuple[str, ...]
    request: int | None
    """Column index of the method (the target is the next one) when ``$request`` is used."""


def _plan(fields: tuple[_Field, ...]) -> _Plan:
    entries = []
    columns: dict[str, int] = {}
    headers: list[str] = []
    request = None
    seen: set[str] = set()
    for f in fields:
        role, index = _ROLE_IGNORE, 0
        if f.var is not None and f.var not in seen:
            seen.add(f.var)
            if f.var == "request":
                request = index = len(columns)
                columns["\0method"], columns["\0target"] = index, index + 1
                role = _ROLE_REQUEST
            elif is_header(f.var):
                role, index = _ROLE_HEADER, len(headers)
                headers.append(f.var)
            elif f.var in USED:
                role, index = _ROLE_COLUMN, len(columns)
                columns[f.var] = index
        entries.append((int(f.quoted), f.prefix.encode(), f.suffix.encode(), f.width, role, index))
    return _Plan(tuple(entries), columns, tuple(headers), request)


def parse_native(compiled: CompiledFormat, stream: BinaryIO) -> Iterator[ParsedBlock]:
    """Parse ``stream`` with the compiled tokenizer (``compiled.fields`` must be set)."""
    assert compiled.fields is not None and _tokenize is not None
    plan = _plan(compiled.fields)
    first_line = 1
    # One buffer for every block: the tokenizer copies out what it keeps.
    for data, long_lines in reused_blocks(stream):
        block, n_lines = _native_block(compiled, plan, data, first_line, long_lines)
        first_line += n_lines
        yield block


def _native_block(
    compiled: CompiledFormat,
    plan: _Plan,
    data: bytes | memoryview,
    first_line: int,
    long_lines: list[int],
) -> tuple[ParsedBlock, int]:
    assert _tokenize is not None
    columns, headers, lines_buf, retry, problems = _tokenize(
        data, first_line, plan.fields, len(plan.columns), len(plan.headers)
    )
    lines = np.frombuffer(lines_buf, dtype=np.int64)
    n_lines = len(lines) + len(retry) + len(problems)
    rejected = {first_line + offset: REASON_LONG for offset in long_lines}
    for line, code in problems:
        rejected.setdefault(line, _REASONS[code])
    rows = len(lines)
    cols: Columns = {name: _strings(rows, columns[i]) for name, i in plan.columns.items()}
    header_values = None
    if plan.headers:
        offsets, keys, items = headers
        names = pa.array([header_name(h) for h in plan.headers], pa.string())
        header_values = pa.MapArray.from_arrays(
            pa.Array.from_buffers(pa.int32(), rows + 1, [None, pa.py_buffer(offsets)]),
            pc.take(names, pa.array(np.frombuffer(keys, dtype=np.uint8))),
            _strings(len(keys), items),
        )
    extra, extra_lines = _retry_native(compiled, plan, retry, rejected)
    if extra is not None:
        lines = np.concatenate([lines, extra_lines])
        for name in plan.columns:
            cols[name] = pa.concat_arrays([cols[name], extra[name]])
        if header_values is not None:
            header_values = pa.concat_arrays([header_values, extra["\0headers"]])
    request = None
    if plan.request is not None:
        request = cols.pop("\0method"), cols.pop("\0target")
    table, rejects = build_raw(cols, lines, rejected, request=request, headers=header_values)
    return ParsedBlock(table, rejects, n_lines, checked=True), n_lines


def _strings(n: int, parts: tuple[bytes | None, bytes, bytes, int]) -> pa.Array:
    validity, offsets, data, nulls = parts
    return pa.StringArray.from_buffers(
        n,
        pa.py_buffer(offsets),
        pa.py_buffer(data),
        pa.py_buffer(validity) if validity is not None else None,
        nulls,
    )


def _retry_native(
    compiled: CompiledFormat,
    plan: _Plan,
    retry: list[tuple[int, bytes]],
    rejected: dict[int, str],
) -> tuple[Columns | None, np.ndarray]:
    """Lines the tokenizer could not split, read with the format's regular expression
    (the reference for every odd line); their columns derived as the tokenizer does."""
    found, numbers = _match_regex(compiled, [(line, raw.decode()) for line, raw in retry], rejected)
    if not found:
        return None, np.empty(0, dtype=np.int64)
    raw_cols = {
        name: pa.array([row.get(name) for row in found], pa.string()) for name in compiled.variables
    }
    extra: Columns = {name: raw_cols[name] for name in plan.columns if name in raw_cols}
    if plan.request is not None:
        extra["\0method"], extra["\0target"] = split_request(raw_cols["request"])
    if plan.headers:
        extra["\0headers"] = header_map({h: raw_cols[h] for h in plan.headers}, len(found))
    return extra, np.array(numbers, dtype=np.int64)
