"""Per-replay statistics: counts by status class and error kind, HDR latency histograms.

Histograms hold microseconds, are mergeable across processes (``encode``/``merge``) and
are fed a whole results batch at a time, vectorised, so the engines' hot path only
appends a row.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

_LOWEST_US = 1
_HIGHEST_US = 3_600_000_000  # one hour
_DIGITS = 3
PERCENTILES = (50.0, 90.0, 99.0, 99.9)


def new_histogram() -> Any:
    """An empty HDR histogram of microseconds (1 µs .. 1 h, 3 significant digits)."""
    from hdrh.histogram import HdrHistogram

    return HdrHistogram(_LOWEST_US, _HIGHEST_US, _DIGITS)


def _record_ms(histogram: Any, column: pa.Array) -> None:
    values = column.drop_null().to_numpy(zero_copy_only=False)
    if values.size == 0:
        return
    micros = np.clip(np.rint(np.abs(values) * 1000.0), _LOWEST_US, _HIGHEST_US).astype(np.int64)
    uniques, counts = np.unique(micros, return_counts=True)
    for value, count in zip(uniques.tolist(), counts.tolist(), strict=True):
        histogram.record_value(value, count)


def percentiles_ms(histogram: Any) -> dict[str, float]:
    """p50, p90, p99, p99.9, max and mean in milliseconds (empty when nothing was recorded)."""
    if histogram.get_total_count() == 0:
        return {}
    out = {f"p{p:g}": histogram.get_value_at_percentile(p) / 1000.0 for p in PERCENTILES}
    out["max"] = histogram.get_max_value() / 1000.0
    out["mean"] = round(histogram.get_mean_value() / 1000.0, 3)
    return out


@dataclass
class Tally:
    """Accumulates results batches into counts and histograms."""

    sent: int = 0
    status_classes: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    latency: Any = field(default_factory=new_histogram)
    """From the actual send to the end of the response."""
    from_schedule: Any = field(default_factory=new_histogram)
    """From the scheduled send time (open model only)."""
    send_lag: Any = field(default_factory=new_histogram)
    """|actual − scheduled| send time (open model only): the pacer's precision."""

    def add(self, batch: pa.RecordBatch) -> None:
        """Count one results batch."""
        self.sent += batch.num_rows
        statuses = Counter(batch.column("status").to_pylist())
        for status, count in statuses.items():
            if status is not None:
                self.status_classes[f"{status // 100}xx"] += count
        for kind, count in Counter(batch.column("error").to_pylist()).items():
            if kind is not None:
                self.errors[kind] += count
        _record_ms(self.latency, batch.column("latency_ms"))
        _record_ms(self.from_schedule, batch.column("latency_from_schedule_ms"))
        scheduled = batch.column("scheduled_s")
        if scheduled.null_count < batch.num_rows:
            lag = pc.subtract(batch.column("sent_s"), scheduled)
            _record_ms(self.send_lag, pc.multiply(lag, 1000.0))

    @property
    def error_count(self) -> int:
        """Requests that got no response."""
        return sum(self.errors.values())


def encode(histogram: Any) -> str:
    """A histogram as a compact base64 string (HdrHistogram's own encoding)."""
    if histogram.get_total_count() == 0:
        return ""
    encoded: bytes = histogram.encode()
    return encoded.decode("ascii")


def decode(text: str) -> Any:
    """The histogram an :func:`encode` string stands for."""
    histogram = new_histogram()
    if text:
        histogram.decode_and_add(text.encode("ascii"))
    return histogram
