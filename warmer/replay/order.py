"""Which records are replayed and in what order: recorded, hot-first, slices and limits.

Everything here is a pure function over an iterable of :class:`SampleRecord`; recorded
order streams in constant memory, hot-first holds one record per distinct key.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from warmer.errors import UsageError
from warmer.model.sample import SampleRecord

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
    if repeat < 1:
        raise UsageError("--repeat must be at least 1")
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
    if window is not None:
        records = time_slice(records, window)
    if order == "hot-first":
        records = hot_first(records, repeat)
    elif order != "recorded":
        raise UsageError(f"unknown order {order!r}", "choose recorded or hot-first")
    elif repeat != 1:
        raise UsageError("--repeat works with --order hot-first only")
    return limit(records, count)
