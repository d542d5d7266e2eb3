"""The import pipeline: logs in, one canonical sample out.

    open (gzip/zstd/stdin) -> detect -> parse blocks -> validate -> scrub -> key
        -> select -> sort -> merge inputs by time -> SampleWriter

Memory is bounded by one block per input (``formats._lines.BLOCK_SIZE``), whatever the
size of the logs. Scrubbing, key computation and client hashing run once per *distinct*
value of a block (targets, keys and addresses repeat a lot), not once per request.

Order: each block is sorted by time (stably, so equal stamps keep log order); several
inputs are merged with a k-way merge that assumes each input is in time order from
block to block. A request logged later than the block after its own (a reorder window of
one block, ~16 MiB of log) is written where it was found, not moved back.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import os
import re
import secrets
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from warmer.config.schema import DEFAULT_SCRUB_HEADERS, DEFAULT_SCRUB_PARAMS, KeyConfig
from warmer.errors import InputError, MalformedInputError
from warmer.model.sample import SAMPLE_ARROW_SCHEMA, SampleMeta
from warmer.sample._memo import LabelIndex, Memo, prefetch
from warmer.sample._open import open_input
from warmer.sample.detect import Detection, choose_format
from warmer.sample.formats._fields import filter_rejected
from warmer.sample.formats.interface import ParsedBlock, Rejects
from warmer.sample.keys import make_key_function
from warmer.sample.scrub import ScrubPolicy
from warmer.sample.select import Selection

_NGINX_ESCAPE = re.compile(rb"\\x([0-9A-Fa-f]{2})")
_BAD_TARGET_CHARS = re.compile(r"[\x00-\x20\x7f]")
_METHOD = re.compile(r"^[A-Z][A-Z0-9_-]{0,31}$")
_COMMON_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"})
_CONTROL = r"[\x00-\x1f\x7f]"


@dataclass(frozen=True)
class ImportOptions:
    """Everything that decides what an import writes (the CLI builds one from flags)."""

    format: str = "auto"
    """``auto`` or a name from :data:`warmer.sample.detect.FORMATS`."""
    log_format: str | None = None
    """nginx ``log_format`` string (``format="nginx"``)."""
    fields: Mapping[str, str] = field(default_factory=dict)
    """JSON/CSV mapping of sample field -> source field (dotted path for JSON)."""
    strict: bool = False
    tz: tzinfo | None = None
    """Zone of JSON/CSV timestamps written without one (UTC when None)."""
    scrub: ScrubPolicy = field(
        default_factory=lambda: ScrubPolicy.build(DEFAULT_SCRUB_HEADERS, DEFAULT_SCRUB_PARAMS)
    )
    selection: Selection = field(default_factory=Selection)
    key_config: KeyConfig = field(default_factory=KeyConfig)


@dataclass
class SourceReport:
    """What happened to one input."""

    path: str
    format: str
    detection: str
    lines: int = 0
    records: int = 0
    rejects: Rejects = field(default_factory=Rejects)

    def to_meta(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "format": self.format,
            "detection": self.detection,
            "lines": self.lines,
            "records": self.records,
            "malformed": self.rejects.count,
            "malformed_first": [[line, why] for line, why in self.rejects.first],
        }


@dataclass
class ImportReport:
    """The import summary: per input, and totals of scrubbing and selection."""

    output: Path
    sources: list[SourceReport]
    written: int = 0
    scrubbed: Counter[str] = field(default_factory=Counter)
    """``header:<name>`` / ``param:<name>`` -> how many parsed requests had it scrubbed
    (counted before selection, so the figure describes the input)."""
    dropped: Counter[str] = field(default_factory=Counter)
    """Requests left out by selection: ``window``, ``method``, ``sampling``."""
    selection: Selection = field(default_factory=Selection)


def import_logs(
    inputs: Sequence[str],
    output: str | os.PathLike[str],
    options: ImportOptions | None = None,
    *,
    on_source: Callable[[SourceReport], None] | None = None,
) -> ImportReport:
    """Import ``inputs`` (paths, ``-`` for stdin) into the sample file ``output``.

    Raises :class:`InputError` for unreadable or undetectable input, when nothing could be
    imported from non-empty input, and (:class:`MalformedInputError`) on the first malformed
    line under ``strict``. ``on_source`` is called once per input as its format is known.
    """
    from warmer.sample.store import SampleWriter

    options = options or ImportOptions()
    report = ImportReport(Path(output), [], selection=options.selection)
    refiner = _Refiner(options, report)
    with contextlib.ExitStack() as stack:
        streams = []
        for path in inputs:
            stream = stack.enter_context(open_input(path))
            try:
                detection = choose_format(
                    stream.peek_head(),
                    options.format,
                    options.log_format,
                    options.fields,
                    options.tz,
                )
            except InputError as exc:  # name the input: several may be imported at once
                raise InputError(f"{path}: {exc.message}", exc.hint) from exc
            source = SourceReport(path, detection.format.name, detection.message)
            report.sources.append(source)
            if on_source:
                on_source(source)
            streams.append(refiner.tables(detection, stream, source))
        writer = stack.enter_context(SampleWriter(output))
        # Three stages on their own threads: parsing (in refiner.tables), refining (here,
        # prefetched) and writing (this thread); tokenizing and Parquet encoding release
        # the GIL, so a second core takes a share of the work.
        refined = prefetch(merge_by_time(streams), name="warmer-refine")
        tables = stack.enter_context(contextlib.closing(refined))
        for table in tables:
            writer.write_batch(table)
        _check_not_empty(report, writer.rows)
        report.written = writer.rows
        writer.close(_meta(report, options))
    return report


def _check_not_empty(report: ImportReport, rows: int) -> None:
    """Zero usable records is an input error in every format, with the reasons counted."""
    if rows:
        return
    lines = sum(s.lines for s in report.sources)
    dropped = ", ".join(f"{n} by {why}" for why, n in sorted(report.dropped.items()) if n)
    if dropped:
        raise InputError(
            f"no request left to write: every parsed request was left out ({dropped})",
            hint="widen --since/--until, --method or --sample-rate",
        )
    if lines == 0:
        names = ", ".join(s.path for s in report.sources)
        raise InputError(f"no request to import: {names} holds no line or entry")
    raise InputError(
        "no request could be imported: " + "; ".join(_why(s) for s in report.sources if s.lines),
        hint="check --format (and --log-format / --field for custom logs)",
    )


def _why(source: SourceReport) -> str:
    """``access.log (nginx, 3 lines): 2 bad or missing timestamp, 1 ...; first at line 1``."""
    unit = "entries" if source.format.startswith("HAR") else "lines"
    where = "entry" if unit == "entries" else "line"
    reasons = ", ".join(
        f"{n} {why}" for why, n in sorted(source.rejects.by_reason.items(), key=lambda i: -i[1])
    )
    first = ""
    if source.rejects.first:
        number, reason = source.rejects.first[0]
        first = f"; first at {where} {number}: {reason}"
    counted = reasons or "no record in it"
    return f"{source.path} ({source.format}, {source.lines} {unit}): {counted}{first}"


def _meta(report: ImportReport, options: ImportOptions) -> SampleMeta:
    return SampleMeta(
        created=datetime.now(UTC).isoformat(timespec="seconds"),
        sources=tuple(s.to_meta() for s in report.sources),
        scrubbed=dict(report.scrubbed),
        sample_rate=options.selection.sample_rate,
        key_config=dataclasses.asdict(options.key_config),
        filters=_filters(report, options),
    )


def _filters(report: ImportReport, options: ImportOptions) -> dict[str, Any]:
    filters = options.selection.describe()
    if report.dropped:
        filters["dropped"] = dict(report.dropped)
    return filters


class _Refiner:
    """Validate, scrub, key, hash and select parsed rows, a block at a time."""

    def __init__(self, options: ImportOptions, report: ImportReport) -> None:
        self.options = options
        self.report = report
        self.key = make_key_function(options.key_config)
        self.vary = tuple(v.lower() for v in options.key_config.vary)
        self.salt = secrets.token_bytes(16)  # never stored: client ids cannot be reversed
        # A fresh pseudonym salt per import, never stored either (see scrub.py).
        self.scrub = dataclasses.replace(
            options.scrub,
            salt=secrets.token_bytes(16),
            lowercase_path=options.key_config.lowercase_path,
        )
        # Distinct requests and clients repeat from block to block; memos are bounded.
        labels = pa.list_(pa.string())
        self._requests = Memo(self._request, [pa.string(), pa.string(), labels, pa.bool_()])
        self._clients = Memo(self._hash_client, [pa.string()])
        self._header_values = Memo(self._scrub_header_value, [pa.string(), pa.bool_()])
        self._hosts = Memo(self.scrub.scrub_host, [pa.string(), labels])
        # Bodies are large and rarely repeat: a small memo bounds the memory they hold.
        self._bodies = Memo(self.scrub.scrub_body, [pa.string(), labels], limit=10_000)
        self._labels = {
            memo: LabelIndex(memo, field)
            for memo, field in ((self._requests, 2), (self._hosts, 1), (self._bodies, 1))
        }
        self._lock = threading.Lock()  # report.scrubbed, counted from two threads
        self._prepare_lock = threading.Lock()

    def tables(self, detection: Detection, stream: Any, source: SourceReport) -> Iterator[pa.Table]:
        # Closed explicitly so the parsing thread stops before the input is closed.
        with contextlib.closing(prefetch(self._prepared(detection, stream))) as blocks:
            for block, bad in blocks:
                table = self._accept(block, bad, source)
                if table.num_rows:
                    yield table

    def _prepared(self, detection: Detection, stream: Any) -> Iterator[tuple[ParsedBlock, Masks]]:
        """Parsed blocks with their half of refining done, on the parsing thread."""
        for block in detection.format.parse(stream):
            table, bad = self.prepare(block.table, checked=block.checked)
            yield dataclasses.replace(block, table=table), bad

    def _accept(self, block: ParsedBlock, bad: Masks, source: SourceReport) -> pa.Table:
        source.lines += block.lines
        table, rejects = self._refine(block.table, bad)
        block.rejects.extend(rejects)
        source.rejects.extend(block.rejects)
        if self.options.strict and block.rejects.count:
            line, reason = block.rejects.first[0]
            raise MalformedInputError(
                f"{source.path}:{line}: {reason}",
                hint="drop --strict to skip and count malformed lines",
            )
        source.records += table.num_rows
        return table

    def refine(self, raw: pa.Table, *, checked: bool = False) -> tuple[pa.Table, Rejects]:
        """Raw parsed rows -> sample rows sorted by time, and the rows rejected here."""
        return self._refine(*self.prepare(raw, checked=checked))

    def prepare(self, raw: pa.Table, *, checked: bool = False) -> tuple[pa.Table, Masks]:
        """The half of refining that needs no request memo: headers, host and body
        scrubbed, clients hashed, and the rows with a control character in a header or the
        host flagged. The import runs it on the parsing thread, the rest on the refining
        thread."""
        if raw.num_rows == 0:
            return raw, []
        # Several inputs parse on several threads, and the memos are not thread-safe.
        with self._prepare_lock:
            headers, bad_header = self._headers(raw.column("headers").combine_chunks(), checked)
            table = _replace(raw, "headers", headers)
            table = _replace(table, "host", self._scrubbed(self._hosts, table.column("host")))
            table = _replace(table, "body", self._scrubbed(self._bodies, table.column("body")))
            found = self._clients.lookup(table.column("client").combine_chunks())
            hashed = self._clients.column(0, found)
        table = _replace(table, "client", hashed)
        bad = [("control character in a header", bad_header)]
        if not checked:  # line formats checked every line for raw control characters
            bad.append(("control character in the host", _has_control(table.column("host"))))
        return table, bad

    def _scrubbed(self, memo: Memo, column: pa.ChunkedArray) -> pa.Array:
        """``column`` through a scrubbing memo (field 0: value, 1: labels), counted."""
        values = column.combine_chunks()
        if not self.scrub.enabled or values.null_count == len(values):
            return values
        found = memo.lookup(values)
        self._count_labels(memo, found)
        return memo.column(0, found)

    def _refine(self, raw: pa.Table, bad: Masks) -> tuple[pa.Table, Rejects]:
        if raw.num_rows == 0:
            return _empty(), Rejects()
        method = pc.utf8_upper(raw.column("method").combine_chunks())
        pair = pc.binary_join_element_wise(method, raw.column("target").combine_chunks(), " ")
        found = self._requests.lookup(pair)
        self._count_labels(self._requests, found)
        bad_method = pc.fill_null(self._requests.column(3, found), True)
        clean = self._requests.column(0, found)
        table = _replace(raw, "target", clean)
        table = _replace(table, "method", method)
        table = table.append_column("key", self._requests.column(1, found))
        masks = [
            ("bad method", bad_method),
            ("bad or missing target", pc.is_null(clean)),
            *bad,
            ("bad or missing timestamp", pc.is_null(table.column("ts"))),
        ]
        table, rejects = filter_rejected(table, masks, {})
        table = self._select(self._with_vary_key(table))
        columns = _sorted_by_time(table).select(SAMPLE_ARROW_SCHEMA.names).columns
        # Exactly the sample schema, so the writer need not cast (required columns are
        # never null here: rows without them were rejected above).
        return pa.Table.from_arrays(columns, schema=SAMPLE_ARROW_SCHEMA), rejects

    # -- method + target: validated, decoded, scrubbed and keyed once per distinct pair
    def _request(self, pair: str) -> tuple[str | None, str | None, list[str], bool]:
        method, _, raw_target = pair.partition(" ")
        if method not in _COMMON_METHODS and not _METHOD.match(method):
            return None, None, [], True
        target = _clean_target(raw_target)
        if target is None:
            return None, None, [], False
        target, labels = self.scrub.scrub_url(target)
        return target, self.key(method, target, {}), labels, False

    def _count_labels(self, memo: Memo, found: pa.Array) -> None:
        """Add how often each scrubbing label occurs in ``found`` (memo indices)."""
        if not self.scrub.enabled:
            return
        by_label = self._labels[memo].entries()
        if not by_label:
            return
        counts = memo.counts(found)
        with self._lock:  # the two threads count in the same Counter
            for label, entries in by_label.items():
                self.report.scrubbed[label] += int(counts[entries].sum())

    def _with_vary_key(self, table: pa.Table) -> pa.Table:
        """With ``vary`` headers the key depends on each row's headers: computed per row."""
        if not self.vary:
            return table
        columns = (table.column(c).to_pylist() for c in ("method", "target", "headers"))
        keys = [self.key(m, t, dict(h or ())) for m, t, h in zip(*columns, strict=True)]
        return table.set_column(
            table.schema.get_field_index("key"), "key", pa.array(keys, pa.string())
        )

    def _hash_client(self, address: str) -> tuple[str]:
        return (hashlib.blake2b(address.encode(), digest_size=8, key=self.salt).hexdigest(),)

    # -- headers: names lower-cased, secrets dropped, URLs in values scrubbed
    def _headers(self, headers: pa.MapArray, checked: bool) -> tuple[pa.Array, pa.Array]:
        n = len(headers)
        offsets = headers.offsets.to_numpy()
        # .keys/.items ignore a slice's offset: cut them to this array's entries.
        start, length = int(offsets[0]), int(offsets[-1] - offsets[0])
        offsets = offsets - start
        keys = headers.keys.slice(start, length)
        keys = keys if checked else pc.utf8_lower(keys)  # line formats write lower case
        items = headers.items.slice(start, length)
        rows = np.repeat(np.arange(n), np.diff(offsets))
        keep, items = self._drop_secret_headers(keys, items)
        if keep is not None:
            items, keys, rows = pc.filter(items, keep), pc.filter(keys, keep), rows[keep]
            offsets = np.zeros(n + 1, dtype=np.int64)
            np.cumsum(np.bincount(rows, minlength=n), out=offsets[1:])
        items = self._scrub_host_headers(keys, self._scrub_header_values(items))
        mapped = pa.MapArray.from_arrays(
            pa.array(offsets, pa.int32()), keys, items, mask=headers.is_null()
        )
        if checked:  # the line was already free of raw control characters
            return mapped, pa.array(np.zeros(n, dtype=bool))
        bad_entry = pc.or_(
            pc.match_substring_regex(keys, _CONTROL), pc.match_substring_regex(items, _CONTROL)
        )
        bad = np.asarray(bad_entry.to_numpy(zero_copy_only=False), dtype=bool)
        return mapped, pa.array(np.bincount(rows[bad], minlength=n) > 0)

    def _drop_secret_headers(
        self, keys: pa.Array, items: pa.Array
    ) -> tuple[np.ndarray | None, pa.Array]:
        """Mask of header entries to keep (None when all are kept), counting the dropped,
        and the values with the credential headers the key varies on pseudonymised."""
        distinct = [k for k in pc.unique(keys).to_pylist() if k is not None]
        secret = [k for k in distinct if self.scrub.drops_header(k)]
        if not secret:
            return None, items
        dropped = pc.is_in(keys, pa.array(secret, pa.string()))
        with self._lock:  # the refining thread counts parameters in the same Counter
            for entry in pc.value_counts(pc.filter(keys, dropped)).to_pylist():
                self.report.scrubbed[f"header:{entry['values']}"] += entry["counts"]
        vary = [k for k in secret if k in self.vary]
        if vary:
            # Keyed on (Vary: Cookie): a pseudonym keeps each user's keys apart.
            kept = pc.is_in(keys, pa.array(vary, pa.string()))
            values = pc.filter(items, kept).to_pylist()
            pseudonyms = [self.scrub.pseudonym(v.strip()) if v else v for v in values]
            items = pc.replace_with_mask(items, kept, pa.array(pseudonyms, pa.string()))
            dropped = pc.and_(dropped, pc.invert(kept))
        return ~np.asarray(dropped.to_numpy(zero_copy_only=False), dtype=bool), items

    def _scrub_header_values(self, items: pa.Array) -> pa.Array:
        if not self.scrub.enabled or len(items) == 0:
            return items
        found = self._header_values.lookup(items)
        if not pc.any(self._header_values.column(1, found)).as_py():
            return items  # nothing to redact: spare a copy of every header value
        return self._header_values.column(0, found)

    def _scrub_host_headers(self, keys: pa.Array, items: pa.Array) -> pa.Array:
        """A recorded ``host`` header loses its userinfo like the host column."""
        if not self.scrub.enabled or len(keys) == 0:
            return items
        is_host = pc.fill_null(pc.equal(keys, "host"), False)
        if not pc.any(is_host).as_py():
            return items
        found = self._hosts.lookup(pc.filter(items, is_host))
        self._count_labels(self._hosts, found)
        return pc.replace_with_mask(items, is_host, self._hosts.column(0, found))

    def _scrub_header_value(self, value: str) -> tuple[str, bool]:
        scrubbed, labels = self.scrub.scrub_url(value)
        return scrubbed, bool(labels)

    # -- selection
    def _select(self, table: pa.Table) -> pa.Table:
        sel = self.options.selection
        keep = np.ones(table.num_rows, dtype=bool)
        ts = table.column("ts").to_numpy()
        if sel.since is not None or sel.until is not None:
            window = np.ones_like(keep)
            if sel.since is not None:
                window &= ts >= sel.since
            if sel.until is not None:
                window &= ts < sel.until
            self.report.dropped["window"] += int(np.count_nonzero(keep & ~window))
            keep &= window
        if sel.methods:
            ok = pc.is_in(table.column("method"), pa.array(sel.methods)).to_numpy(
                zero_copy_only=False
            )
            self.report.dropped["method"] += int(np.count_nonzero(keep & ~ok))
            keep &= ok
        if sel.sample_rate < 1.0:
            encoded = pc.dictionary_encode(table.column("key").combine_chunks())
            kept = np.array([sel.keeps_key(k) for k in encoded.dictionary.to_pylist()], dtype=bool)
            ok = kept[encoded.indices.to_numpy(zero_copy_only=False)] if len(kept) else keep
            self.report.dropped["sampling"] += int(np.count_nonzero(keep & ~ok))
            keep &= ok
        return table if keep.all() else table.filter(pa.array(keep))


