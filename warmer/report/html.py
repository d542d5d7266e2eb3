"""The HTML report: one self-contained page (inline CSS and SVG, no script, opens offline).

Every string from traffic or configuration is escaped with ``html.escape``; a Content
Security Policy that allows no script at all backs that up.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from html import escape

from warmer.model.run import CheckResult, PhaseReport, RunReport, TierMetrics
from warmer.report import _charts
from warmer.report._format import (
    OUTCOME_LABEL,
    STEP_LABEL,
    VERDICT_LABEL,
    Markup,
    backend_line,
    drift_table,
    effective_line,
    errors_summary,
    fmt_bytes,
    fmt_num,
    fmt_pct,
    fmt_seconds,
    fmt_threshold,
    fmt_value,
    forecast_cells,
    passes,
    skipped_summary,
    status_summary,
    summary_line,
    tier_config_table,
    warming_lines,
)
from warmer.report._probes import Section, probe_sections

_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"

_CSS = """
:root{--pass:#1a7f37;--fail:#cf222e;--warn:#9a6700;--muted:#57606a;--line:#d0d7de}
*{box-sizing:border-box}
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;
color:#1f2328;background:#f6f8fa}
main{max-width:1240px;margin:0 auto;padding:16px 24px 48px}
h2{font-size:1.15rem;margin:28px 0 10px}
.banner{border-radius:8px;padding:16px 20px;color:#fff;margin-top:8px}
.banner h1{margin:0;font-size:1.6rem}
.banner p{margin:4px 0 0;opacity:.95}
.v-pass{background:var(--pass)}.v-fail{background:var(--fail)}
.v-error,.v-interrupted{background:var(--warn)}
.meta{color:var(--muted);margin:8px 0 0;overflow-wrap:anywhere}
.note{background:#fff8c5;border:1px solid #d4a72c;border-radius:6px;padding:8px 12px}
table{border-collapse:collapse;width:100%;background:#fff;border:1px solid var(--line)}
th,td{text-align:left;padding:6px 10px;border-bottom:1px solid var(--line);vertical-align:top}
th{background:#eaeef2;font-weight:600}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
code{font:13px ui-monospace,SFMono-Regular,Menlo,monospace;overflow-wrap:anywhere}
.badge{display:inline-block;border-radius:10px;padding:1px 9px;font-size:12px;
font-weight:700;color:#fff;white-space:nowrap}
.o-pass{background:var(--pass)}.o-fail,.o-error{background:var(--fail)}
.o-no_data{background:var(--warn)}.o-allowed,.o-not_evaluated{background:var(--muted)}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(520px,1fr));gap:16px}
figure{margin:0;background:#fff;border:1px solid var(--line);border-radius:6px;padding:10px}
figcaption{font-weight:600;margin:0 0 4px 4px}
svg.chart{width:100%;height:auto;display:block;font-size:13px;fill:#1f2328}
svg .grid{stroke:#e5e8eb}svg .axis{stroke:#8c959f}
svg .axis-label{font-weight:600;fill:var(--muted)}svg .muted{fill:var(--muted);font-size:15px}
svg .mark{fill:#444;font-size:12px;paint-order:stroke;stroke:#fff;stroke-width:3px}
dl{display:grid;grid-template-columns:max-content 1fr;gap:4px 16px;margin:0}
dt{color:var(--muted)}dd{margin:0;overflow-wrap:anywhere}
pre{background:#fff;border:1px solid var(--line);padding:10px;overflow:auto;font-size:12px}
ul.warnings li{margin:2px 0}
"""


def esc(value: object) -> str:
    """Text safe in an element body or a quoted attribute."""
    return escape(str(value), quote=True)


_MARKUP = Markup(bold=lambda label: f"<b>{label}</b>", text=esc)


def render_html(run: RunReport) -> str:
    """``report.html``: verdict banner, checks, charts, tiers, phases, warnings, run details."""
    body = [
        _banner(run),
        _notes(run),
        _checks(run),
        _warming(run),
        _charts_section(run),
        _tiers(run),
        _tier_config(run),
        _drift(run),
        *(_probe(section) for section in probe_sections(run)),
        _phases(run),
        _steps(run),
        _warnings(run),
        _details(run),
    ]
    verdict = VERDICT_LABEL.get(run.verdict, run.verdict)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>warmer gate {esc(verdict)}: {esc(run.run_id)}</title>"
        f"<style>{_CSS}</style></head>\n<body><main>\n"
        + "\n".join(b for b in body if b)
        + "\n</main></body></html>\n"
    )


def _banner(run: RunReport) -> str:
    label = VERDICT_LABEL.get(run.verdict, run.verdict.upper())
    facts = [f"run <code>{esc(run.run_id)}</code>", f"exit code {run.exit_code}"]
    if run.target:
        facts.append(f"target <code>{esc(run.target)}</code>")
    if run.sample:
        facts.append(f"sample <code>{esc(run.sample.path)}</code>")
    if run.started_at:
        facts.append(f"started {esc(run.started_at)}")
    return (
        f'<header class="banner v-{esc(run.verdict)}" id="verdict"><h1>{esc(label)}</h1>'
        f"<p>{esc(summary_line(run))}</p></header>"
        f'<p class="meta">{" · ".join(facts)}</p>'
    )


def _notes(run: RunReport) -> str:
    notes = []
    if run.partial:
        notes.append("Partial report: the run stopped early; numbers cover what was sent.")
    if run.error and run.verdict not in ("error", "interrupted"):
        notes.append(run.error)
    return "".join(f'<p class="note">{esc(n)}</p>' for n in notes)


def _probe(section: Section) -> str:
    parts = [f'<h2 id="{section.anchor}">{esc(section.title)}</h2>']
    parts += [f"<p>{esc(line)}</p>" for line in section.lines]
    if section.rows:
        rows = [[esc(cell) for cell in row] for row in section.rows]
        parts.append(_table([esc(h) for h in section.header], rows, set()))
    return "".join(parts)


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], numeric: set[int]) -> str:
    """A table whose cells are already-escaped HTML; ``numeric`` columns align right."""
    head = "".join(f"<th>{h}</th>" for h in header)
    lines = []
    for row in rows:
        cells = "".join(
            f'<td class="num">{c}</td>' if i in numeric else f"<td>{c}</td>"
            for i, c in enumerate(row)
        )
        lines.append(f"<tr>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(lines)}</tbody></table>"


def _checks(run: RunReport) -> str:
    if not run.checks:
        return '<h2>Checks</h2><p class="meta">No checks were configured.</p>'
    rows = [_check_row(c) for c in run.checks]
    header = ["Check", "Observed", "Threshold", "Outcome", "Diagnosis"]
    return '<h2 id="checks">Checks</h2>' + _table(header, rows, {1, 2})


def _check_row(check: CheckResult) -> list[str]:
    label = OUTCOME_LABEL.get(check.outcome, check.outcome)
    css: str = check.outcome
    if check.outcome == "no_data" and check.allow_no_data and passes(check):
        label, css = "NO DATA (allowed)", "allowed"
    return [
        f"<code>{esc(check.expression)}</code>",
        esc(fmt_value(check.metric, check.observed)),
        esc(fmt_threshold(check)),
        f'<span class="badge o-{esc(css)}">{esc(label)}</span>',
        esc(check.diagnosis or ""),
    ]


def _warming(run: RunReport) -> str:
    lines = warming_lines(run)
    if not lines:
        return ""
    items = "".join(f"<li>{esc(line)}</li>" for line in lines)
    return f'<h2 id="warming">Warming</h2><ul class="warnings">{items}</ul>'


def _charts_section(run: RunReport) -> str:
    figures = _charts.all_charts(run)
    items = "".join(
        f"<figure><figcaption>{esc(t)}</figcaption>{svg}</figure>" for t, svg in figures
    )
    return f'<h2 id="charts">Charts</h2><div class="charts">{items}</div>'


def _tiers(run: RunReport) -> str:
    phase = run.verify or (run.phases[-1] if run.phases else None)
    if phase is None:
        return ""
    warm = run.phase("warm") if phase.name != "warm" else None
    header = [
        "Tier",
        "Source",
        f"Hit rate ({esc(phase.name)})",
        "Hit rate (warm)",
        "Predicted (recorded pace)",
        "Modelled size",
        "Lookups",
        "Evictions",
        "Keys",
        "Memory",
    ]
    rows = [_tier_row(run, t, warm.tier(t.name) if warm else None) for t in phase.tiers]
    parts = [f'<h2 id="tiers">Tiers ({esc(phase.name)} phase)</h2>']
    if rows:
        parts.append(_table(header, rows, {2, 3, 4, 6, 7, 8, 9}))
    if run.predictions is not None and run.predictions.basis:
        predicted = fmt_pct(run.predictions.effective_hit_rate)
        parts.append(
            f'<p class="meta">Predicted: {esc(run.predictions.basis)}; effective '
            f"{esc(predicted)}.</p>"
        )
    parts.append(f"<p>{effective_line(run, phase, _MARKUP)}<br>{backend_line(phase, _MARKUP)}</p>")
    return "".join(parts)


def _tier_row(run: RunReport, tier: TierMetrics, warm: TierMetrics | None) -> list[str]:
    name = esc(tier.name) + (' <span class="meta">(shared)</span>' if tier.shared else "")
    if tier.note:
        name += f'<br><span class="meta">{esc(tier.note)}</span>'
    predicted, size = forecast_cells(run, tier.name)
    return [
        name,
        esc(tier.source),
        "no data" if tier.missing_data else esc(fmt_pct(tier.hit_rate)),
        esc(fmt_pct(warm.hit_rate)) if warm and not warm.missing_data else "–",
        esc(predicted),
        esc(size),
        esc(fmt_num(tier.lookups)),
        esc(fmt_num(tier.evictions)),
        esc(fmt_num(tier.keys)),
        esc(fmt_bytes(tier.memory_bytes)),
    ]


def _tier_config(run: RunReport) -> str:
    if not run.tier_config:
        return ""
    header, rows = tier_config_table(run)
    body = [[esc(cell) for cell in row] for row in rows]
    return '<h2 id="tier-config">Tier configuration</h2>' + _table(
        [esc(h) for h in header], body, set()
    )


def _drift(run: RunReport) -> str:
    if run.drift is None:
        return ""
    header, rows = drift_table(run)
    body = [[esc(cell) for cell in row] for row in rows]
    for row, source in zip(body, rows, strict=True):
        if source[4] == "DRIFT":
            row[4] = '<span class="badge o-fail">DRIFT</span>'
    lead = f"{run.drift.failures} difference(s) beyond the [drift] tolerances."
    return f'<h2 id="drift">Drift from the baseline</h2><p>{esc(lead)}</p>' + _table(
        header, body, set()
    )


def _phases(run: RunReport) -> str:
    if not run.phases:
        return ""
    header = [
        "Phase",
        "Requests",
        "Skipped",
        "Duration",
        "Rate",
        "Statuses",
        "Errors",
        "p50",
        "p90",
        "p95",
        "p99",
        "max",
    ]
    rows = [_phase_row(p) for p in run.phases]
    return '<h2 id="phases">Phases</h2>' + _table(header, rows, {1, 3, 4, 7, 8, 9, 10, 11})


def _phase_row(p: PhaseReport) -> list[str]:
    lat = p.latency
    latencies = [lat.p50_ms, lat.p90_ms, lat.p95_ms, lat.p99_ms, lat.max_ms]
    return [
        esc(p.name),
        esc(fmt_num(p.requests)),
        esc(skipped_summary(p.skipped)),
        esc(fmt_seconds(p.duration_s)),
        esc(fmt_value("backend.rps", p.achieved_rps)),
        esc(status_summary(p.status_classes)),
        esc(errors_summary(p.errors)),
        *(esc(fmt_value("latency_ms", v)) for v in latencies),
    ]


def _steps(run: RunReport) -> str:
    if not run.steps:
        return ""
    rows = [
        [
            esc(step.name),
            esc(STEP_LABEL.get(step.status, step.status)),
            esc(fmt_seconds(step.duration_s)) if step.duration_s is not None else "–",
            esc(step.error if step.status in ("error", "not_run") else step.summary),
        ]
        for step in run.steps
    ]
    return '<h2 id="steps">Steps</h2>' + _table(["Step", "Status", "Took", "What"], rows, {2})


def _warnings(run: RunReport) -> str:
    if not run.warnings:
        return ""
    items = "".join(f"<li>{esc(w)}</li>" for w in run.warnings)
    return f'<h2 id="warnings">Warnings</h2><ul class="warnings">{items}</ul>'


def _details(run: RunReport) -> str:
    rows: list[tuple[str, str]] = [
        ("Started", run.started_at),
        ("Finished", run.finished_at),
        ("warmer", run.warmer_version),
    ]
    if run.sample:
        s = run.sample
        rows += [
            ("Sample", s.path),
            ("Sample requests", fmt_num(s.requests)),
            ("Unique keys", fmt_num(s.unique_keys)),
            ("Recorded span", fmt_seconds(s.span_s)),
            ("Sample rate", fmt_pct(s.sample_rate)),
        ]
    p = run.plan
    rows += [
        ("Split", p.split),
        ("Requests (warm / verify)", f"{fmt_num(p.warm_requests)} / {fmt_num(p.verify_requests)}"),
        ("Pacing", _pacing(run)),
        ("Order", p.order),
        ("Expected duration", fmt_seconds(p.expected_duration_s)),
    ]
    items = "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in rows if v)
    config = json.dumps(run.config, indent=2, ensure_ascii=False, default=str)
    return (
        f'<h2 id="details">Run details</h2><dl>{items}</dl>'
        f"<details><summary>Effective configuration (secrets masked)</summary>"
        f"<pre>{esc(config)}</pre></details>"
    )


def _pacing(run: RunReport) -> str:
    p = run.plan
    extra = []
    if p.rate is not None:
        extra.append(f"{fmt_num(p.rate)} req/s")
    if p.speed is not None and p.pacing == "recorded":
        extra.append(f"× {fmt_num(p.speed)}")
    if p.concurrency is not None:
        extra.append(f"concurrency {p.concurrency}")
    return " ".join([p.pacing, *extra]) + (f" ({p.engine} engine)" if p.engine else "")
