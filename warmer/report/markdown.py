"""The Markdown report: a pull-request comment or CI job summary, verdict first.

Every string that came from traffic or configuration goes through ``md_text`` (plain text)
or ``md_code`` (a code span); both are safe inside a GitHub-flavoured table cell.
"""

from __future__ import annotations

import re

from warmer.model.run import CheckResult, PhaseReport, RunReport, TierMetrics
from warmer.model.text import printable
from warmer.report._format import (
    OPERATORS,
    OUTCOME_LABEL,
    VERDICT_LABEL,
    Markup,
    backend_line,
    drift_table,
    effective_line,
    errors_summary,
    fmt_num,
    fmt_pct,
    fmt_seconds,
    fmt_threshold,
    fmt_value,
    forecast_cells,
    skipped_summary,
    status_summary,
    step_line,
    summary_line,
    tier_config_table,
    warming_lines,
)
from warmer.report._probes import Section, probe_sections

_MD_SPECIAL = re.compile(r"([\\`*_\[\]|~])")
_WHITESPACE = re.compile(r"\s+")
_BLOCK_START = re.compile(r"[#>+\-=]")
_ORDERED_ITEM = re.compile(r"^(\d+)([.)])(?=\s|$)")


def md_text(value: object) -> str:
    """``value`` as inert Markdown text: HTML neutralised, emphasis/links/pipes escaped,
    control characters shown as escapes."""
    text = printable(_WHITESPACE.sub(" ", str(value)).strip())
    text = text.replace("&", "&amp;").replace("<", "&lt;")  # no tag can open without "<"
    text = _MD_SPECIAL.sub(r"\\\1", text)
    # A leading "#", ">", "+", "-", "=" or "1." would turn a list item into a heading,
    # quote or nested list.
    if _BLOCK_START.match(text):
        return "\\" + text
    return _ORDERED_ITEM.sub(r"\1\\\2", text)


def md_code(value: object) -> str:
    """``value`` as a code span (pipes escaped for tables); plain text if it holds a backtick."""
    text = printable(_WHITESPACE.sub(" ", str(value)).strip())
    if "`" in text or not text:
        return md_text(text)
    return "`" + text.replace("|", "\\|") + "`"


_MARKUP = Markup(bold=lambda label: f"**{label}**", text=md_text)


def render_markdown(run: RunReport) -> str:
    """``report.md``: verdict line, checks, tiers, backend, phases, warnings."""
    sections = [
        _verdict(run),
        _checks(run),
        _warming(run),
        _tiers(run),
        _tier_config(run),
        _drift(run),
        *(_probe(section) for section in probe_sections(run)),
        _phases(run),
        _steps(run),
        _warnings(run),
    ]
    return "\n\n".join(s for s in sections if s) + "\n"


def _probe(section: Section) -> str:
    parts = [f"### {section.title}", *(md_text(line) for line in section.lines)]
    if section.rows:
        rows = [[md_text(cell) for cell in row] for row in section.rows]
        parts.append(_table(list(section.header), rows))
    return "\n\n".join(parts)


def _verdict(run: RunReport) -> str:
    label = VERDICT_LABEL.get(run.verdict, run.verdict.upper())
    head = f"## warmer gate: **{label}** ({md_text(summary_line(run))})"
    facts = [f"run {md_code(run.run_id)}", f"exit code {run.exit_code}"]
    if run.target:
        facts.append(f"target {md_code(run.target)}")
    if run.sample:
        facts.append(f"sample {md_code(run.sample.path)}")
    if run.started_at:
        facts.append(f"started {md_text(run.started_at)}")
    if run.warmer_version:
        facts.append(f"warmer {md_text(run.warmer_version)}")
    lines = [head, "", " · ".join(facts)]
    if run.partial:
        lines += ["", "**Partial report:** the run stopped early; numbers cover what was sent."]
    return "\n".join(lines)


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _checks(run: RunReport) -> str:
    if not run.checks:
        return "### Checks\n\nNo checks were configured."
    rows = [_check_row(c) for c in run.checks]
    header = ["Check", "Observed", "Threshold", "Outcome", "Diagnosis"]
    return "### Checks\n\n" + _table(header, rows)


