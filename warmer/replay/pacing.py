"""Pacers: pure schedule generators deciding *when* each request is sent.

A pacer maps the ordered records to send offsets (seconds after the replay starts).
``None`` means "as soon as a connection is free" (closed model); a number means the
request is due at that instant whether or not the target kept up (open model), which is
what lets latency be measured from the scheduled time too (coordinated omission).
No clock and no network here: the engines do the waiting.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Protocol, TypeVar

from warmer.errors import UsageError
from warmer.model.sample import SampleRecord

T = TypeVar("T")


class Pacer(Protocol):
    """How fast the replay goes.

    ``open_model`` is true when :meth:`schedule` yields offsets (recorded, rate) and false
    when it yields ``None`` for every record (max).
    """

    open_model: bool

    def schedule(
        self, records: Iterable[SampleRecord]
    ) -> Iterator[tuple[float | None, SampleRecord]]:
        """Pair every record with its send offset in seconds (non-decreasing), or ``None``."""
        ...


@dataclass(frozen=True)
class RecordedPacer:
    """The recorded inter-arrival times divided by ``speed``.

    Gaps are measured between consecutive records' ``ts``; a negative gap (records out of
    time order) counts as zero. ``max_gap_s`` caps each gap *after* the speed-up, so a
    quiet night in the sample does not stall a replay.
    """

    speed: float = 1.0
    max_gap_s: float | None = None
    open_model = True

    def __post_init__(self) -> None:
        if not self.speed > 0:
            raise UsageError("--speed must be greater than 0", "e.g. --speed 10 replays 10x faster")
        if self.max_gap_s is not None and self.max_gap_s < 0:
            raise UsageError("--max-gap must not be negative")

    def schedule(
        self, records: Iterable[SampleRecord]
    ) -> Iterator[tuple[float | None, SampleRecord]]:
        offset = 0.0
        previous: float | None = None
        for record in records:
            if previous is not None:
                gap = max(record.ts - previous, 0.0) / self.speed
                if self.max_gap_s is not None:
                    gap = min(gap, self.max_gap_s)
                offset += gap
            previous = record.ts
            yield offset, record


@dataclass(frozen=True)
class RatePacer:
    """A constant ``rate`` requests per second, optionally ramped up linearly.

    With ``ramp_s`` > 0 the rate grows linearly from ``ramp_from`` to ``rate`` over
    ``ramp_s`` seconds, then stays constant. Request *n* (0-based) is due at the instant
    the integral of the rate reaches *n*.
    """

    rate: float
    ramp_s: float = 0.0
    ramp_from: float = 0.0
    open_model = True

    def __post_init__(self) -> None:
        if not self.rate > 0:
            raise UsageError("--rate must be greater than 0", "e.g. --rate 2000 (requests/s)")
        if self.ramp_s < 0 or not 0 <= self.ramp_from <= self.rate:
            raise UsageError("--ramp needs a duration >= 0 and a start rate between 0 and --rate")

    def offset(self, n: int) -> float:
        """Send offset of request ``n``."""
        if self.ramp_s <= 0:
            return n / self.rate
        r0, r1, span = self.ramp_from, self.rate, self.ramp_s
        in_ramp = r0 * span + (r1 - r0) * span / 2  # requests sent during the ramp
        if n >= in_ramp:
            return span + (n - in_ramp) / r1
        accel = (r1 - r0) / span  # N(t) = r0 t + accel t^2 / 2, solved for t
        if accel == 0:
            return n / r0
        return (-r0 + math.sqrt(r0 * r0 + 2 * accel * n)) / accel

    def schedule(
        self, records: Iterable[SampleRecord]
    ) -> Iterator[tuple[float | None, SampleRecord]]:
        for n, record in enumerate(records):
            yield self.offset(n), record


@dataclass(frozen=True)
class MaxPacer:
    """As fast as the concurrency limit allows (closed model): no offsets."""

    open_model = False

    def schedule(
        self, records: Iterable[SampleRecord]
    ) -> Iterator[tuple[float | None, SampleRecord]]:
        for record in records:
            yield None, record


class AdaptivePacer:
    """A constant rate that a controller may change while the replay runs (open model).

    Request *n+1* is due ``1 / rate`` after request *n*, at the rate of the moment it is
    scheduled (the engine asks for the next request only once it dispatched the previous
    one, so a new rate takes effect on the next request). The one pacer that reads a
    clock: when the engine fell more than ``slack_s`` behind (every connection busy), the
    schedule restarts from there instead of sending the whole backlog as a burst — a burst
    is what a controller that has just cut the rate must never get. Lateness within the
    slack (a busy event loop) is caught up, so the rate achieved is the rate chosen.
    """

    open_model = True
    slack_s = 0.05

    def __init__(
        self,
        rate: float,
        *,
        max_rate: float | None = None,
        min_rate: float = 1.0,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        if not rate > 0 or min_rate <= 0:
            raise UsageError("an adaptive pace needs a rate greater than 0")
        self.max_rate = max_rate
        self.min_rate = min_rate
        self._clock = clock
        self._rate = self._bounded(rate)

    @property
    def rate(self) -> float:
        """Requests per second now."""
        return self._rate

    @rate.setter
    def rate(self, value: float) -> None:
        self._rate = self._bounded(value)

    def _bounded(self, value: float) -> float:
        top = self.max_rate if self.max_rate is not None else math.inf
        return min(max(value, self.min_rate), top)

    def schedule(
        self, records: Iterable[SampleRecord]
    ) -> Iterator[tuple[float | None, SampleRecord]]:
        start: float | None = None
        offset = 0.0
        for record in records:
            now = self._clock()
            if start is None:
                start = now
            offset = max(offset, now - start - max(self.slack_s, 1.0 / self._rate))
            yield offset, record
            offset += 1.0 / self._rate


def make_pacer(
    pacing: str,
    *,
    speed: float = 1.0,
    max_gap_s: float | None = None,
    rate: float | None = None,
    ramp_s: float = 0.0,
    ramp_from: float = 0.0,
) -> Pacer:
    """Build the pacer named by ``--pacing`` (recorded, rate, max)."""
    if pacing == "recorded":
        return RecordedPacer(speed=speed, max_gap_s=max_gap_s)
    if pacing == "rate":
        if rate is None:
            raise UsageError("--pacing rate needs --rate", "e.g. --pacing rate --rate 2000")
        return RatePacer(rate=rate, ramp_s=ramp_s, ramp_from=ramp_from)
    if pacing == "max":
        return MaxPacer()
    raise UsageError(f"unknown pacing {pacing!r}", "choose recorded, rate or max")
