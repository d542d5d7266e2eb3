"""Facts a diagnosis needs beyond the metrics, read from a (draft) run report.

``findings(report)`` is JSON-ready and goes into ``Evidence.findings`` (and so into
``evidence.json``, for ``--rejudge``)::

    {"verify": {"restarts": {"l1": "its process changed ..."},
                "keys_held": {"nginx": 950},
                "stale_share": {"varnish": 0.21},        # stale lookups / requests sent
                "unsettled": "Prometheus had not scraped ..."},
     "warm": {...},
     "rising": {"nginx": false, "effective": true},  # warm curve still rising at its end
     "tier_no_data": {"l2": {"maxmemory_samples": "CONFIG GET is renamed ..."}},
     "drift": [{"tier": "l2", "aspect": "config.maxmemory_policy", ...}]}
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from warmer.model.run import CurvePoint, PhaseReport, RunReport

RISE = 0.01
"""A warm curve whose last stretch gained more than this (in hit rate) was still rising."""
TAIL = 0.2
"""The share of the warm phase's curve points whose trend is judged."""


def findings(report: RunReport) -> dict[str, Any]:
    """Per-phase facts of every phase, and which warm curves were still rising."""
    found: dict[str, Any] = {phase.name: _phase_facts(phase) for phase in report.phases}
    if report.tier_config:  # why a tier setting has no value (CONFIG renamed ...)
        found["tier_no_data"] = {t.tier: dict(t.no_data) for t in report.tier_config}
    if report.drift is not None:  # what drifted, for the drift.* checks' diagnosis
        found["drift"] = [
            {"tier": r.tier, "aspect": r.aspect, "baseline": r.baseline, "candidate": r.candidate}
            for r in report.drift.rows
            if r.status == "drift"
        ]
    warm = report.phase("warm")
    if warm is not None:
        found["rising"] = {
            curve.tier: still_rising(curve.points, warm.requests)
            for curve in report.timelines.warmup
        }
    return found


def _phase_facts(phase: PhaseReport) -> dict[str, Any]:
    facts: dict[str, Any] = {
        "restarts": {t.name: t.restarted for t in phase.tiers if t.restarted},
        "keys_held": {t.name: t.keys_held for t in phase.tiers if t.keys_held is not None},
        "stale_share": {
            t.name: t.stale_rate * (t.lookups or 0) / phase.requests
            for t in phase.tiers
            if t.stale_rate and phase.requests
        },
    }
    if phase.backend.settled is False:
        facts["unsettled"] = phase.backend.consistency_message
    return facts


def still_rising(points: Sequence[CurvePoint], warm_requests: int) -> bool | None:
    """Whether a warmup curve still climbed over the last ``TAIL`` of the warm phase.

    Compares the mean hit rate of the tail's second half with its first half; None when
    the warm part has too few points to tell.
    """
    warm = [p.hit_rate for p in points if p.requests <= warm_requests and p.hit_rate is not None]
    tail = warm[-max(4, int(len(warm) * TAIL)) :]
    if len(warm) < 4 or len(tail) < 4:
        return None
    half = len(tail) // 2
    first, last = tail[:half], tail[half:]
    return sum(last) / len(last) - sum(first) / len(first) > RISE
