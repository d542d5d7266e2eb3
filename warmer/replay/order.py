"""Which records are replayed and in what order: recorded, hot-first, slices and limits.

Two inputs are taken. An iterable of :class:`SampleRecord` (:func:`arrange`): recorded
order streams in constant memory, hot-first holds one record per distinct key. A
:class:`~warmer.sample.source.SampleSource` (:func:`arrange_source`), which can be read
twice: hot-first then ranks the keys in Arrow and keeps one Arrow row per distinct key,
a fraction of the memory of a Python record, so a 10M-request sample orders in the
memory its keys need.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from warmer.errors import UsageError
from warmer.model.sample import SampleRecord

if TYPE_CHECKING:
    import pyarrow as pa

    from warmer.sample.source import SampleSource

_DURATION = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*(ms|s|m|h)?\s*$")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}


@dataclass(frozen=True)
class TimeBound:
    """One end of a time slice: seconds after the first record, or an absolute epoch time."""

    seconds: float
    absolute: bool = False

    def resolve(self, first_ts: float) -> float:
        """The bound as epoch seconds, given the sample's first timestamp."""
        return self.seconds if self.absolute else first_ts + self.seconds


@dataclass(frozen=True)
class TimeSlice:
    """Records with ``start <= ts < end`` (either end open when ``None``)."""

    start: TimeBound | None = None
    end: TimeBound | None = None


def parse_duration(text: str) -> float:
    """Parse a duration into seconds.

    Grammar::

        DURATION := NUMBER [UNIT]        e.g. 90, 1.5m, 250ms, 2h
        UNIT     := "ms" | "s" | "m" | "h"   (default s)
    """
    match = _DURATION.match(text)
    if not match:
        raise UsageError(f"cannot read duration {text!r}", "write e.g. 90, 90s, 1.5m, 250ms or 2h")
    return float(match.group(1)) * _UNITS[match.group(2)]


def parse_time_slice(text: str) -> TimeSlice:
    """Parse ``--slice``.

    Grammar::

        SLICE := [BOUND] ":" [BOUND]
        BOUND := DURATION                 seconds after the sample's first record
               | ISO-8601 date-time       absolute (naive times are UTC)

    ``60:120`` replays the sample's second minute; ``:5m`` its first five minutes;
    ``2024-05-01T10:00:00Z:`` everything from that instant on. An ISO time contains ``:``
    itself, so the separator is the ``:`` that leaves two parseable sides.
    """
    for i, char in enumerate(text):
        if char != ":":
            continue
        left, right = text[:i], text[i + 1 :]
        try:
            return TimeSlice(_bound(left), _bound(right))
        except UsageError:
            continue
    raise UsageError(f"cannot read time slice {text!r}", "write START:END, e.g. 60:120 or :5m")


def _bound(text: str) -> TimeBound | None:
    if not text.strip():
        return None
    if _DURATION.match(text):
        return TimeBound(parse_duration(text))
    try:
        when = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise UsageError(f"cannot read time {text!r}") from exc
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return TimeBound(when.timestamp(), absolute=True)


def time_slice(records: Iterable[SampleRecord], window: TimeSlice) -> Iterator[SampleRecord]:
    """Keep records inside ``window``; relative bounds count from the first record."""
    start = end = None
    first = True
    for record in records:
        if first:
            start = window.start.resolve(record.ts) if window.start else None
            end = window.end.resolve(record.ts) if window.end else None
            first = False
        if start is not None and record.ts < start:
            continue
        if end is not None and record.ts >= end:
            continue
        yield record


def hot_first(records: Iterable[SampleRecord], repeat: int = 1) -> list[SampleRecord]:
    """One record per cache key, most requested keys first, the whole list ``repeat`` times.

    Ties keep the order in which keys first appear. The record kept for a key is its
    first occurrence. Memory grows with the number of distinct keys, not of requests.
    """
    check_order("hot-first", repeat)
    counts: dict[str, int] = {}
    first: dict[str, SampleRecord] = {}
    for record in records:
        key = record.key
        if key in counts:
            counts[key] += 1
        else:
            counts[key] = 1
            first[key] = record
    # sorted() is stable, so keys with equal counts stay in first-seen order.
    ranked = [first[key] for key in sorted(counts, key=counts.__getitem__, reverse=True)]
    return ranked * repeat


def limit(records: Iterable[SampleRecord], count: int | None) -> Iterator[SampleRecord]:
    """At most ``count`` records (all when ``None``)."""
    if count is not None and count < 0:
        raise UsageError("--limit must not be negative")
    return iter(records) if count is None else itertools.islice(records, count)


