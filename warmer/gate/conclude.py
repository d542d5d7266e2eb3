"""The end of every gate run, however it ended: measure, judge, write the run directory.

It runs after the last step, also when a step failed or a signal stopped the run, so every
run directory holds a report listing every configured check: evaluated on what was
measured, or ``not_evaluated`` when the run stopped before the check's phase sent
anything. The verdict is the error's (exit 3 or 2) when a step failed, ``interrupted``
(exit 130) after a signal, else the checks' (0 or 1).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from warmer import __version__
from warmer.checks.vocabulary import MetricValue
from warmer.errors import ExitCode, WarmerError
from warmer.gate.convergence import converge
from warmer.gate.diagnose import Evidence
from warmer.gate.evaluate import CheckOutcome
from warmer.gate.findings import findings
from warmer.gate.judge import check_results, exit_code_for, judge
from warmer.gate.memory import lean_memory, release_memory
from warmer.gate.metrics import flatten, traffic_stats
from warmer.gate.rundir import config_document, evidence_document
from warmer.gate.steps.traffic import unsendable
from warmer.model.run import (
    Ceilings,
    PhaseMark,
    PhaseReport,
    RunReport,
    StepReport,
    Timelines,
    downsample,
    mask_url,
)
from warmer.observe.headers import in_send_order, phase_rows

if TYPE_CHECKING:
    import pyarrow as pa

    from warmer.gate.steps.base import RunState, StepResult
    from warmer.observe.session import RunFigures


@dataclass(frozen=True)
class GateResult:
    """A finished (or stopped) run: its report, outcomes and files."""

    report: RunReport
    outcomes: tuple[CheckOutcome, ...]
    run_dir: Path
    paths: dict[str, Path] = field(default_factory=dict)
    fault: WarmerError | None = None
    """The error that stopped the run (its message and hint), None when nothing did."""

    @property
    def exit_code(self) -> int:
        return self.report.exit_code


def conclude(
    state: RunState, steps: Sequence[StepReport], results: Mapping[str, StepResult]
) -> GateResult:
    """Measure what the run sent, judge the checks, write every file of the run directory.

    ``steps`` are the run's step records in order; ``results`` the evidence of the steps
    that finished, by step name.
    """
    with lean_memory():  # the largest tables of the run are read and analysed here
        return _conclude(state, steps, results)


def _conclude(
    state: RunState, steps: Sequence[StepReport], results: Mapping[str, StepResult]
) -> GateResult:
    from warmer.observe.session import RunFigures

    sent = state.end_traffic()
    state.prepared = state.prepared.with_profile()
    table = in_send_order(_results(state)) if sent else None  # sorted once, copied never
    release_memory()
    figures = state.observation.figures(table) if table is not None else RunFigures()
    phases, extra, gap = _phases(state, table, figures)
    draft = _report(state, phases, figures, steps)
    draft = dataclasses.replace(
        draft, **{k: v for r in results.values() for k, v in r.report.items()}
    )
    metrics: dict[str, MetricValue] = dict(flatten(draft, state.prepared.checks))
    metrics.update({k: v for k, v in extra.items() if metrics.get(k) is None})
    for result in results.values():
        metrics.update(result.metrics)
    evidence = Evidence(
        metrics=metrics,
        tiers=tuple(state.config.tiers),
        missing={
            **figures.missing,
            **{k: v for result in results.values() for k, v in result.no_data.items()},
        },
        backend_gap=gap,
        tolerance=state.config.observe.consistency_tolerance,
        error_kinds=_error_kinds(phases),
        skipped={p.name: dict(p.skipped) for p in phases},
        findings=findings(draft),
    )
    outcomes = _judge(state, evidence, {p.name for p in phases if p.requests})
    verdict, code = _verdict(state, outcomes)
    report = dataclasses.replace(
        draft,
        verdict=verdict,
        exit_code=int(code),
        partial=state.fault is not None or state.interrupted is not None,
        checks=check_results(outcomes, state.options.no_data),
        warnings=(*figures.warnings, *(w for r in results.values() for w in r.warnings)),
        error=_error(state),
        finished_at=_now(),
    )
    steps_evidence = {name: dict(r.evidence) for name, r in results.items() if r.evidence}
    state.dir.write_json(state.dir.evidence, evidence_document(evidence, steps_evidence))
    if figures.timelines:
        state.dir.write_json(state.dir.timelines, figures.timelines)
    return _write_reports(state, report, outcomes)


UNREAD_COLUMNS = frozenset(
    {"method", "target", "response_bytes", "body_digest", "etag", "last_modified", "scheduled_s"}
)
"""Results columns no figure reads: left on disk, so a long run's conclusion holds less
(``target`` alone is often the widest column, ``last_modified`` the next)."""


def _results(state: RunState) -> pa.Table:
    from warmer.model.results import RESULTS_ARROW_SCHEMA
    from warmer.replay.results import open_results, upgrade

    results = open_results(state.dir.results)
    names = [name for name in RESULTS_ARROW_SCHEMA.names if name not in UNREAD_COLUMNS]
    if results.all_null("expires"):
        names.remove("date")  # Date is read only to work out Expires − Date
    return upgrade(results.to_table(names, compact=True))


def _judge(state: RunState, evidence: Evidence, phases_sent: set[str]) -> tuple[CheckOutcome, ...]:
    """Judge every check; those whose phase never sent a request are ``not_evaluated``."""
    checks = state.prepared.checks
    stopped = state.fault is not None or state.interrupted is not None
    judged = judge(
        [c for c in checks if not stopped or c.phase in phases_sent],
        evidence.metrics,
        evidence,
        no_data=state.options.no_data,
    )
    by_check = {outcome.check: outcome for outcome in judged}
    why = f"not evaluated: {_error(state) or 'the run stopped'}"
    return tuple(
        by_check.get(check)
        or CheckOutcome(check, "not_evaluated", None, False, why, "not-evaluated")
        for check in checks
    )


def _verdict(state: RunState, outcomes: Sequence[CheckOutcome]) -> tuple[Any, ExitCode]:
    if state.fault is not None:
        return "error", state.fault.exit_code
    if state.interrupted is not None:
        return "interrupted", ExitCode.INTERRUPTED
    code = exit_code_for(outcomes)
    return ("pass" if code == ExitCode.OK else "fail"), code


def _error(state: RunState) -> str | None:
    if state.fault is not None:
        return state.fault.message
    if state.interrupted is not None:
        return f"interrupted by {state.interrupted}; the report covers what was sent"
    return None


def _phases(
    state: RunState, table: pa.Table | None, figures: RunFigures
) -> tuple[list[PhaseReport], dict[str, float | None], float | None]:

    from warmer.observe.session import PhaseFigures

    phases: list[PhaseReport] = []
    extra: dict[str, float | None] = {}
    gap: float | None = None
    for name, summary in state.summaries.items():
        if table is None:
            break
        rows = phase_rows(table, name)
        seen = figures.phases.get(name) or PhaseFigures()
        records = rows.num_rows + sum(summary.skipped.values())
        phase = dataclasses.replace(
            traffic_stats(name, rows),
            skipped=dict(summary.skipped),
            skip_rate=unsendable(summary.skipped) / records if records else None,
            tiers=seen.tiers,
            effective_hit_rate=seen.effective_hit_rate,
            backend=seen.backend,
            compression=seen.compression,
        )
        phases.append(phase)
        prefix = "warm." if name == "warm" else ""
        extra.update({prefix + k: v for k, v in seen.extra.items()})
        if name == "verify":
            gap = seen.backend_gap
    return phases, extra, gap


def _report(
    state: RunState,
    phases: Sequence[PhaseReport],
    figures: RunFigures,
    steps: Sequence[StepReport],
) -> RunReport:
    prepared = state.prepared
    return RunReport(
        run_id=state.run_id,
        verdict="pass",
        exit_code=0,
        started_at=state.started_at,
        finished_at=_now(),
        warmer_version=__version__,
        target=mask_url(state.target),
        steps=tuple(steps),
        sample=prepared.sample,
        plan=prepared.plan,
        phases=tuple(phases),
        ceilings=prepared.ceilings or Ceilings(),
        timelines=_timelines(phases, figures),
        config=config_document(state.config, list(state.options.checks)),
    )


def _timelines(phases: Sequence[PhaseReport], figures: RunFigures) -> Timelines:
    marks = []
    sent = 0
    for phase in phases:
        marks.append(PhaseMark(phase.name, sent, phase.started_s))
        sent += phase.requests
    warm = next((p for p in phases if p.name == "warm"), None)
    return Timelines(
        warmup=tuple(
            dataclasses.replace(c, points=tuple(downsample(c.points, x=0, y=2)))
            for c in figures.curves
        ),
        backend_load=tuple(downsample(figures.backend_load)),
        phase_marks=tuple(marks),
        convergence=converge(figures.curves, warm),
    )


def _error_kinds(phases: Sequence[PhaseReport]) -> dict[str, int]:
    verify = next((p for p in phases if p.name == "verify"), None)
    if verify is None:
        return {}
    kinds = dict(verify.errors)
    if verify.status_classes.get("5xx"):
        kinds["5xx"] = verify.status_classes["5xx"]
    return kinds


def _write_reports(
    state: RunState, report: RunReport, outcomes: tuple[CheckOutcome, ...]
) -> GateResult:
    from warmer.report import write_reports

    paths = write_reports(report, state.dir.path, state.options.formats)
    return GateResult(report, outcomes, state.dir.path, paths, state.fault)


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
