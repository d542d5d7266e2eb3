"""Compare: the verify part again, to the baseline and the candidate at once, judged.

Runs when ``gate.baseline`` (``--baseline URL``) is set; the work is in
:mod:`warmer.gate.compare`. It contributes the ``compare.*`` metrics (no data when the
comparison is inconclusive), the report's ``comparison`` section and the two results
files in the run directory.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from warmer.gate.steps.base import PhaseStarted, RunState, StepResult

if TYPE_CHECKING:
    from warmer.model.run import Comparison


@dataclass(frozen=True)
class Compare:
    """The candidate against ``gate.baseline`` on the verify part (see the module docstring)."""

    name: str = "compare"

    def run(self, state: RunState) -> StepResult:
        from warmer.gate.compare import compare_tables, read_side, replay_both
        from warmer.gate.live import tier_rules
        from warmer.model.run import mask_url

        config = state.config
        baseline = config.gate.baseline
        assert baseline is not None  # default_steps adds this step only with a baseline
        if state.halt.is_set():
            return StepResult(summary="not run: the run was stopping")
        split = state.prepared.split
        planned = split.verify_rows if config.compare.requests is None else config.compare.requests
        state.emit(PhaseStarted(self.name, min(planned, split.verify_rows)))
        paths = replay_both(
            config, lambda: split.verify, state.target, baseline, state.dir.path, state.halt
        )
        rules = tier_rules(config.tiers)
        sides = [read_side(path, rules) for path in paths]
        comparison, metrics = compare_tables(sides[0], sides[1], config.compare, mask_url(baseline))
        return StepResult(
            summary=_summary(comparison),
            metrics=metrics,
            evidence={
                "baseline": comparison.baseline,
                "requests": comparison.requests,
                "reason": comparison.reason,
                "files": [path.name for path in paths],
            },
            no_data=_no_data(comparison),
            report={"comparison": comparison},
        )


def _no_data(comparison: Comparison) -> dict[str, str]:
    if comparison.reason is not None:
        return {"compare": comparison.reason}
    rows = [
        f"{row.metric}: {row.verdict}"
        for row in comparison.rows
        if row.verdict.startswith("no data")
    ]
    return {"compare": "; ".join(rows)} if rows else {}


def _summary(comparison: object) -> str:
    from warmer.model.run import Comparison

    assert isinstance(comparison, Comparison)
    if comparison.reason is not None:
        return comparison.reason
    worse = [row.metric for row in comparison.rows if row.verdict == "worse"]
    head = f"{comparison.requests:,} requests a side against {comparison.baseline}"
    return f"{head}: worse in {', '.join(worse)}" if worse else f"{head}: no regression"
