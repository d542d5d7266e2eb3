"""Profile a sample: volume, rates, key popularity, and the hit rates a cache could reach.

Pure: :func:`profile_sample` takes an Arrow table, a pandas DataFrame or a
:class:`~warmer.sample.source.SampleSource` with the sample columns and returns a frozen
:class:`SampleProfile`; no clock is touched. The figures and how each is computed:

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
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from warmer.errors import InputError
from warmer.sample._keyhash import hash_strings
from warmer.sample.source import SampleSource
from warmer.sample.split import time_cutoff

if TYPE_CHECKING:
    import pandas as pd

ZIPF_MIN_COUNT = 5
"""Keys with fewer requests are left out of the Zipf fit."""
ZIPF_MAX_RANK = 1000
"""The Zipf fit never goes past this rank."""
CACHEABLE_METHODS = ("GET", "HEAD")

COLUMNS = ["ts", "method", "key", "status", "response_bytes", "cache_status"]
"""The sample columns profiling reads (the others are never loaded)."""


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
    frame: pa.Table | pd.DataFrame | SampleSource,
    *,
    warm_fraction: float = 0.8,
    top: int = 10,
    cacheable_methods: Sequence[str] = CACHEABLE_METHODS,
) -> SampleProfile:
    """Profile ``frame`` (needs ``ts``, ``method``, ``key``; uses the optional columns).

    A :class:`~warmer.sample.source.SampleSource` is read in passes of Arrow batches (the
    time bounds, then everything else, then the top keys' names), holding one row per
    distinct key — its 64-bit hash and five counts, never its text — and never the whole
    sample: memory grows with the keys, not the requests, by about 50 bytes a key.
    """
    source = frame if isinstance(frame, SampleSource) else SampleSource.from_table(_as_table(frame))
    first = _first_pass(source)
    if first.requests == 0:
        raise InputError("the sample holds no requests", "import some traffic into it first")
    totals = _Totals(first, warm_fraction, cacheable_methods)
    for batch in source.batches(COLUMNS):
        totals.add(batch)
    return totals.profile(top, source)


def _as_table(frame: pa.Table | pd.DataFrame) -> pa.Table:
    if isinstance(frame, pa.Table):
        return frame
    return pa.Table.from_pandas(frame, preserve_index=False)


@dataclass
class _Bounds:
    """What the first pass learns: the time span and whether statuses were recorded."""

    requests: int = 0
    start: float = math.inf
    end: float = -math.inf
    has_status: bool = False


def _first_pass(source: SampleSource) -> _Bounds:
    bounds = _Bounds()
    for batch in source.batches(["ts", "status"]):
        low_high = pc.min_max(batch.column("ts")).as_py()
        bounds.requests += batch.num_rows
        bounds.start = min(bounds.start, float(low_high["min"]))
        bounds.end = max(bounds.end, float(low_high["max"]))
        bounds.has_status = bounds.has_status or batch.column("status").null_count < batch.num_rows
    return bounds


_KEY_AGGREGATES = [
    ("requests", "sum"),
    ("cacheable", "sum"),
    ("warm", "sum"),
    ("verify_cacheable", "sum"),
    ("size", "max"),
]
_COMPACT_ROWS = 1_000_000


class _Totals:
    """The second pass: counts by method, status, second and cache status, and per key."""

    def __init__(self, bounds: _Bounds, warm_fraction: float, methods: Sequence[str]) -> None:
        self.bounds = bounds
        self.warm_fraction = warm_fraction
        self.methods = pa.array(list(methods))
        self.split = bounds.end > bounds.start
        self.cutoff = time_cutoff(bounds.start, bounds.end, warm_fraction) if self.split else 0.0
        self.seconds: Counter[int] = Counter()
        self.by_method: Counter[str] = Counter()
        self.by_status: Counter[str] = Counter()
        self.by_cache: Counter[str] = Counter()
        self.has_cache_status = False
        self.parts: list[pa.Table] = []
        self.part_rows = 0
        self.warm_requests = 0
        self.cacheable_requests = 0
        self.verify_cacheable = 0

    def add(self, batch: pa.RecordBatch) -> None:
        ts = batch.column("ts")
        start = math.floor(self.bounds.start)
        seconds, counts = np.unique((ts.to_numpy() - start).astype(np.int64), return_counts=True)
        self.seconds.update(dict(zip(seconds.tolist(), counts.tolist(), strict=True)))
        _count_into(self.by_method, batch.column("method"))
        _count_into(self.by_status, batch.column("status"))
        cache = batch.column("cache_status")
        self.has_cache_status = self.has_cache_status or cache.null_count < batch.num_rows
        _count_into(self.by_cache, cache)
        self._add_keys(batch)

    def _add_keys(self, batch: pa.RecordBatch) -> None:
        cacheable = _cacheable_mask(batch, self.methods)
        warm = pc.less(batch.column("ts"), self.cutoff)
        verify_cacheable = pc.and_(cacheable, pc.invert(warm))
        self.warm_requests += int(pc.sum(warm).as_py() or 0)
        self.cacheable_requests += int(pc.sum(cacheable).as_py() or 0)
        self.verify_cacheable += int(pc.sum(verify_cacheable).as_py() or 0)
        per_key = pa.table(
            {
                # The key's hash stands for it: a long sample's distinct keys are what a
                # profile holds, and their text is most of that (names: _top_names).
                "key": pa.array(hash_strings(batch.column("key")), pa.uint64()),
                "requests": pa.array(np.ones(batch.num_rows, dtype=np.int64)),
                "cacheable": pc.cast(cacheable, pa.int64()),
                "warm": pc.cast(warm, pa.int64()),
                "verify_cacheable": pc.cast(verify_cacheable, pa.int64()),
                "size": self._sizes(batch),
            }
        )
        self.parts.append(_aggregate(per_key))
        self.part_rows += self.parts[-1].num_rows
        if self.part_rows > _COMPACT_ROWS and len(self.parts) > 1:
            self.parts = [_aggregate(pa.concat_tables(self.parts))]
            self.part_rows = self.parts[0].num_rows

    def _sizes(self, batch: pa.RecordBatch) -> pa.Array:
        """Response sizes that describe an object: 2xx responses when statuses exist."""
        sizes = batch.column("response_bytes")
        if not self.bounds.has_status:
            return sizes
        status = batch.column("status")
        ok = pc.and_(pc.greater_equal(status, 200), pc.less(status, 300))
        return pc.if_else(pc.fill_null(ok, False), sizes, pa.scalar(None, pa.int64()))

    def keys(self) -> pa.Table:
        """One row per distinct key: its requests, cacheable, warm and verify counts, size."""
        return _aggregate(pa.concat_tables(self.parts))

    def profile(self, top: int, source: SampleSource) -> SampleProfile:
        bounds = self.bounds
        keys = self.keys()
        order = pc.sort_indices(keys, sort_keys=[("requests", "descending"), ("key", "ascending")])
        counts = keys.column("requests").take(order).to_numpy()
        requests = bounds.requests
        top_keys = _top_names(keys, counts, order, top, source)
        one_hit = int((counts == 1).sum())
        return SampleProfile(
            requests=requests,
            start_ts=bounds.start,
            end_ts=bounds.end,
            span_s=bounds.end - bounds.start,
            mean_rate=requests / (bounds.end - bounds.start) if self.split else 0.0,
            peak_rate=max(self.seconds.values()),
            methods=_sorted_counts(self.by_method),
            statuses=_sorted_counts(self.by_status) if bounds.has_status else None,
            unique_keys=keys.num_rows,
            top_keys=tuple(
                KeyShare(key=k, requests=c, share=float(c) / requests) for k, c in top_keys
            ),
            zipf=fit_zipf(counts),
            one_hit_key_share=float(one_hit / len(counts)),
            one_hit_request_share=float(one_hit / requests),
            cacheable_requests=self.cacheable_requests,
            infinite_cache_ceiling=self._infinite_ceiling(keys),
            split=self._split(keys),
            object_sizes=_object_sizes(keys.column("size")),
            cache_statuses=_sorted_counts(self.by_cache) if self.has_cache_status else None,
        )

    def _infinite_ceiling(self, keys: pa.Table) -> float | None:
        if not self.cacheable_requests:
            return None
        unique = int(pc.sum(pc.greater(keys.column("cacheable"), 0)).as_py() or 0)
        return 1.0 - unique / self.cacheable_requests

    def _split(self, keys: pa.Table) -> WarmSplit | None:
        if not self.split:
            return None
        ceiling = None
        if self.verify_cacheable:
            warmed = pc.greater(keys.column("warm"), 0)
            seen = pc.sum(pc.if_else(warmed, keys.column("verify_cacheable"), 0)).as_py()
            ceiling = float(seen or 0) / self.verify_cacheable
        return WarmSplit(
            warm_fraction=self.warm_fraction,
            cutoff_ts=self.cutoff,
            warm_requests=self.warm_requests,
            verify_requests=self.bounds.requests - self.warm_requests,
            verify_cacheable=self.verify_cacheable,
            warmable_ceiling=ceiling,
        )


_TIES_NAMED = 10_000
"""At most this many keys tied with the last of the top keys are named to break the tie
by name; past it (a sample of single sightings), the tie is broken by hash."""


def _top_names(
    keys: pa.Table, counts: np.ndarray[Any, Any], order: pa.Array, top: int, source: SampleSource
) -> list[tuple[str, int]]:
    """The ``top`` most requested keys by name with their counts, most requested first and
    ties by name, from one more pass over the sample's keys (only hashes were kept)."""
    if top <= 0 or not len(counts):
        return []
    last = int(counts[min(top, len(counts)) - 1])
    ahead = int((counts > last).sum())
    tied = int((counts == last).sum())
    wanted = order[: min(top, len(counts)) if tied > _TIES_NAMED else ahead + tied]
    hashes = keys.column("key").take(wanted).to_numpy()
    named: dict[int, str] = {}
    for batch in source.batches(["key"]):
        column = batch.column("key")
        batch_hashes = hash_strings(column)
        found = np.flatnonzero(np.isin(batch_hashes, hashes))
        names = column.take(pa.array(found)).to_pylist()
        for digest, name in zip(batch_hashes[found].tolist(), names, strict=True):
            named.setdefault(digest, "" if name is None else name)
    requests = keys.column("requests").take(wanted).to_pylist()
    ranked = sorted(
        ((named[int(h)], int(n)) for h, n in zip(hashes.tolist(), requests, strict=True)),
        key=lambda kv: (-kv[1], kv[0]),
    )
    return ranked[:top]


def _aggregate(table: pa.Table) -> pa.Table:
    grouped = table.group_by("key", use_threads=False).aggregate(_KEY_AGGREGATES)
    names = {f"{column}_{how}": column for column, how in _KEY_AGGREGATES}
    return grouped.rename_columns([names.get(n, n) for n in grouped.column_names])


def _count_into(counter: Counter[str], column: pa.Array) -> None:
    counted = pc.value_counts(column.drop_null())
    values = counted.field("values").to_pylist()
    counter.update(
        {str(v): int(c) for v, c in zip(values, counted.field("counts").to_pylist(), strict=True)}
    )


def _sorted_counts(counter: Counter[str]) -> dict[str, int]:
    return dict(sorted(counter.items(), key=lambda kv: (-kv[1], kv[0])))


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


def _cacheable_mask(batch: pa.RecordBatch, methods: pa.Array) -> pa.Array:
    mask = pc.is_in(pc.utf8_upper(batch.column("method")), value_set=methods)
    bypass = pc.equal(pc.utf8_upper(batch.column("cache_status")), "BYPASS")
    return pc.and_(mask, pc.invert(pc.fill_null(bypass, False)))


def _object_sizes(per_key: pa.ChunkedArray) -> SizeStats | None:
    sizes = per_key.drop_null().to_numpy()
    if sizes.size == 0:
        return None
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
