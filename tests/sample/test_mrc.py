"""Miss-ratio curves: stack distances against a real LRU, SHARDS against exact, the key hash."""

from __future__ import annotations

import os
import random
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from warmer.model.sample import SampleMeta
from warmer.sample import _keyhash
from warmer.sample._stack import earlier_greater, last_occurrences, stack_distances
from warmer.sample.mrc import (
    MissRatioCurve,
    mean_absolute_error,
    miss_ratio_curves,
)
from warmer.sample.source import SampleSource
from warmer.sample.store import SampleWriter

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "traffic_samples"

native = pytest.mark.skipif(
    _keyhash._native is None,
    reason="the C key hash is off (not built: no C compiler; or WARMER_NO_NATIVE)",
)


def _trace(n: int, keys: int, seed: int, exponent: float = 1.1) -> tuple[list[int], list[int]]:
    rng = np.random.default_rng(seed)
    ids = (rng.zipf(exponent, n) % keys).tolist()
    sizes = [(i % 13 + 1) * 100 for i in ids]
    return ids, sizes


def _table(ids: list[int], sizes: list[int] | None = None, method: str = "GET") -> pa.Table:
    n = len(ids)
    return pa.table(
        {
            "ts": np.arange(n, dtype=float),
            "method": [method] * n,
            "key": [f"GET /k/{i}" for i in ids],
            "cache_status": pa.nulls(n, pa.string()),
            "response_bytes": pa.array(sizes, pa.int64()) if sizes else pa.nulls(n, pa.int64()),
        }
    )


def _lru_miss_ratio(ids: list[int], sizes: list[int], capacity: float, by_bytes: bool) -> float:
    """A real LRU cache (an OrderedDict), the reference the curves must agree with."""
    cache: OrderedDict[int, int] = OrderedDict()
    used = hits = 0
    for key, size in zip(ids, sizes, strict=True):
        if key in cache:
            hits += 1
            cache.move_to_end(key)
            continue
        cache[key] = size
        used += size if by_bytes else 1
        while used > capacity:
            _, dropped = cache.popitem(last=False)
            used -= dropped if by_bytes else 1
    return 1 - hits / len(ids)


# --------------------------------------------------------------------------- the core


def test_earlier_greater_counts_and_weights_like_brute_force() -> None:
    rng = np.random.default_rng(0)
    for m in (1, 2, 3, 7, 64, 1000):
        values = rng.permutation(m * 3)[:m]
        weights = rng.random(m)
        counts, totals = earlier_greater(values, weights)
        for t in range(m):
            earlier = values[:t] > values[t]
            assert counts[t] == earlier.sum()
            assert totals is not None
            assert totals[t] == pytest.approx(weights[:t][earlier].sum())


def test_stack_distances_are_the_lru_stack_depths() -> None:
    ids = np.array([1, 2, 1, 3, 2, 2, 1, 4, 3])
    found = stack_distances(ids)
    # 1 2 1 -> depth 2; 3; 2 -> {1,3} in between -> 3; 2 -> 1; 1 -> {2,3} -> 3; 4; 3 -> {2,1,4} -> 4
    assert found.positions.tolist() == [2, 4, 5, 6, 8]
    assert found.objects.tolist() == [2, 3, 1, 3, 4]
    assert last_occurrences(ids).tolist() == [5, 6, 7, 8]  # keys 2, 1, 4, 3 by recency


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_exact_curve_equals_a_real_lru_cache_by_objects_and_bytes(seed: int) -> None:
    ids, sizes = _trace(6000, 900, seed)
    curves = miss_ratio_curves(_table(ids, sizes), method="exact")
    assert curves.method == "exact" and curves.requests == 6000
    for capacity in (1, 2, 10, 57, 300, 1000):  # grid sizes: every integer up to 1 024
        assert curves.objects.miss_ratio(capacity) == pytest.approx(
            _lru_miss_ratio(ids, sizes, capacity, by_bytes=False)
        )
    assert curves.bytes is not None
    for capacity in (100, 1000):
        assert curves.bytes.miss_ratio(capacity) == pytest.approx(
            _lru_miss_ratio(ids, sizes, capacity, by_bytes=True)
        )
    # Between grid points the curve is never optimistic (a step at the size below).
    for capacity in (20_000, 150_000):
        assert curves.bytes.miss_ratio(capacity) >= _lru_miss_ratio(ids, sizes, capacity, True)


def test_streamed_exact_curve_equals_one_pass_over_the_whole_trace(tmp_path: Path) -> None:
    """Read batch by batch (the stack carried between chunks), the curve is the same."""
    ids, sizes = _trace(20_000, 3000, 7)
    table = _table(ids, sizes)
    path = tmp_path / "s.parquet"
    with SampleWriter(path) as writer:
        writer.write_batch(table.append_column("target", table["key"]))
        writer.close(SampleMeta())
    streamed = SampleSource.open(path, in_memory_rows=10)
    assert streamed.rows == 20_000
    from warmer.sample import mrc

    chunk = mrc._EXACT_CHUNK
    mrc._EXACT_CHUNK = 4096  # resolve several chunks, each after the stack of the last
    try:
        chunked = miss_ratio_curves(streamed, method="exact")
    finally:
        mrc._EXACT_CHUNK = chunk
    whole = miss_ratio_curves(table, method="exact")
    assert chunked.objects == whole.objects
    assert chunked.bytes is not None and whole.bytes is not None
    assert np.allclose(chunked.bytes.miss_ratios, whole.bytes.miss_ratios)


