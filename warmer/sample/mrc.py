"""Miss-ratio curves of a sample for an LRU cache: exact stack distances or fixed-size SHARDS.

A miss-ratio curve (MRC) gives, for every cache size, the share of cacheable requests an
LRU cache of that size misses when it serves the sample from cold: what size a tier must
be for a 90 % hit rate on this traffic. One pass of LRU stack distances gives every size at
once (``_stack.py``); by object count, and by bytes when response sizes were recorded.

* **exact** — every reference's stack distance (Mattson et al., 1970). Chosen by default
  up to ``EXACT_MAX_REQUESTS`` requests.
* **SHARDS** (Waldspurger et al., FAST '15), the *fixed-size* variant — only references
  whose key hash falls under a threshold are tracked, at most ``max_keys`` distinct keys;
  when a new key would exceed that, the threshold drops to keep the ``max_keys``
  smallest hashes, and the counts gathered so far are rescaled to the new rate. A sampled
  distance ``d`` at rate ``R`` stands for ``d / R``. The first bucket is corrected by the
  difference between the expected and the actual number of sampled references
  (SHARDS\\ :sub:`adj`). Memory is fixed by ``max_keys`` whatever the sample's size.

The sample is read once, batch by batch (:meth:`SampleSource.batches`): memory holds the
LRU stack (at most ``max_keys`` keys for SHARDS), a chunk of references being resolved and
two histograms over a fixed grid of sizes (every integer up to 1 024 objects, then steps of
0.5 %), never the sample. Only cacheable requests count: the methods in
``cacheable_methods`` whose recorded cache status is not ``BYPASS``, as for the sample's
hit-rate ceilings.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from warmer.errors import UsageError
from warmer.sample._keyhash import hash_strings
from warmer.sample._stack import last_occurrences, stack_distances
from warmer.sample.source import SampleSource

if TYPE_CHECKING:
    from warmer.model.run import MrcPoint

Array = np.ndarray[Any, Any]
Method = Literal["auto", "exact", "shards"]

EXACT_MAX_REQUESTS = 1_000_000
"""``auto`` computes exact curves for samples up to this many requests, SHARDS above."""
SHARDS_KEYS = 16_384
"""Distinct keys fixed-size SHARDS tracks at most (its memory bound)."""
TARGETS = (0.8, 0.9, 0.95, 0.99)
"""Hit rates whose cache size ``warmer sample inspect --mrc`` reports."""

_COLUMNS = ["key", "method", "cache_status", "response_bytes"]
_CHUNK = 16_384
_EXACT_CHUNK = 1 << 20
_FULL = (1 << 64) - 1


def _grid(first_step: int, ratio: float, top: float) -> Array:
    """Sizes 1..first_step, then growing by ``ratio`` up to ``top`` (integers, increasing)."""
    head = np.arange(1, first_step + 1, dtype=np.float64)
    count = int(math.log(top / first_step) / math.log(ratio)) + 1
    tail = np.ceil(first_step * ratio ** np.arange(1, count + 1))
    return np.unique(np.concatenate([head, tail]))


OBJECT_GRID = _grid(1024, 1.005, 2.0**42)
"""Cache sizes (objects) at which curves are evaluated."""
BYTE_GRID = _grid(1024, 1.005, 2.0**52)
"""Cache sizes (bytes) at which curves are evaluated."""


@dataclass(frozen=True)
class MissRatioCurve:
    """LRU miss ratio by cache size: ``miss_ratios[i]`` at ``sizes[i]`` (step function).

    ``sizes`` grow; the curve is flat after the last size (every later miss is a first
    reference). ``unit`` is ``objects`` or ``bytes``.
    """

    unit: Literal["objects", "bytes"]
    sizes: tuple[float, ...]
    miss_ratios: tuple[float, ...]

    def miss_ratio(self, size: float) -> float:
        """Miss ratio of a cache of ``size`` (the value at the largest grid size <= size)."""
        index = int(np.searchsorted(self.sizes, size, "right")) - 1
        return 1.0 if index < 0 else self.miss_ratios[min(index, len(self.sizes) - 1)]

    def hit_rate(self, size: float) -> float:
        """1 - miss ratio: the hit rate an LRU cache of ``size`` reaches on the sample."""
        return 1.0 - self.miss_ratio(size)

    def size_for(self, hit_rate: float) -> float | None:
        """The smallest size whose hit rate reaches ``hit_rate``; None when none does."""
        misses = np.asarray(self.miss_ratios)
        reached = np.flatnonzero(1.0 - misses >= hit_rate - 1e-12)
        return None if reached.size == 0 else self.sizes[int(reached[0])]

    @property
    def floor(self) -> float:
        """The miss ratio of an infinite cache (first references only)."""
        return self.miss_ratios[-1] if self.miss_ratios else 1.0

    def points(self, max_points: int = 500) -> list[tuple[float, float]]:
        """At most ``max_points`` (size, miss ratio) pairs spread evenly on a log scale."""
        n = len(self.sizes)
        if n <= max_points:
            return list(zip(self.sizes, self.miss_ratios, strict=True))
        picks = np.unique(np.geomspace(1, n, max_points).astype(np.int64) - 1)
        return [(self.sizes[i], self.miss_ratios[i]) for i in picks.tolist()]


@dataclass(frozen=True)
class MissRatioCurves:
    """The sample's curves: by objects always, by bytes when response sizes are known."""

    objects: MissRatioCurve
    bytes: MissRatioCurve | None
    method: Literal["exact", "shards"]
    requests: int
    """Cacheable requests the curves describe."""
    sampling_rate: float = 1.0
    """Share of the key space SHARDS tracked at the end (1 for exact curves)."""
    sampled_keys: int = 0
    """Distinct keys in the LRU stack at the end."""
    targets: dict[str, dict[str, float | None]] = field(default_factory=dict)
    """``{"objects": {"0.9": size, ...}, "bytes": ...}``: sizes for the ``TARGETS``."""

    def to_dict(self, max_points: int = 200) -> dict[str, Any]:
        """JSON-ready summary with at most ``max_points`` points per curve."""
        curves = {"objects": self.objects, "bytes": self.bytes}
        return {
            "method": self.method,
            "requests": self.requests,
            "sampling_rate": self.sampling_rate,
            "sampled_keys": self.sampled_keys,
            "targets": self.targets,
            "curves": {
                unit: None if curve is None else curve.points(max_points)
                for unit, curve in curves.items()
            },
        }

    def report_points(self, max_points: int = 500) -> tuple[MrcPoint, ...]:
        """The object curve as the run report's :class:`~warmer.model.run.MrcPoint` s."""
        from warmer.model.run import MrcPoint

        return tuple(MrcPoint(int(s), float(m)) for s, m in self.objects.points(max_points))