Masks = list[tuple[str, pa.Array]]
"""(reason, per-row flag) pairs of rows to reject."""


def _replace(table: pa.Table, name: str, column: pa.Array | pa.ChunkedArray) -> pa.Table:
    return table.set_column(table.schema.get_field_index(name), name, column)


def _has_control(column: pa.ChunkedArray) -> pa.Array:
    return pc.fill_null(pc.match_substring_regex(column.combine_chunks(), _CONTROL), False)


def _clean_target(value: str | None) -> str | None:
    """Decode nginx ``\\xHH`` escapes; None when the target is unusable or unsafe."""
    if not value:
        return None
    if "\\x" in value:
        try:
            value = _NGINX_ESCAPE.sub(
                lambda m: bytes([int(m.group(1), 16)]), value.encode()
            ).decode()
        except UnicodeDecodeError:
            return None
    if _BAD_TARGET_CHARS.search(value):
        return None  # CR/LF/space/control characters: request smuggling, never replayed
    if not (value.startswith("/") or value.startswith(("http://", "https://")) or value == "*"):
        return None
    return value


def _sorted_by_time(table: pa.Table) -> pa.Table:
    """``table`` in time order, stable; logs are nearly always in order already, and
    then the copy of every column that ``take`` makes is skipped."""
    ts = table.column("ts").to_numpy()
    if len(ts) < 2 or bool(np.all(ts[1:] >= ts[:-1])):
        return table
    return table.take(pc.sort_indices(table, [("ts", "ascending")]))