def test_only_cacheable_requests_count_and_sizes_may_be_missing() -> None:
    ids = [1, 1, 2, 2]
    table = _table(ids)
    table = table.set_column(1, "method", pa.array(["GET", "POST", "GET", "HEAD"]))
    curves = miss_ratio_curves(table)
    assert curves.requests == 3 and curves.bytes is None
    assert curves.objects.miss_ratio(10) == pytest.approx(2 / 3)
    bypass = table.set_column(3, "cache_status", pa.array([None, None, "BYPASS", None]))
    assert miss_ratio_curves(bypass).requests == 2


def test_curve_helpers() -> None:
    curve = MissRatioCurve("objects", (1.0, 2.0, 4.0, 8.0), (0.9, 0.5, 0.3, 0.2))
    assert curve.miss_ratio(0.5) == 1.0 and curve.miss_ratio(3) == 0.5
    assert curve.hit_rate(100) == pytest.approx(0.8) and curve.floor == 0.2
    assert curve.size_for(0.5) == 2.0 and curve.size_for(0.7) == 4.0
    assert curve.size_for(0.81) is None  # past the infinite-cache ceiling
    assert len(curve.points(3)) <= 3


# --------------------------------------------------------------------------- SHARDS


def _import(log: Path, tmp_path: Path) -> SampleSource:
    from warmer.sample.importer import import_logs

    out = tmp_path / f"{log.name}.parquet"
    import_logs([str(log)], out)
    return SampleSource.open(out)


@pytest.mark.parametrize("name", ["demo.jsonl.gz", "demo-access.log.gz", "demo.har.gz"])
def test_shards_is_within_one_point_of_exact_on_the_bundled_samples(
    name: str, tmp_path: Path
) -> None:
    path = SAMPLES / name
    source = SampleSource.open(path) if name.endswith(".jsonl.gz") else _import(path, tmp_path)
    exact = miss_ratio_curves(source, method="exact")
    # The bundled samples hold 4-11 thousand keys: a budget of 2 048 samples at most half
    # of them, so the test is of sampling, not of a curve that happened to be exact.
    sharded = miss_ratio_curves(source, method="shards", max_keys=2048)
    assert sharded.method == "shards" and sharded.sampling_rate < 0.55
    assert sharded.sampled_keys <= 2048
    assert mean_absolute_error(sharded.objects, exact.objects) <= 0.01
    assert sharded.bytes is not None and exact.bytes is not None
    assert mean_absolute_error(sharded.bytes, exact.bytes) <= 0.01


def test_shards_is_within_one_point_of_exact_on_a_zipf_trace() -> None:
    ids, sizes = _trace(400_000, 200_000, 11, exponent=1.05)
    table = _table(ids, sizes)
    exact = miss_ratio_curves(table, method="exact")
    sharded = miss_ratio_curves(table, method="shards", max_keys=4096)
    assert sharded.sampling_rate < 0.1  # ~ 4 096 of ~60 000 distinct keys
    assert sharded.sampled_keys <= 4096
    assert mean_absolute_error(sharded.objects, exact.objects) <= 0.01
    assert sharded.bytes is not None and exact.bytes is not None
    assert mean_absolute_error(sharded.bytes, exact.bytes) <= 0.01


def test_auto_is_exact_for_small_samples_and_shards_keeps_every_key_that_fits() -> None:
    ids, sizes = _trace(3000, 200, 5)
    table = _table(ids, sizes)
    assert miss_ratio_curves(table).method == "exact"
    sharded = miss_ratio_curves(table, method="shards")  # 200 keys fit in the budget
    assert sharded.sampling_rate == 1.0
    assert sharded.objects == miss_ratio_curves(table, method="exact").objects


# --------------------------------------------------------------------------- key hash


def _strings(seed: int, n: int) -> list[str | None]:
    rnd = random.Random(seed)
    alphabet = "abc/?=&é€😀 \x00"
    out: list[str | None] = []
    for _ in range(n):
        if rnd.random() < 0.05:
            out.append(None)
        else:
            out.append("".join(rnd.choice(alphabet) for _ in range(rnd.randrange(0, 60))))
    return out


def test_hash_is_stable_and_separates_keys() -> None:
    values = [f"GET /product/{i}?a={i % 7}" for i in range(50_000)]
    hashed = _keyhash.hash_strings(pa.array(values), native=False)
    assert len(np.unique(hashed)) == len(values)
    # A known value: the hash must not change between releases (SHARDS samples by it).
    assert int(_keyhash.hash_strings(pa.array(["GET /"]), native=False)[0]) == int(
        _keyhash.mix64(np.array([_reference("GET /")], dtype=np.uint64))[0]
    )
    # Sliced and chunked arrays hash their own strings only.
    array = pa.array(values)
    assert (_keyhash.hash_strings(array.slice(100, 50), native=False) == hashed[100:150]).all()
    chunked = pa.chunked_array([array.slice(0, 10), array.slice(10, 20)])
    assert (_keyhash.hash_strings(chunked, native=False) == hashed[:30]).all()


def _reference(text: str) -> int:
    """The documented polynomial, in plain Python: sum(b[i] * P^i) + len * L mod 2^64."""
    data = text.encode()
    total = sum(b * pow(0x100000001B3, i, 1 << 64) for i, b in enumerate(data))
    return (total + len(data) * 0x9E3779B97F4A7C15) % (1 << 64)


@native
@pytest.mark.parametrize("seed", range(5))
def test_compiled_hash_equals_the_numpy_hash(seed: int) -> None:
    array = pa.array(_strings(seed, 3000), pa.string())
    for part in (array, array.slice(17, 1000), array.slice(2999, 1), array.slice(5, 0)):
        assert (_keyhash.hash_strings(part) == _keyhash.hash_strings(part, native=False)).all()


def test_native_can_be_turned_off() -> None:
    if os.environ.get("WARMER_NO_NATIVE"):
        assert _keyhash._native is None