def miss_ratio_curves(
    sample: SampleSource | pa.Table,
    *,
    method: Method = "auto",
    max_keys: int = SHARDS_KEYS,
    cacheable_methods: Sequence[str] = ("GET", "HEAD"),
) -> MissRatioCurves:
    """The LRU miss-ratio curves of ``sample``'s cacheable requests (see the module doc)."""
    source = sample if isinstance(sample, SampleSource) else SampleSource.from_table(sample)
    chosen = _choose(method, source)
    if max_keys < 16:
        raise UsageError("the SHARDS key budget must be at least 16")
    tracker = _Tracker(None if chosen == "exact" else max_keys)
    methods = pa.array([m.upper() for m in cacheable_methods])
    for batch in source.batches(_COLUMNS):
        keys, sizes = _cacheable(batch, methods)
        if len(keys):
            tracker.add(hash_strings(keys), sizes)
    return tracker.finish(chosen)


def _choose(method: Method, source: SampleSource) -> Literal["exact", "shards"]:
    if method == "exact" or method == "shards":
        return method
    if method != "auto":
        raise UsageError(f"unknown MRC method {method!r}", "choose auto, exact or shards")
    rows = source.rows if source.rows is not None else source.count()
    return "exact" if rows <= EXACT_MAX_REQUESTS else "shards"