def arrange(
    records: Iterable[SampleRecord],
    *,
    order: str = "recorded",
    repeat: int = 1,
    window: TimeSlice | None = None,
    count: int | None = None,
) -> Iterable[SampleRecord]:
    """Apply slice, order and limit, in that order (the slice picks *which* traffic)."""
    check_order(order, repeat)
    if window is not None:
        records = time_slice(records, window)
    if order == "hot-first":
        records = hot_first(records, repeat)
    return limit(records, count)


def check_order(order: str, repeat: int) -> None:
    """UsageError for an unknown order, or a repeat that does not go with it."""
    if order not in ("recorded", "hot-first"):
        raise UsageError(f"unknown order {order!r}", "choose recorded or hot-first")
    if order == "recorded" and repeat != 1:
        raise UsageError("--repeat works with --order hot-first only")
    if repeat < 1:
        raise UsageError("--repeat must be at least 1")


def arrange_source(
    source: SampleSource,
    *,
    order: str = "recorded",
    repeat: int = 1,
    window: TimeSlice | None = None,
    count: int | None = None,
) -> Iterable[SampleRecord]:
    """:func:`arrange` over a sample source: same records, same order, less memory."""
    from warmer.replay.source import COLUMNS, records_from_batches

    check_order(order, repeat)
    if window is not None:
        source = _windowed(source, window)
    if order == "hot-first":
        return limit(hot_first_source(source, repeat, count), count)
    return limit(records_from_batches(source.batches(COLUMNS)), count)


def _windowed(source: SampleSource, window: TimeSlice) -> SampleSource:
    """The records of ``source`` inside ``window`` (relative bounds from its first record)."""
    import pyarrow.compute as pc

    first = next(source.batches(["ts"]), None)
    if first is None:
        return source
    first_ts = float(first.column("ts")[0].as_py())
    start = window.start.resolve(first_ts) if window.start else None
    end = window.end.resolve(first_ts) if window.end else None

    def inside(batch: pa.RecordBatch) -> pa.Array:
        ts = batch.column("ts")
        mask = pc.greater_equal(ts, start) if start is not None else pc.is_valid(ts)
        return pc.and_(mask, pc.less(ts, end)) if end is not None else mask

    return source.where(inside)


def hot_first_source(
    source: SampleSource, repeat: int = 1, count: int | None = None
) -> Iterator[SampleRecord]:
    """:func:`hot_first` in two passes over ``source``: rank the keys, then fetch their rows.

    The first pass counts each key's requests and notes its first row; the second keeps
    the first row of each key that ranks high enough to be sent (all of them unless
    ``count`` limits the run). Ties keep the order in which keys first appear.
    """
    import pyarrow.compute as pc

    from warmer.replay.source import COLUMNS, records_from_batches

    ranked = rank_keys(source)
    if count is not None:
        ranked = ranked.slice(0, count)
    rows = _first_rows(source, ranked.column("first"))
    position = pc.index_in(ranked.column("first"), value_set=rows.column("_row"))
    ordered = rows.take(position).select(COLUMNS)
    for _ in range(repeat):
        yield from records_from_batches(ordered.to_batches())


def rank_keys(source: SampleSource) -> pa.Table:
    """One row per distinct key — ``key`` (its 64-bit hash), ``requests``, ``first`` (its
    first row number) — most requested first, ties by first appearance.

    The hash stands for the key: the ranking is held for every distinct key of the sample,
    and a key's text is most of what it would cost (the rows are fetched by ``first``).
    """
    import numpy as np
    import pyarrow as pa

    from warmer.sample._keyhash import hash_strings

    parts: list[pa.Table] = []
    offset = held = 0
    for batch in source.batches(["key"]):
        rows = pa.array(np.arange(offset, offset + batch.num_rows, dtype=np.int64))
        offset += batch.num_rows
        keys = pa.array(hash_strings(batch.column("key")), pa.uint64())
        parts.append(_key_counts(pa.table({"key": keys, "first": rows})))
        held += parts[-1].num_rows
        if held > 1_000_000 and len(parts) > 1:  # merge now and then: memory tracks the keys
            parts = [_merge_counts(pa.concat_tables(parts))]
            held = parts[0].num_rows
    if not parts:
        return pa.table({"key": pa.array([], pa.uint64()), "requests": [], "first": []})
    counted = _merge_counts(pa.concat_tables(parts))
    return counted.sort_by([("requests", "descending"), ("first", "ascending")])


