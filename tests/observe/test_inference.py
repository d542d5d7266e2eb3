"""Loss, stale, restart, size and recorded-pace inference on header tiers without ``stored``."""

from __future__ import annotations

import random
from collections import OrderedDict
from typing import Any

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from warmer.model.results import RESULTS_ARROW_SCHEMA
from warmer.observe.headers import OUTCOME_HIT, OUTCOME_MISS, OUTCOME_STALE, HeaderRule
from warmer.observe.inference import analyse, simulate_recorded_pace

NGINX = HeaderRule("nginx", "x-cache-status")


def table(rows: list[dict[str, Any]]) -> pa.Table:
    """A results table from dicts (missing columns null); ``seq`` is the row order."""
    names = [f.name for f in RESULTS_ARROW_SCHEMA if f.name != "headers"]
    data = {name: [row.get(name) for row in rows] for name in names}
    data["seq"] = list(range(len(rows)))
    data["method"] = ["GET"] * len(rows)
    data["target"] = [row["key"] for row in rows]
    data["status"] = [200] * len(rows)
    schema = pa.schema([RESULTS_ARROW_SCHEMA.field(n) for n in names])
    return pa.Table.from_pydict(data, schema=schema)


def row(key: str, t: float, status: str, cc: str | None = "max-age=10", **more: Any) -> dict:
    return {"key": key, "sent_s": t, "x_cache_status": status, "cache_control": cc,
            "phase": "verify", **more}  # fmt: skip


def test_a_re_miss_while_fresh_is_an_eviction_after_its_lifetime_an_expiration() -> None:
    rows = [
        row("a", 0.0, "MISS"),  # filled, fresh until 10 s
        row("a", 3.0, "MISS"),  # fresh but gone: evicted
        row("b", 0.0, "MISS"),
        row("b", 20.0, "MISS"),  # 20 s > 10 s: expired
        row("c", 0.0, "MISS", cc="no-store"),
        row("c", 1.0, "MISS", cc="no-store"),  # never stored: no loss
        row("d", 0.0, "MISS", cc=None),
        row("d", 1.0, "MISS", cc=None),  # no freshness information: unexplained
        row("e", 0.0, "MISS"),
        row("e", 30.0, "REVALIDATED"),  # the tier says so: expired
        row("f", 0.0, "HIT", age="8"),  # 2 s left when it arrived
        row("f", 5.0, "MISS"),  # 5 s later: expired, though max-age is 10
    ]
    found = analyse(table(rows), NGINX)["verify"]
    assert (found.evictions, found.expirations, found.unexplained) == (1, 3, 1)
    assert found.lookups == 12


def test_stale_hits_are_age_beyond_the_lifetime_or_the_header_saying_so() -> None:
    rule = HeaderRule("varnish", "x-varnish")
    rows = [
        {"key": "a", "sent_s": 0.0, "x_varnish": "1", "cache_control": "max-age=2", "age": "0"},
        {"key": "a", "sent_s": 5.0, "x_varnish": "3 1", "cache_control": "max-age=2", "age": "5"},
        {"key": "a", "sent_s": 5.5, "x_varnish": "4 1", "cache_control": "max-age=2", "age": "1"},
    ]
    for r in rows:
        r["headers"] = [("x-varnish", r.pop("x_varnish"))]
    t = table(rows).append_column(
        RESULTS_ARROW_SCHEMA.field("headers"), pa.array([r["headers"] for r in rows],
                                                        RESULTS_ARROW_SCHEMA.field("headers").type)
    )  # fmt: skip
    found = analyse(t, rule)[""]
    assert found.stale == 1 and found.stale_rate == 1 / 3
    nginx = [row("a", 0, "MISS"), row("a", 1, "STALE"), row("a", 2, "UPDATING"), row("a", 3, "HIT")]
    assert analyse(table(nginx), NGINX)["verify"].stale == 2


def test_recorded_pace_on_a_hand_computed_trace() -> None:
    # One key, max-age 30 s, replayed in a blink but recorded over minutes:
    #   t=0 miss (fill, 30 s left) · t=10 hit (10 ≤ 30) · t=50 hit (50 > 30: a miss, refill
    #   at 50) · t=70 hit (20 ≤ 30) · t=100 hit (50 > 30: refill) · t=101 hit
    # Key b: hit with Age 25 first (5 s left) · t=8 hit (8 > 5: miss) · unknown lifetime hit.
    key = np.array([0, 0, 0, 0, 0, 0, 1, 1, 2, 2])
    recorded = np.array([0, 10, 50, 70, 100, 101, 0, 8, 0, 500], dtype=float)
    h, m = OUTCOME_HIT, OUTCOME_MISS
    code = np.array([m, h, h, h, h, OUTCOME_STALE, h, h, m, h])
    lifetime = np.array([30] * 8 + [np.nan, np.nan], dtype=float)
    age = np.array([0, 10, 50, 70, 100, 101, 25, 33, 0, 0], dtype=float)
    simulated = simulate_recorded_pace(key, recorded, code, lifetime, age)
    assert simulated is not None
    expected = [False, True, False, True, False, True, True, False, False, True]
    assert simulated.tolist() == expected