def _empty() -> pa.Table:
    return SAMPLE_ARROW_SCHEMA.empty_table()


def merge_by_time(streams: Sequence[Iterator[pa.Table]]) -> Iterator[pa.Table]:
    """Merge per-input streams of time-sorted tables into one time-ordered stream.

    Holds one table per input: rows up to the smallest "last stamp" among the inputs that
    still have data are safe to emit, since each input's later tables start after it.
    """
    if len(streams) == 1:
        yield from streams[0]
        return
    buffers: list[pa.Table | None] = [None] * len(streams)
    done = [False] * len(streams)
    while True:
        for i, stream in enumerate(streams):
            if buffers[i] is None and not done[i]:
                buffers[i] = next(stream, None)
                done[i] = buffers[i] is None
        live = [i for i, b in enumerate(buffers) if b is not None]
        if not live:
            return
        open_ = [i for i in live if not done[i]]
        mark = min(_last_ts(buffers[i]) for i in open_) if open_ else float("inf")
        parts = []
        for i in live:
            table = buffers[i]
            assert table is not None
            early = pc.less_equal(table.column("ts"), mark)
            parts.append(table.filter(early))
            rest = table.filter(pc.invert(early))
            buffers[i] = rest if rest.num_rows else None
        merged = pa.concat_tables(parts)
        yield merged.take(pc.sort_indices(merged, [("ts", "ascending")]))


def _last_ts(table: pa.Table | None) -> float:
    assert table is not None
    value = table.column("ts")[-1].as_py()
    return float(value)
