"""Re-evaluate checks, possibly new ones, against a finished run directory without replaying."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from warmer.checks.grammar import Check, NoData, parse_checks
from warmer.checks.vocabulary import MetricValue
from warmer.gate.capacity import needed_metrics, sizes_of
from warmer.gate.diagnose import Evidence
from warmer.gate.evaluate import CheckOutcome, verdict
from warmer.gate.judge import check_results, exit_code_for, judge
from warmer.gate.metrics import flatten, target_metrics, target_thresholds
from warmer.gate.preparation import skip_checks
from warmer.gate.rundir import RunDir, evidence_from_document
from warmer.model.run import RunReport


@dataclass(frozen=True)
class Rejudged:
    """A run judged again: the new report, its outcomes and where it was written."""

    report: RunReport
    outcomes: tuple[CheckOutcome, ...]
    paths: dict[str, Path]


def load_evidence(run_dir: RunDir, report: RunReport) -> Evidence:
    """``evidence.json`` when the run wrote one, else what the report alone gives."""
    if run_dir.evidence.exists():
        return evidence_from_document(run_dir.read_json(run_dir.evidence), str(run_dir.evidence))
    verify = report.verify
    tiers = tuple(t.name for t in verify.tiers) if verify else ()
    return Evidence(metrics=flatten(report), tiers=tiers)


def recorded_checks(report: RunReport) -> list[str]:
    """The check expressions the run was judged with, the built-in skip checks left out.

    The user's own are in the recorded config (``gate.checks``); reports written before
    that was recorded list them only as check results.
    """
    written = report.config.get("gate", {}).get("checks")
    if isinstance(written, list):
        return [str(text) for text in written]
    return [c.expression for c in report.checks]


def recorded_max_skip_rate(report: RunReport) -> float:
    """The run's ``gate.max_skip_rate`` (the built-in skip checks' threshold)."""
    value = report.config.get("gate", {}).get("max_skip_rate")
    return float(value) if isinstance(value, int | float) else 1.0


def rejudge(
    path: str | Path,
    checks: Sequence[str] | None = None,
    *,
    extra: Sequence[str] = (),
    no_data: NoData = "fail",
    formats: Sequence[str] = ("json", "md", "html", "junit"),
) -> Rejudged:
    """Judge the run in ``path`` with ``checks`` (default: the recorded ones) plus ``extra``.

    Metrics come from ``evidence.json`` (exact values of the run); the to-target metrics
    are recomputed from the report's warmup curves for the new thresholds (curves are
    downsampled, so they are exact to within one curve point). The reports in the run
    directory are rewritten. Bad checks are a ConfigError before anything is written.
    """
    from warmer.report import load_report, write_reports

    run_dir = RunDir(Path(path))
    report = load_report(run_dir.path)
    evidence = load_evidence(run_dir, report)
    texts = [*(recorded_checks(report) if checks is None else checks), *extra]
    parsed = parse_checks(texts, evidence.tiers or None)
    parsed = (*parsed, *skip_checks(parsed, recorded_max_skip_rate(report)))
    metrics = _metrics(report, evidence, parsed)
    evidence = dataclasses.replace(evidence, metrics=metrics)
    outcomes = tuple(judge(parsed, metrics, evidence, no_data=no_data))
    new = _rejudged_report(report, outcomes, no_data)
    return Rejudged(new, outcomes, write_reports(new, run_dir.path, formats))


def _metrics(
    report: RunReport, evidence: Evidence, checks: Sequence[Check]
) -> dict[str, MetricValue]:
    metrics = dict(evidence.metrics)
    metrics.update(target_metrics(report.timelines.warmup, checks, report.phase("warm")))
    if report.predictions is not None:  # the keys each tier needs, for the new thresholds
        sizes = sizes_of(report.predictions.tiers)
        curve = report.ceilings.miss_ratio_curve
        metrics.update(needed_metrics(curve, sizes, target_thresholds(checks)))
    return metrics


def _rejudged_report(
    report: RunReport, outcomes: Sequence[CheckOutcome], no_data: NoData
) -> RunReport:
    keep = report.verdict in ("error", "interrupted")
    warnings = tuple(w for w in report.warnings if not w.startswith("re-judged"))
    return dataclasses.replace(
        report,
        checks=check_results(outcomes, no_data),
        verdict=report.verdict if keep else verdict(outcomes),
        exit_code=report.exit_code if keep else int(exit_code_for(outcomes)),
        warnings=(*warnings, "re-judged from the run directory without replaying"),
    )
