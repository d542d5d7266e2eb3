"""The session's pure helpers (backend load, live-tier curves, implied offload) and its build."""

from __future__ import annotations

import numpy as np
import pytest

from warmer.config import config_from_tree
from warmer.gate.build import build_observation
from warmer.model.run import CurvePoint, LoadPoint, TierMetrics
from warmer.observe.interface import TierSnapshot
from warmer.observe.session import ObserveSession, backend_load, implied_offload, live_curve


def snap(
    requests: float | None = None, hits: float | None = None, misses: float | None = None
) -> TierSnapshot:
    return TierSnapshot(at=0.0, requests=requests, hits=hits, misses=misses)


def test_backend_load_skips_gaps_and_resets() -> None:
    series = [
        (0.0, snap(100)),
        (1.0, snap(150)),
        (2.0, None),  # the source dropped out: no rate across the gap
        (3.0, snap(400)),
        (4.0, snap(420)),
        (5.0, snap(10)),  # restarted: no negative rate
        (6.0, snap(30)),
        (6.01, snap(90)),  # a boundary snapshot right after a sample: too short for a rate
        (7.0, snap(110)),
    ]
    assert backend_load(series) == [
        LoadPoint(1.0, 50.0),
        LoadPoint(4.0, 20.0),
        LoadPoint(6.0, 20.0),
        LoadPoint(7.0, 80.0),
    ]


def test_live_curve_places_interval_rates_at_requests_sent() -> None:
    sent = np.array([0.1, 0.5, 1.2, 1.5, 1.9, 2.5])
    series = [
        (0.0, snap(hits=0, misses=0)),
        (1.0, snap(hits=1, misses=3)),
        (2.0, snap(hits=4, misses=4)),
        (3.0, snap(hits=4, misses=4)),
    ]
    curve = live_curve("l1", series, sent)
    assert curve.points == (CurvePoint(2, 1.0, 0.25), CurvePoint(5, 2.0, 0.75))


@pytest.mark.parametrize(
    ("effective", "lookups", "requests", "expected"),
    [(0.8, 90, 100, 0.72), (None, 90, 100, None), (0.8, None, 100, 0.8), (0.5, 100, 100, 0.5)],
)
def test_implied_offload_counts_bypassed_requests(
    effective: float | None, lookups: int | None, requests: int, expected: float | None
) -> None:
    tiers = [TierMetrics("l0", "cache-status", lookups=lookups)]
    assert implied_offload(effective, tiers, requests) == pytest.approx(expected)


def test_build_observation_is_an_observe_session() -> None:
    empty = build_observation(config_from_tree({}))
    assert isinstance(empty, ObserveSession) and not empty.observers.sources
    config = config_from_tree(
        {
            "tiers": {
                "l0": {"source": "cache-status", "cache": "edge"},
                "l1": {"source": "redis", "url": "redis://127.0.0.1:1/0"},
            },
            "backend": {
                "source": "prometheus",
                "url": "http://127.0.0.1:1/metrics",
                "requests": "origin_total",
            },
        }
    )
    observation = build_observation(config)
    assert isinstance(observation, ObserveSession)
    assert set(observation.observers.live) == {"l1", "backend"}
    assert observation.observers.headers["l0"].cache == "edge"