def test_recorded_pace_walks_long_tails_like_the_vectorised_steps() -> None:
    rng = random.Random(3)
    n = 400  # one key far past the vectorised steps, and many short ones
    key = np.array([0 if i % 2 else rng.randrange(1, 60) for i in range(n)])
    recorded = np.cumsum([rng.uniform(0, 4) for _ in range(n)])
    code = np.array([rng.choice([OUTCOME_HIT, OUTCOME_HIT, OUTCOME_MISS]) for _ in range(n)])
    lifetime = np.array([rng.choice([5.0, 20.0, np.nan]) for _ in range(n)])
    age = np.zeros(n)
    fast = simulate_recorded_pace(key, recorded, code, lifetime, age)
    assert fast is not None
    assert fast.tolist() == _slow_simulation(key, recorded, code, lifetime, age)


def _slow_simulation(key: Any, recorded: Any, code: Any, lifetime: Any, age: Any) -> list[bool]:
    """The rule of the docstring, one row at a time: the oracle."""
    state: dict[int, tuple[float, float]] = {}
    result = []
    for k, r, c, life, a in zip(key, recorded, code, lifetime, age, strict=True):
        hit = c in (OUTCOME_HIT, OUTCOME_STALE)
        if k not in state:
            keep = hit
            state[int(k)] = (r, life - a)
        else:
            fill, left = state[int(k)]
            keep = hit and not (r - fill > left)
            if not keep:
                state[int(k)] = (r, life if hit else life - a)
        result.append(bool(keep))
    return result


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 5),  # key
            st.floats(0, 50),  # recorded gap since the previous request
            st.booleans(),  # observed hit
            st.floats(0, 100),  # lifetime, always known
            st.floats(0, 100),  # age
        ),
        min_size=1,
        max_size=80,
    )
)
def test_recorded_pace_never_beats_the_observed_hit_rate(trace: list[Any]) -> None:
    key = np.array([t[0] for t in trace])
    recorded = np.cumsum([t[1] for t in trace])
    code = np.array([OUTCOME_HIT if t[2] else OUTCOME_MISS for t in trace])
    lifetime = np.array([t[3] for t in trace])
    age = np.array([t[4] for t in trace])
    simulated = simulate_recorded_pace(key, recorded, code, lifetime, age)
    assert simulated is not None
    observed = code == OUTCOME_HIT
    assert simulated.sum() <= observed.sum()
    assert not (simulated & ~observed).any()  # only observed hits can stay hits


def lru_trace(capacity: int, n: int, keys: int, seed: int = 1) -> list[dict[str, Any]]:
    """Responses of a real LRU cache of ``capacity`` keys to Zipf-like traffic."""
    rng = random.Random(seed)
    weights = [1 / (i + 1) ** 0.8 for i in range(keys)]
    cache: OrderedDict[int, None] = OrderedDict()
    rows = []
    for i, k in enumerate(rng.choices(range(keys), weights, k=n)):
        status = "HIT" if k in cache else "MISS"
        cache[k] = None
        cache.move_to_end(k)
        if len(cache) > capacity:
            cache.popitem(last=False)
        rows.append(row(f"k{k}", i * 0.001, status, cc="max-age=3600", recorded_s=float(i)))
    return rows


def test_keys_held_is_estimated_from_where_evictions_begin() -> None:
    found = analyse(table(lru_trace(300, 20_000, 3_000)), NGINX)["verify"]
    assert found.evictions > 1000 and found.expirations == 0
    assert found.keys_held is not None and 240 <= found.keys_held <= 360
    assert found.restart_at_s is None


def test_a_restart_is_a_burst_of_fresh_re_misses_of_hot_keys() -> None:
    rows = lru_trace(5_000, 12_000, 1_000)  # everything fits: no evictions at all
    assert analyse(table(rows), NGINX)["verify"].restart_at_s is None
    cold: set[str] = set()
    for r in rows[8_000:]:  # the cache restarted empty at request 8000
        r["x_cache_status"] = "HIT" if r["key"] in cold else "MISS"
        cold.add(r["key"])
    found = analyse(table(rows), NGINX)["verify"]
    assert found.restart_at_s is not None and 7.9 <= found.restart_at_s <= 8.2
    assert found.restart_misses >= 20


def test_recorded_pace_per_phase_and_none_without_recorded_times() -> None:
    rows = [row("a", 0.0, "MISS", recorded_s=0.0), row("a", 0.1, "HIT", recorded_s=60.0)]
    assert analyse(table(rows), NGINX)["verify"].recorded_pace_hit_rate == 0.0
    rows = [row("a", 0.0, "MISS"), row("a", 0.1, "HIT")]
    assert analyse(table(rows), NGINX)["verify"].recorded_pace_hit_rate is None