def _cacheable(batch: pa.RecordBatch, methods: pa.Array) -> tuple[pa.Array, Array | None]:
    mask = pc.is_in(pc.utf8_upper(batch.column("method")), value_set=methods)
    bypass = pc.equal(pc.utf8_upper(batch.column("cache_status")), "BYPASS")
    mask = pc.and_(mask, pc.invert(pc.fill_null(bypass, False)))
    keys = batch.column("key").filter(mask)
    sizes = batch.column("response_bytes").filter(mask)
    if sizes.null_count == len(sizes):
        return keys, None
    values = np.asarray(sizes.to_numpy(zero_copy_only=False), dtype=np.float64)
    return keys, values  # NaN where a size is missing; filled by the tracker


class _Histogram:
    """Weighted counts of distances on a fixed grid (a distance counts at the first size >= it)."""

    def __init__(self, grid: Array) -> None:
        self.grid = grid
        self.counts = np.zeros(len(grid) + 1, dtype=np.float64)

    def add(self, distances: Array) -> None:
        slots = np.searchsorted(self.grid, distances, "left")
        self.counts += np.bincount(slots, minlength=len(self.counts))

    def curve(self, unit: Any, expected: float, adjust: float) -> MissRatioCurve:
        hits = np.cumsum(self.counts[:-1]) + adjust
        misses = 1.0 - hits / expected if expected > 0 else np.ones(len(self.grid))
        misses = np.minimum.accumulate(np.clip(misses, 0.0, 1.0))
        last = int(np.flatnonzero(self.counts[:-1])[-1]) + 1 if self.counts[:-1].any() else 1
        last = min(last + 1, len(self.grid))
        return MissRatioCurve(unit, tuple(self.grid[:last].tolist()), tuple(misses[:last].tolist()))


