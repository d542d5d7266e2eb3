"""Profile a sample: volume, rates, key popularity, and the hit rates a cache could reach.

Pure: :func:`profile_sample` takes an Arrow table (or a pandas DataFrame) with the sample
columns and returns a frozen :class:`SampleProfile`; no file or clock is touched. The
figures and how each is computed:

* **rates** — mean = requests / time span; peak = most requests in one whole second
  (buckets ``floor(ts)``).
* **Zipf exponent** — least-squares slope of ``log(count)`` against ``log(rank)`` over the
  head of the popularity curve: ranks 1..R where R is the last rank whose key has at least
  ``ZIPF_MIN_COUNT`` requests, capped at ``ZIPF_MAX_RANK`` (the tail of single sightings
  would flatten the slope). Reported with the ranks used; absent below 3 ranks.
* **one-hit wonders** — keys requested exactly once, as a share of keys and of requests.
* **infinite-cache ceiling** — ``1 − unique keys / requests`` over *cacheable* requests:
  methods in ``cacheable_methods`` whose production cache status (when recorded) is not
  ``BYPASS``. No finite cache, cold at the start, can do better.
* **warmable ceiling** — after :func:`warmer.sample.split.split_by_time`, the share of
  cacheable verify requests whose key occurs in the warm part: the best hit rate a cache
  warmed with the warm part can show on the verify part before it caches anything new.
* **object sizes** — per key, the largest recorded ``response_bytes`` (2xx responses when
  statuses exist); percentiles across keys and their sum (the working set).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from warmer.errors import InputError
from warmer.sample.split import split_by_time

if TYPE_CHECKING:
    import pandas as pd

ZIPF_MIN_COUNT = 5
"""Keys with fewer requests are left out of the Zipf fit."""
ZIPF_MAX_RANK = 1000
"""The Zipf fit never goes past this rank."""
CACHEABLE_METHODS = ("GET", "HEAD")

COLUMNS = ["ts", "method", "key", "status", "response_bytes", "cache_status"]
"""The sample columns profiling reads (callers may load only these)."""


@dataclass(frozen=True)
class KeyShare:
    """One popular key."""

    key: str
    requests: int
    share: float
    """Of all requests."""


@dataclass(frozen=True)
class ZipfFit:
    """A Zipf exponent fitted over ranks ``rank_from..rank_to``."""

    exponent: float
    rank_from: int
    rank_to: int
    r_squared: float


@dataclass(frozen=True)
class SizeStats:
    """Distribution of object sizes in bytes, one value per key."""

    objects: int
    mean: float
    p50: float
    p90: float
    p99: float
    max: int
    working_set_bytes: int
    """Sum over keys: what a cache needs to hold every object once."""


@dataclass(frozen=True)
class WarmSplit:
    """The warm/verify split and the verify part's warmable ceiling."""

    warm_fraction: float
    cutoff_ts: float
    warm_requests: int
    verify_requests: int
    verify_cacheable: int
    warmable_ceiling: float | None
    """Share of cacheable verify requests whose key occurs in the warm part."""


@dataclass(frozen=True)
class SampleProfile:
    """Everything ``warmer sample inspect`` reports about a sample."""

    requests: int
    start_ts: float
    end_ts: float
    span_s: float
    mean_rate: float
    """Requests per second over the span (0 for a zero span)."""
    peak_rate: int
    """Most requests in one whole second."""
    methods: dict[str, int]
    statuses: dict[str, int] | None
    """Status code → requests; None when the source had no statuses."""
    unique_keys: int
    top_keys: tuple[KeyShare, ...]
    zipf: ZipfFit | None
    one_hit_key_share: float
    one_hit_request_share: float
    cacheable_requests: int
    infinite_cache_ceiling: float | None
    split: WarmSplit | None
    """None when the sample spans no time."""
    object_sizes: SizeStats | None
    cache_statuses: dict[str, int] | None
    """Production cache status → requests; None when the source had none."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form (``json.dumps`` works on it as is)."""
        return dataclasses.asdict(self)


def profile_sample(
    frame: pa.Table | pd.DataFrame,
    *,
    warm_fraction: float = 0.8,
    top: int = 10,
    cacheable_methods: Sequence[str] = CACHEABLE_METHODS,
) -> SampleProfile:
    """Profile ``frame`` (needs ``ts``, ``method``, ``key``; uses the optional columns)."""
    table = _as_table(frame)
    if table.num_rows == 0:
        raise InputError("the sample holds no requests", "import some traffic into it first")
    ts = table.column("ts").to_numpy()
    start, end = float(ts.min()), float(ts.max())
    keys, counts = _key_counts(table.column("key"))
    cacheable = _cacheable_mask(table, cacheable_methods)
    return SampleProfile(
        requests=table.num_rows,
        start_ts=start,
        end_ts=end,
        span_s=end - start,
        mean_rate=table.num_rows / (end - start) if end > start else 0.0,
        peak_rate=int(np.bincount((ts - math.floor(start)).astype(np.int64)).max()),
        methods=_value_counts(table.column("method")),
        statuses=_optional_counts(table, "status"),
        unique_keys=len(keys),
        top_keys=_top_keys(keys, counts, top, table.num_rows),
        zipf=fit_zipf(counts),
        one_hit_key_share=float((counts == 1).sum() / len(counts)),
        one_hit_request_share=float((counts == 1).sum() / table.num_rows),
        cacheable_requests=int(pc.sum(cacheable).as_py() or 0),
        infinite_cache_ceiling=_ceiling(table.filter(cacheable)),
        split=_split(table, cacheable, warm_fraction),
        object_sizes=_object_sizes(table),
        cache_statuses=_optional_counts(table, "cache_status"),
    )


