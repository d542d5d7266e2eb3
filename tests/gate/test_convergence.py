"""Is it warm yet? Plateaus and settling times on hand-made warmup curves."""

from __future__ import annotations

import math

import pytest

from warmer.gate.convergence import converge, convergence_metrics, tier_convergence
from warmer.model.run import CurvePoint, PhaseReport, TierCurve

WARM = PhaseReport("warm", requests=20_000, started_s=2.0, duration_s=20.0)


def _curve(tier: str, rate: object) -> TierCurve:
    """One point every 100 requests, a request every millisecond after the phase starts."""
    points = [
        CurvePoint(n, WARM.started_s + n / 1000, rate(n))  # type: ignore[operator]
        for n in range(100, 24_001, 100)
    ]
    return TierCurve(tier, tuple(points))


def test_a_curve_that_levels_off_converged_when_it_stopped_moving() -> None:
    result = tier_convergence(_curve("l0", lambda n: 0.7 * (1 - math.exp(-n / 1500))), WARM, 1000)
    assert result is not None and result.converged
    assert result.plateau == pytest.approx(0.7, abs=0.005)
    assert result.hold_requests == 2000  # 10 % of the warm phase, more than one window
    # It stays within the band (0.02 + 2 sigma of a 1 000-request window) from about
    # n = 1 500 * ln(0.7 / band) on.
    band = 0.02 + 2 * math.sqrt(0.7 * 0.3 / 1000)
    settled = 1500 * math.log(0.7 / band)
    assert result.requests_to_warm == pytest.approx(settled, abs=100)
    assert result.seconds_to_warm == pytest.approx(result.requests_to_warm / 1000, abs=1e-9)


def test_a_curve_still_rising_at_the_end_has_not_converged() -> None:
    result = tier_convergence(_curve("l1", lambda n: n / 21_000), WARM, 1000)
    assert result is not None and not result.converged
    assert result.seconds_to_warm is None and result.requests_to_warm is None


def test_verify_points_do_not_count_and_effective_is_left_out() -> None:
    jump = _curve("l0", lambda n: 0.5 if n <= 20_000 else 0.95)  # verify is much warmer
    results = converge([jump, _curve("effective", lambda n: 0.9)], WARM)
    assert [r.tier for r in results] == ["l0"]
    assert results[0].plateau == 0.5 and results[0].converged
    assert results[0].requests_to_warm == 100  # flat from the start
    assert converge([jump], PhaseReport("warm")) == ()  # nothing was sent


def test_metrics_say_1_or_0_and_when() -> None:
    results = converge([_curve("l0", lambda n: 0.6), _curve("l1", lambda n: n / 21_000)], WARM)
    metrics = convergence_metrics(results)
    assert metrics["warm.converged.l0"] == 1.0 and metrics["warm.converged.l1"] == 0.0
    assert metrics["warm.seconds_to_warm.l0"] == pytest.approx(0.1)
    assert metrics["warm.seconds_to_warm.l1"] is None
    assert metrics["convergence.l0.plateau"] == 0.6
