"""From checks and metrics to the report's check results and verdict (shared by run and rejudge)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from warmer.checks.grammar import Check, NoData
from warmer.checks.vocabulary import MetricValue
from warmer.errors import ExitCode
from warmer.gate.diagnose import Evidence, diagnose
from warmer.gate.evaluate import CheckOutcome, evaluate, verdict
from warmer.model.run import CheckResult


def judge(
    checks: Sequence[Check],
    metrics: Mapping[str, MetricValue],
    evidence: Evidence,
    *,
    no_data: NoData = "fail",
) -> list[CheckOutcome]:
    """Evaluate ``checks`` on ``metrics`` and diagnose every one that did not pass."""
    return diagnose(evaluate(checks, metrics, no_data=no_data), evidence)


def check_results(
    outcomes: Sequence[CheckOutcome], no_data: NoData = "fail"
) -> tuple[CheckResult, ...]:
    """The outcomes as the report model's :class:`CheckResult` rows."""
    return tuple(
        CheckResult(
            expression=o.check.text,
            metric=o.check.metric,
            operator=o.check.op,
            threshold=o.check.threshold,
            observed=o.value,
            outcome=o.status,
            unit=o.check.written_unit,
            diagnosis=o.diagnosis,
            diagnosis_id=o.diagnosis_id,
            allow_no_data=(o.check.on_no_data or no_data) == "pass",
        )
        for o in outcomes
    )


def exit_code_for(outcomes: Sequence[CheckOutcome]) -> ExitCode:
    """0 when every check passed, 1 otherwise."""
    return ExitCode.OK if verdict(outcomes) == "pass" else ExitCode.CHECK_FAILED