def _as_table(frame: pa.Table | pd.DataFrame) -> pa.Table:
    if isinstance(frame, pa.Table):
        return frame
    return pa.Table.from_pandas(frame, preserve_index=False)


def _key_counts(column: pa.ChunkedArray) -> tuple[list[str], np.ndarray[Any, Any]]:
    """Distinct keys and their counts, most requested first (ties by key)."""
    counted = pc.value_counts(column)
    keys = counted.field("values").to_pylist()
    counts = counted.field("counts").to_numpy()
    order = sorted(range(len(keys)), key=lambda i: (-counts[i], keys[i]))
    return [keys[i] for i in order], counts[order]


def _top_keys(
    keys: list[str], counts: np.ndarray[Any, Any], top: int, total: int
) -> tuple[KeyShare, ...]:
    return tuple(
        KeyShare(key=k, requests=int(c), share=float(c) / total)
        for k, c in zip(keys[:top], counts[:top], strict=True)
    )


def fit_zipf(counts: np.ndarray[Any, Any]) -> ZipfFit | None:
    """Fit ``log(count) = a − s·log(rank)`` over the head; ``counts`` sorted descending."""
    head = int(min((counts >= ZIPF_MIN_COUNT).sum(), ZIPF_MAX_RANK))
    if head < 3:
        return None
    x = np.log(np.arange(1, head + 1, dtype=float))
    y = np.log(counts[:head].astype(float))
    slope, intercept = np.polyfit(x, y, 1)
    residual = y - (slope * x + intercept)
    spread = ((y - y.mean()) ** 2).sum()
    r_squared = 1.0 - float((residual**2).sum() / spread) if spread > 0 else 1.0
    return ZipfFit(exponent=float(-slope), rank_from=1, rank_to=head, r_squared=r_squared)


def _cacheable_mask(table: pa.Table, methods: Sequence[str]) -> pa.ChunkedArray:
    mask = pc.is_in(pc.utf8_upper(table.column("method")), value_set=pa.array(list(methods)))
    if "cache_status" in table.column_names:
        bypass = pc.equal(pc.utf8_upper(table.column("cache_status")), "BYPASS")
        mask = pc.and_(mask, pc.invert(pc.fill_null(bypass, False)))
    return mask


def _ceiling(cacheable: pa.Table) -> float | None:
    if cacheable.num_rows == 0:
        return None
    unique = len(pc.unique(cacheable.column("key")))
    return 1.0 - unique / int(cacheable.num_rows)


def _split(table: pa.Table, cacheable: pa.ChunkedArray, warm_fraction: float) -> WarmSplit | None:
    ts = table.column("ts")
    start, end = pc.min_max(ts).as_py().values()
    if not end > start:
        return None
    marked = table.append_column("_cacheable", cacheable)
    warm, verify = split_by_time(marked, warm_fraction)
    verify_cacheable = verify.filter(verify.column("_cacheable"))
    ceiling = None
    if verify_cacheable.num_rows:
        seen = pc.is_in(verify_cacheable.column("key"), value_set=pc.unique(warm.column("key")))
        ceiling = float(pc.sum(seen).as_py() or 0) / verify_cacheable.num_rows
    return WarmSplit(
        warm_fraction=warm_fraction,
        cutoff_ts=start + warm_fraction * (end - start),
        warm_requests=warm.num_rows,
        verify_requests=verify.num_rows,
        verify_cacheable=verify_cacheable.num_rows,
        warmable_ceiling=ceiling,
    )


def _value_counts(column: pa.ChunkedArray) -> dict[str, int]:
    counted = pc.value_counts(column.drop_null())
    pairs = zip(
        counted.field("values").to_pylist(), counted.field("counts").to_pylist(), strict=True
    )
    return {str(v): int(c) for v, c in sorted(pairs, key=lambda p: (-p[1], str(p[0])))}


def _optional_counts(table: pa.Table, name: str) -> dict[str, int] | None:
    if name not in table.column_names or table.column(name).null_count == table.num_rows:
        return None
    return _value_counts(table.column(name))


def _object_sizes(table: pa.Table) -> SizeStats | None:
    if "response_bytes" not in table.column_names:
        return None
    rows = table.filter(pc.is_valid(table.column("response_bytes")))
    if "status" in rows.column_names and rows.column("status").null_count < rows.num_rows:
        status = rows.column("status")
        rows = rows.filter(pc.and_(pc.greater_equal(status, 200), pc.less(status, 300)))
    if rows.num_rows == 0:
        return None
    per_key = rows.group_by("key").aggregate([("response_bytes", "max")])
    sizes = per_key.column("response_bytes_max").to_numpy()
    p50, p90, p99 = np.percentile(sizes, [50, 90, 99])
    return SizeStats(
        objects=len(sizes),
        mean=float(sizes.mean()),
        p50=float(p50),
        p90=float(p90),
        p99=float(p99),
        max=int(sizes.max()),
        working_set_bytes=int(sizes.sum()),
    )