def _check_row(check: CheckResult) -> list[str]:
    outcome = OUTCOME_LABEL.get(check.outcome, check.outcome)
    if check.outcome == "no_data" and check.allow_no_data:
        outcome += " (allowed)"
    elif check.outcome != "pass":
        outcome = f"**{outcome}**"
    return [
        md_code(check.expression),
        md_text(fmt_value(check.metric, check.observed)),
        fmt_threshold(check)
        if check.operator in OPERATORS and not isinstance(check.threshold, str)
        else md_text(fmt_threshold(check)),
        outcome,
        md_text(check.diagnosis or ""),
    ]


def _tiers(run: RunReport) -> str:
    phase = run.verify or (run.phases[-1] if run.phases else None)
    if phase is None:
        return ""
    parts = [f"### Tiers ({md_text(phase.name)} phase)"]
    if phase.tiers:
        header = ["Tier", "Source", "Hit rate", "Predicted", "Lookups", "Evictions", "Keys"]
        parts.append(_table(header, [_tier_row(run, t) for t in phase.tiers]))
    parts.append(effective_line(run, phase, _MARKUP))
    parts.append(backend_line(phase, _MARKUP))
    return "\n\n".join(p for p in parts if p)


def _tier_row(run: RunReport, tier: TierMetrics) -> list[str]:
    name = md_text(tier.name) + (" (shared)" if tier.shared else "")
    rate = "no data" if tier.missing_data else fmt_pct(tier.hit_rate)
    predicted, size = forecast_cells(run, tier.name)
    return [
        name,
        md_text(tier.source),
        rate,
        md_text(predicted if predicted == "–" else f"{predicted} ({size})"),
        fmt_num(tier.lookups),
        fmt_num(tier.evictions),
        fmt_num(tier.keys),
    ]


def _tier_config(run: RunReport) -> str:
    if not run.tier_config:
        return ""
    header, rows = tier_config_table(run)
    cells = [[md_text(cell) for cell in row] for row in rows]
    return "### Tier configuration\n\n" + _table([md_text(h) for h in header], cells)


def _drift(run: RunReport) -> str:
    if run.drift is None:
        return ""
    header, rows = drift_table(run)
    cells = [[md_text(cell) if cell else "" for cell in row] for row in rows]
    for row, source in zip(cells, rows, strict=True):
        if source[4] == "DRIFT":
            row[4] = "**DRIFT**"
    lead = f"{run.drift.failures} difference(s) beyond the [drift] tolerances."
    return "### Drift from the baseline\n\n" + md_text(lead) + "\n\n" + _table(header, cells)


def _warming(run: RunReport) -> str:
    lines = warming_lines(run)
    if not lines:
        return ""
    return "### Warming\n\n" + "\n".join(f"- {md_text(line)}" for line in lines)


def _phases(run: RunReport) -> str:
    if not run.phases:
        return ""
    header = ["Phase", "Requests", "Skipped", "Duration", "Rate", "Statuses", "Errors"]
    header += ["p50", "p95", "p99"]
    rows = [_phase_row(p) for p in run.phases]
    return "### Phases\n\n" + _table(header, rows)


def _phase_row(p: PhaseReport) -> list[str]:
    lat = p.latency
    return [
        md_text(p.name),
        fmt_num(p.requests),
        md_text(skipped_summary(p.skipped)),
        fmt_seconds(p.duration_s),
        md_text(fmt_value("backend.rps", p.achieved_rps)),
        md_text(status_summary(p.status_classes)),
        md_text(errors_summary(p.errors)),
        md_text(fmt_value("p50_ms", lat.p50_ms)),
        md_text(fmt_value("p95_ms", lat.p95_ms)),
        md_text(fmt_value("p99_ms", lat.p99_ms)),
    ]


def _steps(run: RunReport) -> str:
    if not run.steps or all(s.status == "ok" for s in run.steps):
        return ""  # a run that went through every step says so in its verdict line
    return "### Steps\n\n" + "\n".join(f"- {md_text(step_line(s))}" for s in run.steps)


def _warnings(run: RunReport) -> str:
    if not run.warnings:
        return ""
    return "### Warnings\n\n" + "\n".join(f"- {md_text(w)}" for w in run.warnings)