def rank_by_value(source: SampleSource, *, now: float, half_life_s: float) -> pa.Table:
    """One row per distinct key — ``key``, ``requests``, ``value``, ``first`` — most valuable
    first, ties by first appearance.

    A request recorded ``age`` seconds before ``now`` adds ``2^(-age / half_life_s)`` to its
    key's value: frequent keys rank high, and of two equally frequent keys the one still
    requested lately ranks higher (it is the likelier to be requested next). Two columns
    per distinct key are held, never the requests.
    """
    import numpy as np
    import pyarrow as pa

    parts: list[pa.Table] = []
    offset = held = 0
    for batch in source.batches(["key", "ts"]):
        rows = pa.array(np.arange(offset, offset + batch.num_rows, dtype=np.int64))
        offset += batch.num_rows
        age = now - batch.column("ts").to_numpy(zero_copy_only=False)
        weight = pa.array(np.exp2(-np.maximum(age, 0.0) / half_life_s))
        table = pa.table({"key": batch.column("key"), "first": rows, "value": weight})
        parts.append(_key_values(table, [("first", "count"), ("first", "min"), ("value", "sum")]))
        held += parts[-1].num_rows
        if held > 1_000_000 and len(parts) > 1:  # merge now and then: memory tracks the keys
            parts = [_merged_values(pa.concat_tables(parts))]
            held = parts[0].num_rows
    if not parts:
        empty = {"key": pa.array([], pa.string()), "requests": [], "value": [], "first": []}
        return pa.table(empty)
    ranked = _merged_values(pa.concat_tables(parts))
    return ranked.sort_by([("value", "descending"), ("first", "ascending")])


def _key_values(table: pa.Table, aggregates: list[tuple[str, str]]) -> pa.Table:
    grouped = table.group_by("key", use_threads=False).aggregate(aggregates)
    names = {
        "first_count": "requests",
        "requests_sum": "requests",
        "first_min": "first",
        "value_sum": "value",
    }
    return grouped.rename_columns([names.get(n, n) for n in grouped.column_names])


def _merged_values(table: pa.Table) -> pa.Table:
    return _key_values(table, [("requests", "sum"), ("first", "min"), ("value", "sum")])


def ranked_records(source: SampleSource, ranked: pa.Table, hot: int = 0) -> Iterator[SampleRecord]:
    """The first row of every key of ``ranked`` (a ranking of ``source``), in its order, then
    its ``hot`` first keys again, the hottest last (so a small LRU cache ends holding them)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    from warmer.replay.source import COLUMNS, records_from_batches

    rows = _first_rows(source, ranked.column("first"))
    position = pc.index_in(ranked.column("first"), value_set=rows.column("_row"))
    ordered = rows.take(position).select(COLUMNS)
    yield from records_from_batches(ordered.to_batches())
    if hot > 0:
        count = min(hot, ordered.num_rows)
        backwards = pa.array(np.arange(count - 1, -1, -1, dtype=np.int64))
        yield from records_from_batches(ordered.slice(0, count).take(backwards).to_batches())


def _key_counts(table: pa.Table) -> pa.Table:
    grouped = table.group_by("key", use_threads=False).aggregate(
        [("first", "count"), ("first", "min")]
    )
    names = {"first_count": "requests", "first_min": "first"}
    return grouped.rename_columns([names.get(n, n) for n in grouped.column_names])


def _merge_counts(table: pa.Table) -> pa.Table:
    grouped = table.group_by("key", use_threads=False).aggregate(
        [("requests", "sum"), ("first", "min")]
    )
    names = {"requests_sum": "requests", "first_min": "first"}
    return grouped.rename_columns([names.get(n, n) for n in grouped.column_names])


def _first_rows(source: SampleSource, firsts: pa.ChunkedArray) -> pa.Table:
    """The rows of ``source`` whose row number is in ``firsts``, with a ``_row`` column."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    from warmer.replay.source import COLUMNS

    wanted = pc.unique(firsts)
    kept: list[pa.Table] = []
    offset = 0
    for batch in source.batches(COLUMNS):
        rows = pa.array(np.arange(offset, offset + batch.num_rows, dtype=np.int64))
        offset += batch.num_rows
        mask = pc.is_in(rows, value_set=wanted)
        if pc.any(mask).as_py():
            table = pa.Table.from_batches([batch]).append_column("_row", rows)
            kept.append(table.filter(mask))
    if not kept:
        from warmer.model.sample import SAMPLE_ARROW_SCHEMA

        empty = SAMPLE_ARROW_SCHEMA.empty_table().select(COLUMNS)
        return empty.append_column("_row", pa.array([], pa.int64()))
    return pa.concat_tables(kept)
