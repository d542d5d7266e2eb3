"""Tier simulation: the models on hand-made traces, the chain, miniature runs, the spec text."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from warmer.config.sizes import Capacity
from warmer.errors import UsageError
from warmer.sample.mrc import miss_ratio_curves
from warmer.sample.simulate import TierSpec, parse_tier_spec, simulate_tiers

ROOT = Path(__file__).resolve().parents[2]


def _table(rows: list[tuple[float, str]], sizes: list[int] | None = None) -> pa.Table:
    n = len(rows)
    return pa.table(
        {
            "ts": [r[0] for r in rows],
            "method": ["GET"] * n,
            "key": [r[1] for r in rows],
            "cache_status": pa.nulls(n, pa.string()),
            "response_bytes": pa.array(sizes, pa.int64()) if sizes else pa.nulls(n, pa.int64()),
        }
    )


def _objects(n: float) -> Capacity:
    return Capacity(n, "objects")


def test_ttl_expires_entries_and_counts_it() -> None:
    rows = [(0.0, "a"), (5.0, "a"), (11.0, "a"), (30.0, "a"), (30.5, "a")]
    run = simulate_tiers(_table(rows), [TierSpec("l0", ttl_s=10.0)])
    l0 = run.tier("l0")
    assert l0 is not None
    # stored at 0 (fresh until 10): hit at 5; miss at 11 (expired), stored until 21;
    # miss at 30 (expired), hit at 30.5
    assert (l0.lookups, l0.hits, l0.expirations) == (5, 2, 2)


def test_capacity_in_objects_and_bytes_evicts_the_least_recently_used() -> None:
    rows = [(float(i), k) for i, k in enumerate("abcab")]
    by_objects = simulate_tiers(_table(rows), [TierSpec("l0", _objects(2))])
    assert by_objects.tiers[0].hits == 0 and by_objects.tiers[0].evictions == 3
    sizes = [100, 100, 300, 100, 100]  # c alone fills 300 bytes: a and b are dropped
    by_bytes = simulate_tiers(_table(rows, sizes), [TierSpec("l0", Capacity(300, "bytes"))])
    assert by_bytes.tiers[0].hits == 0
    roomy = simulate_tiers(_table(rows, sizes), [TierSpec("l0", Capacity(500, "bytes"))])
    assert roomy.tiers[0].hits == 2


def test_lfu_keeps_the_frequent_key_lru_does_not() -> None:
    # a is used three times, then b and c pass through a cache of two: LRU drops a for c,
    # LFU drops b (used once), so the last a hits under LFU only.
    rows = [(float(i), k) for i, k in enumerate("aaabca")]
    lru = simulate_tiers(_table(rows), [TierSpec("l0", _objects(2))])
    lfu = simulate_tiers(_table(rows), [TierSpec("l0", _objects(2), eviction="lfu")])
    assert (lru.tiers[0].hits, lfu.tiers[0].hits) == (2, 3)
    assert (lru.tiers[0].evictions, lfu.tiers[0].evictions) == (2, 1)


def test_each_tier_sees_the_misses_of_the_tiers_above() -> None:
    rows = [(float(i), k) for i, k in enumerate("abab")]
    run = simulate_tiers(_table(rows), [TierSpec("l0", _objects(1)), TierSpec("l1")])
    l0, l1 = run.tiers
    assert (l0.lookups, l0.hits) == (4, 0)  # one slot, alternating keys
    assert (l1.lookups, l1.hits) == (4, 2)  # the second a and b
    assert run.effective_hit_rate == pytest.approx(0.5)


def test_a_tier_filled_from_below_keeps_the_freshness_left() -> None:
    # L1 stores a at 0 for 10 s; L0 (its own TTL 100 s) is emptied by b at 4, refilled
    # from L1 at 8 with 2 s left: at 11 L0 no longer holds a, and neither does L1.
    rows = [(0.0, "a"), (4.0, "b"), (8.0, "a"), (9.0, "a"), (11.0, "a")]
    specs = [TierSpec("l0", _objects(1), ttl_s=100.0), TierSpec("l1", ttl_s=10.0)]
    l0, l1 = simulate_tiers(_table(rows), specs).tiers
    assert l0.hits == 1  # at 9
    assert l1.hits == 1  # at 8
    assert l0.expirations == 1  # at 11


def test_count_from_counts_only_later_requests_after_warming_with_earlier_ones() -> None:
    rows = [(0.0, "a"), (1.0, "b"), (2.0, "a"), (3.0, "c")]
    run = simulate_tiers(_table(rows), [TierSpec("l0")], count_from=2.0)
    assert run.requests == 2 and run.tiers[0].hits == 1 and run.counted_from == 2.0


def test_one_lru_tier_agrees_with_the_miss_ratio_curve() -> None:
    rng = np.random.default_rng(4)
    keys = [f"k{i}" for i in (rng.zipf(1.1, 20_000) % 3000)]
    table = _table([(float(i), k) for i, k in enumerate(keys)])
    curve = miss_ratio_curves(table, method="exact").objects
    for size in (10, 100, 700):
        run = simulate_tiers(table, [TierSpec("l0", _objects(size))])
        assert run.tiers[0].hit_rate == pytest.approx(curve.hit_rate(size))


def test_miniature_simulation_stays_close_to_the_full_one() -> None:
    """Hash-sampled keys against caches scaled alike (what a 10M-request sample gets).

    Like SHARDS it needs many keys: a handful of keys carrying a tenth of the traffic each
    makes any key sample lucky or not.
    """
    rng = np.random.default_rng(9)
    keys = [f"k{i}" for i in (rng.zipf(1.05, 300_000) % 300_000)]
    table = _table([(i / 100, k) for i, k in enumerate(keys)])
    specs = [TierSpec("l0", _objects(5000), ttl_s=300.0), TierSpec("l1", _objects(20_000))]
    full = simulate_tiers(table, specs)
    mini = simulate_tiers(table, specs, max_requests=75_000)
    assert mini.sampling_rate == pytest.approx(0.25)
    for big, small in zip(full.tiers, mini.tiers, strict=True):
        assert small.lookups < big.lookups / 3
        assert small.hit_rate == pytest.approx(big.hit_rate, abs=0.02)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("l0=10000 objects ttl=60s", TierSpec("l0", _objects(10000), 60.0)),
        ("l2=2GB ttl=1h", TierSpec("l2", Capacity(2 * 2**30, "bytes"), 3600.0)),
        ("l1 = 512MB lfu", TierSpec("l1", Capacity(512 * 2**20, "bytes"), None, "lfu")),
        ("edge=unbounded ttl=250ms", TierSpec("edge", None, 0.25)),
        ("l0=1_500", TierSpec("l0", _objects(1500))),
    ],
)
def test_tier_specs_parse(text: str, expected: TierSpec) -> None:
    assert parse_tier_spec(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("l0", "cannot read tier"),
        ("l0=lots", "cannot read capacity"),
        ("l0=10 parsecs", "unknown capacity unit"),
        ("l0=100 ttl=soon", "cannot read duration"),
        ("l0=0", "greater than 0"),
    ],
)
def test_bad_tier_specs_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        parse_tier_spec(text)
