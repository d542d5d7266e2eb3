"""The warm plan: value ranking, the stop rule, the hot pass, and one count everywhere."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from warmer.checks.grammar import parse_checks
from warmer.config import config_from_tree
from warmer.gate.plan import plan_lines, split_sample
from warmer.gate.preparation import GateOptions, prepare
from warmer.gate.warmplan import plan_warm
from warmer.replay.order import rank_by_value
from warmer.sample.source import SampleSource

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "traffic_samples" / "demo.jsonl.gz"


def _table(keys: list[str], ts: list[float], methods: list[str] | None = None,
           statuses: list[str | None] | None = None) -> pa.Table:  # fmt: skip
    n = len(keys)
    return pa.table(
        {
            "ts": ts,
            "method": methods or ["GET"] * n,
            "target": [k.split(" ", 1)[1] for k in keys],
            "key": keys,
            "cache_status": pa.array(statuses or [None] * n, pa.string()),
        }
    )


def test_recent_requests_weigh_more_than_old_ones() -> None:
    # a: three requests long ago; b: two just now; c: once, long ago.
    keys = ["GET /a", "GET /a", "GET /a", "GET /c", "GET /b", "GET /b"]
    ts = [0.0, 1.0, 2.0, 3.0, 99.0, 100.0]
    ranked = rank_by_value(SampleSource.from_table(_table(keys, ts)), now=100.0, half_life_s=10)
    assert ranked.column("key").to_pylist() == ["GET /b", "GET /a", "GET /c"]
    assert ranked.column("requests").to_pylist() == [2, 3, 1]
    flat = rank_by_value(SampleSource.from_table(_table(keys, ts)), now=100.0, half_life_s=1e9)
    assert flat.column("key").to_pylist()[0] == "GET /a"  # no decay: plain counts


def _zipf_part(n: int = 30_000, keys: int = 4000, seed: int = 1) -> SampleSource:
    rng = np.random.default_rng(seed)
    ids = rng.zipf(1.2, n) % keys
    names = [f"GET /p/{i}" for i in ids]
    return SampleSource.from_table(_table(names, list(np.arange(n, dtype=float))))


def test_hot_first_sends_each_cacheable_key_once_then_the_hottest_again() -> None:
    keys = ["GET /a", "GET /b", "GET /a", "POST /api", "GET /cart", "GET /a", "GET /c"]
    methods = ["GET", "GET", "GET", "POST", "GET", "GET", "GET"]
    statuses = [None, None, None, None, "BYPASS", None, None]
    part = SampleSource.from_table(_table(keys, [0, 1, 2, 3, 4, 5, 6.0], methods, statuses))
    plan = plan_warm(part, order="hot-first")
    sent = [r.key for r in plan.records()]
    assert plan.available_keys == 3  # POST and BYPASS never warm anything
    assert plan.keys is not None and 1 <= plan.keys <= 3
    # a (3x), then the latest of c and b; the plan may stop before the tail
    assert sent[: plan.keys] == ["GET /a", "GET /c", "GET /b"][: plan.keys]
    assert len(sent) == plan.requests == plan.keys + plan.hot_pass
    hot = sent[plan.keys :]
    assert hot == sent[: plan.hot_pass][::-1]  # the hottest last: a small LRU keeps it


def test_the_plan_stops_at_the_target_plus_margin_but_never_above_what_all_keys_give() -> None:
    part = _zipf_part()
    everything = plan_warm(part, order="hot-first")
    assert everything.predicted is not None and everything.target is not None
    # Without a target it stops where the remaining keys add under ~3/4 of a point.
    assert everything.keys is not None and everything.keys < everything.available_keys  # type: ignore[operator]
    low = plan_warm(
        part, order="hot-first", checks=parse_checks(["hit_rate.effective >= 0.4"]), margin=0.02
    )
    assert low.target == pytest.approx(0.42) and low.predicted is not None
    assert low.predicted >= 0.42
    assert low.keys is not None and low.keys < everything.keys
    high = plan_warm(part, order="hot-first", checks=parse_checks(["hit_rate.effective >= 0.99"]))
    assert high.keys == everything.keys  # unreachable: no more than warming everything


def test_the_hot_pass_fills_a_configured_first_tier() -> None:
    part = _zipf_part()
    tiers = config_from_tree(
        {"tiers": {"l0": {"source": "cache-status", "cache": "l0", "capacity": 300}}}
    ).tiers
    sized = plan_warm(part, order="hot-first", tiers=tiers)
    unsized = plan_warm(part, order="hot-first")
    assert 0 < sized.hot_pass <= 300  # the keys carrying 90 % of what 300 slots can hold
    assert sized.hot_pass != unsized.hot_pass


def test_recorded_plans_count_the_records_whose_method_may_be_sent() -> None:
    keys = ["GET /a", "POST /b", "HEAD /a"]
    part = SampleSource.from_table(_table(keys, [0.0, 1.0, 2.0], ["GET", "POST", "HEAD"]))
    assert plan_warm(part, order="recorded").requests == 2
    assert plan_warm(part, order="recorded", allow_methods=("GET", "HEAD", "POST")).requests == 3


def test_dry_run_plan_and_split_agree_on_the_demo_sample(tmp_path: Path) -> None:
    config = config_from_tree(
        {
            "replay": {"order": "hot-first", "pacing": "rate", "rate": 1000},
            "tiers": {"l0": {"source": "cache-status", "cache": "l0", "capacity": 2000}},
        }
    )
    options = GateOptions(
        config=config, sample=DEMO, target="", checks=("hit_rate.effective >= 0.8",)
    )
    prepared = prepare(options, profile=False)
    warm = prepared.warm_plan
    assert warm is not None and warm.order == "hot-first"
    assert prepared.plan.warm_requests == warm.requests == warm.keys + warm.hot_pass  # type: ignore[operator]
    assert sum(1 for _ in warm.records()) == warm.requests
    assert prepared.plan.warm_keys == warm.keys and prepared.plan.hot_pass == warm.hot_pass
    lines = plan_lines(prepared.plan)
    assert f"warm:     {warm.requests:,} requests, order hot-first" in lines
    assert any("keys once, most valuable first" in line for line in lines)
    # verify: every record whose method is allowed (the demo's POSTs are not replayed)
    verify = split_sample(SampleSource.open(DEMO)).verify.to_table(["method"])
    allowed = sum(m in ("GET", "HEAD") for m in verify.column("method").to_pylist())
    assert prepared.plan.verify_requests == allowed
