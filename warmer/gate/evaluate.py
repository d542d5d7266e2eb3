"""Judge parsed checks against a mapping of metric values: pure, no clock, no network."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Literal

from warmer.checks.grammar import Check, NoData
from warmer.checks.vocabulary import MetricValue

Status = Literal["pass", "fail", "no_data", "not_evaluated"]
Verdict = Literal["pass", "fail"]


@dataclass(frozen=True)
class CheckOutcome:
    """How one check fared. ``status`` says what was seen, ``passed`` what it means."""

    check: Check
    status: Status
    value: MetricValue
    """The observed value in the metric's unit (a string or boolean for ``text`` and
    ``bool`` metrics); None when the metric had no data."""
    passed: bool
    """``status == "pass"``, or ``no_data`` under an ``on no_data pass`` policy."""
    diagnosis: str | None = None
    """One line saying why a check failed (see :mod:`warmer.gate.diagnose`)."""
    diagnosis_id: str | None = None
    """The kind of that diagnosis in ``warmer.gate.diagnose.CATALOG``."""

    def with_diagnosis(self, diagnosis: str | None, kind: str | None = None) -> CheckOutcome:
        return replace(self, diagnosis=diagnosis, diagnosis_id=kind)


def evaluate(
    checks: Iterable[Check],
    metrics: Mapping[str, MetricValue],
    *,
    no_data: NoData = "fail",
) -> list[CheckOutcome]:
    """Compare each check with its metric; a missing, None or NaN value is ``no_data``.

    ``no_data`` is the policy for checks that do not carry their own ``on no_data`` clause.
    """
    return [_one(check, metrics.get(check.metric), no_data) for check in checks]


def _one(check: Check, value: MetricValue, default: NoData) -> CheckOutcome:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        policy = check.on_no_data or default
        return CheckOutcome(check, "no_data", None, passed=policy == "pass")
    ok = check.passes(value)
    if not isinstance(value, str | bool):
        value = float(value)
    return CheckOutcome(check, "pass" if ok else "fail", value, passed=ok)


def verdict(outcomes: Sequence[CheckOutcome]) -> Verdict:
    """``pass`` when every outcome passed (an empty list passes: nothing was asked)."""
    return "pass" if all(outcome.passed for outcome in outcomes) else "fail"
