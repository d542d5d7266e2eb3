"""The steps of a gate run, in order; :func:`default_steps` is what ``warmer gate`` runs.

Each step is a small object with a ``name`` and a ``run(state)`` returning its own
evidence (``base.py`` states the contract). New kinds of work — seeding L2, a drift check,
a stale-read probe, a baseline comparison — are new steps in this list, not branches in
the runner.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from warmer.gate.steps.base import PhaseStarted, RunState, Step, StepResult
from warmer.gate.steps.predict import Predict
from warmer.gate.steps.preflight import Preflight
from warmer.gate.steps.tiers import Drift, Tiers
from warmer.gate.steps.traffic import ReplayPhase, Settle
from warmer.gate.steps.warming import WarmPhase

if TYPE_CHECKING:
    from warmer.config.schema import Config

__all__ = [
    "Drift",
    "PhaseStarted",
    "Predict",
    "Preflight",
    "ReplayPhase",
    "RunState",
    "Settle",
    "Step",
    "StepResult",
    "Tiers",
    "WarmPhase",
    "default_steps",
]


def default_steps(config: Config) -> list[Step]:
    """preflight → tiers (configuration, key sample) → warm (its plan, stop rule and pace) →
    settle → tiers-warm (the key sample again, now that warm wrote the candidate's keys) →
    drift (with ``[gate] drift``) → verify (recorded order) → predict."""
    return [
        Preflight(),
        Tiers(),
        WarmPhase(),
        Settle(config.gate.settle_s),
        Tiers("tiers-warm", "after warm"),
        *([Drift()] if config.gate.drift else []),
        ReplayPhase("verify", "recorded"),
        Predict(),
    ]
