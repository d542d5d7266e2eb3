"""Is it warm yet? A tier is warm when its windowed hit rate has settled on a plateau.

Following the warm-up studies of cache clusters (HotCloud '20), a cache is warm when its
windowed hit rate stays within ε of its steady state for a while, not when it first
crosses a threshold. Over the warm phase of a tier's warmup curve (the rolling hit rate
of the last ``window`` requests):

* the **hold** span is the last ``max(window, 10 %)`` of the warm phase's requests;
* the **plateau** is the median rate over the hold span;
* the band is ``ε`` (default 0.02) plus twice the sampling noise of a window's rate,
  ``2·sqrt(p(1−p)/window)`` — a 1 000-request window of a 70 % tier wobbles by ±1.4 %
  on its own, which is not "still warming";
* the tier **converged** when every point of the hold span lies inside the band; it was
  **warm** from the first point after which the curve never left the band again
  (``seconds_to_warm`` counts from the start of the warm phase).

``warm.converged.<tier>`` is 1 or 0 (the check language has numbers only: check it with
``== 1``) and ``warm.seconds_to_warm.<tier>`` has no data when the tier did not converge.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence

from warmer.model.run import CurvePoint, PhaseReport, TierConvergence, TierCurve

EPSILON = 0.02
HOLD_SHARE = 0.1
DEFAULT_WINDOW = 1000


def converge(
    curves: Sequence[TierCurve],
    warm: PhaseReport | None,
    *,
    window: int | None = None,
    epsilon: float = EPSILON,
) -> tuple[TierConvergence, ...]:
    """The convergence of every tier curve over the warm phase (``effective`` left out)."""
    if warm is None or warm.requests == 0:
        return ()
    found = []
    for curve in curves:
        if curve.tier == "effective":
            continue
        result = tier_convergence(curve, warm, window or DEFAULT_WINDOW, epsilon)
        if result is not None:
            found.append(result)
    return tuple(found)


def tier_convergence(
    curve: TierCurve, warm: PhaseReport, window: int, epsilon: float = EPSILON
) -> TierConvergence | None:
    """One tier's convergence; None when its curve has no point in the warm phase."""
    points = [p for p in curve.points if p.requests <= warm.requests and p.hit_rate is not None]
    if not points:
        return None
    hold = max(window, int(warm.requests * HOLD_SHARE))
    start = warm.requests - hold
    tail = [p for p in points if p.requests > start] or points[-1:]
    plateau = statistics.median(p.hit_rate for p in tail if p.hit_rate is not None)
    band = epsilon + 2.0 * math.sqrt(max(plateau * (1.0 - plateau), 0.0) / window)
    converged = len(tail) >= 2 and all(_inside(p, plateau, band) for p in tail)
    since = _settled_from(points, plateau, band) if converged else None
    return TierConvergence(
        tier=curve.tier,
        converged=converged,
        plateau=plateau,
        epsilon=round(band, 4),
        hold_requests=hold,
        seconds_to_warm=None if since is None else max(since.seconds - warm.started_s, 0.0),
        requests_to_warm=None if since is None else since.requests,
    )


def _inside(point: CurvePoint, plateau: float, band: float) -> bool:
    return point.hit_rate is not None and abs(point.hit_rate - plateau) <= band


def _settled_from(points: Sequence[CurvePoint], plateau: float, band: float) -> CurvePoint:
    """The first point of the run of points inside the band that lasts to the end."""
    first = points[-1]
    for point in reversed(points):
        if not _inside(point, plateau, band):
            break
        first = point
    return first


def convergence_metrics(results: Sequence[TierConvergence]) -> dict[str, float | None]:
    """``warm.converged.<tier>``, ``warm.seconds_to_warm.<tier>`` and the plateau evidence."""
    metrics: dict[str, float | None] = {}
    for result in results:
        metrics[f"warm.converged.{result.tier}"] = 1.0 if result.converged else 0.0
        metrics[f"warm.seconds_to_warm.{result.tier}"] = result.seconds_to_warm
        metrics[f"convergence.{result.tier}.plateau"] = result.plateau
    return metrics
