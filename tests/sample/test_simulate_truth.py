"""Tier simulation against the reference candidate: the same requests, at the recorded pace.

``SLICE_S`` seconds of the bundled sample's busiest stretch are replayed at their recorded
timing
against the candidate in each demo configuration (its settings give L0's capacity and
every tier's TTL); each tier's hit rate, as its ``Cache-Status`` member reports it, must
be within two points of what :func:`simulate_tiers` predicts for the same requests.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from tests.conftest import require
from warmer.config.sizes import Capacity
from warmer.demo.scenarios import SCENARIOS, ScenarioSpec, bundled_sample
from warmer.demo.services import find_redis_server
from warmer.observe.headers import HeaderRule, header_counts
from warmer.replay.results import ResultsWriter, open_results
from warmer.replay.run import ReplayPlan, replay
from warmer.sample.simulate import TierSpec, simulate_tiers
from warmer.sample.source import SampleSource

pytestmark = pytest.mark.slow

START_S = 800.0
"""Where the slice starts, seconds into the sample (its busiest stretch, ~50 requests/s)."""
SLICE_S = 45.0
TOLERANCE = 0.02
MIN_LOOKUPS = 50
"""Tiers that saw fewer lookups than this are not compared (a rate of a handful is noise)."""


@pytest.fixture(scope="module")
def short_sample() -> pa.Table:
    path = bundled_sample()
    if path is None:
        pytest.skip("the bundled sample ships with the source checkout only")
    table = SampleSource.open(path).to_table()
    start = pc.min(table.column("ts")).as_py() + START_S
    ts = table.column("ts")
    return table.filter(pc.and_(pc.greater_equal(ts, start), pc.less(ts, start + SLICE_S)))


def _specs(spec: ScenarioSpec) -> list[TierSpec]:
    settings = spec.candidate
    tiers = [
        TierSpec("l0", Capacity(settings.l0_capacity, "objects"), settings.l0_ttl_s),
        # The sidecar's 18 MB hold far more than this slice stores: modelled unbounded.
        TierSpec("l1", None, settings.l1_ttl_s),
    ]
    if spec.use_l2:
        tiers.append(TierSpec("l2", None, settings.l2_ttl_s))
    return tiers


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_prediction_is_within_two_points_of_the_candidate_at_the_recorded_pace(
    name: str, short_sample: pa.Table, tmp_path: Path
) -> None:
    require(find_redis_server(), "redis-server")
    spec = SCENARIOS[name]
    with spec.start(tmp_path / "stack") as stack:
        plan = ReplayPlan(target=stack.target, pacing="recorded", concurrency=32)
        with ResultsWriter(tmp_path / "results.parquet") as writer:
            summary = replay(SampleSource.from_table(short_sample), plan, writer)
    assert summary.sent > 1000 and not summary.errors
    results = open_results(tmp_path / "results.parquet").to_table()
    predicted = simulate_tiers(short_sample, _specs(spec))
    compared = []
    for tier in predicted.tiers:
        counts = header_counts(results, HeaderRule(tier.name, "cache-status", cache=tier.name))
        if counts.lookups < MIN_LOOKUPS or tier.lookups < MIN_LOOKUPS:
            continue
        assert tier.hit_rate == pytest.approx(counts.hit_rate, abs=TOLERANCE), (
            name,
            tier.name,
            counts,
        )
        compared.append(tier.name)
    assert "l0" in compared and "l1" in compared