class _Tracker:
    """Streams references into the histograms; ``max_keys`` None tracks every key (exact)."""

    def __init__(self, max_keys: int | None) -> None:
        self.max_keys = max_keys
        self.limit = _FULL
        """Keys whose hash is at most this are sampled."""
        self.stack_ids = np.zeros(0, dtype=np.uint64)
        self.stack_sizes = np.zeros(0, dtype=np.float64)
        self.pending: list[tuple[Array, Array | None]] = []
        self.pending_rows = 0
        self.objects = _Histogram(OBJECT_GRID)
        self.bytes: _Histogram | None = _Histogram(BYTE_GRID)
        self.requests = 0
        self.expected = 0.0
        """Sampled references expected at the current rate (N·R, rescaled with the rate)."""
        self.sampled = 0.0
        self.size_total = 0.0
        self.size_count = 0

    @property
    def rate(self) -> float:
        return (self.limit + 1) / 2.0**64

    def add(self, hashes: Array, sizes: Array | None) -> None:
        self.requests += len(hashes)
        self.expected += len(hashes) * self.rate
        sizes = self._fill_sizes(sizes, len(hashes))
        if self.limit != _FULL:
            keep = hashes <= np.uint64(self.limit)
            hashes = hashes[keep]
            sizes = None if sizes is None else sizes[keep]
        self.pending.append((hashes, sizes))
        self.pending_rows += len(hashes)
        floor = _EXACT_CHUNK if self.max_keys is None else _CHUNK
        if self.pending_rows >= max(len(self.stack_ids), floor):
            self._resolve()

    def _fill_sizes(self, sizes: Array | None, n: int) -> Array | None:
        if self.bytes is None:
            return None
        if sizes is None:
            self.bytes = None  # a batch without sizes: no byte curve
            return None
        known = ~np.isnan(sizes)
        self.size_total += float(sizes[known].sum())
        self.size_count += int(known.sum())
        if not known.all():
            mean = self.size_total / self.size_count if self.size_count else 0.0
            sizes = np.where(known, sizes, mean)
        return sizes

    def _resolve(self) -> None:
        if not self.pending:
            return
        ids = np.concatenate([h for h, _ in self.pending])
        sizes = None
        if self.bytes is not None and all(s is not None for _, s in self.pending):
            sizes = np.concatenate([s for _, s in self.pending if s is not None])
        self.pending, self.pending_rows = [], 0
        ids, sizes = self._evict(ids, sizes)
        self._distances(ids, sizes)

    def _evict(self, ids: Array, sizes: Array | None) -> tuple[Array, Array | None]:
        """Lower the threshold so at most ``max_keys`` distinct keys stay sampled."""
        if self.max_keys is None:
            return ids, sizes
        union = np.unique(np.concatenate([self.stack_ids, ids]))
        if len(union) <= self.max_keys:
            return ids, sizes
        old_rate = self.rate
        self.limit = int(union[self.max_keys - 1])
        scale = self.rate / old_rate
        for histogram in (self.objects, self.bytes):
            if histogram is not None:
                histogram.counts *= scale
        self.expected *= scale
        self.sampled *= scale
        keep = self.stack_ids <= np.uint64(self.limit)
        self.stack_ids, self.stack_sizes = self.stack_ids[keep], self.stack_sizes[keep]
        kept = ids <= np.uint64(self.limit)
        return ids[kept], None if sizes is None else sizes[kept]

    def _distances(self, ids: Array, sizes: Array | None) -> None:
        prefix = len(self.stack_ids)
        sequence = np.concatenate([self.stack_ids, ids])
        all_sizes = None if sizes is None else np.concatenate([self.stack_sizes, sizes])
        found = stack_distances(sequence, all_sizes)
        new = found.positions >= prefix
        rate = self.rate
        self.objects.add(found.objects[new] / rate)
        if self.bytes is not None and found.bytes is not None:
            self.bytes.add(found.bytes[new] / rate)
        self.sampled += len(ids)
        last = last_occurrences(sequence)
        self.stack_ids = sequence[last]
        if all_sizes is not None:
            self.stack_sizes = all_sizes[last]
        else:
            self.stack_sizes = np.zeros(len(last), dtype=np.float64)

    def finish(self, method: Literal["exact", "shards"]) -> MissRatioCurves:
        self._resolve()
        adjust = self.expected - self.sampled  # SHARDS_adj: 0 for exact curves
        objects = self.objects.curve("objects", self.expected, adjust)
        by_bytes = None
        if self.bytes is not None and self.size_count:
            by_bytes = self.bytes.curve("bytes", self.expected, adjust)
        return MissRatioCurves(
            objects=objects,
            bytes=by_bytes,
            method=method,
            requests=self.requests,
            sampling_rate=self.rate,
            sampled_keys=len(self.stack_ids),
            targets=_targets(objects, by_bytes),
        )


def _targets(
    objects: MissRatioCurve, by_bytes: MissRatioCurve | None
) -> dict[str, dict[str, float | None]]:
    found = {"objects": {f"{t:g}": objects.size_for(t) for t in TARGETS}}
    if by_bytes is not None:
        found["bytes"] = {f"{t:g}": by_bytes.size_for(t) for t in TARGETS}
    return found


def mean_absolute_error(
    curve: MissRatioCurve, reference: MissRatioCurve, *, points: int = 100
) -> float:
    """Mean |miss ratio difference| at ``points`` sizes spread evenly up to the larger of the
    two curves' last sizes (how SHARDS is usually judged against the exact curve)."""
    top = max(curve.sizes[-1], reference.sizes[-1])
    sizes = np.linspace(top / points, top, points)
    return float(np.mean([abs(curve.miss_ratio(s) - reference.miss_ratio(s)) for s in sizes]))
