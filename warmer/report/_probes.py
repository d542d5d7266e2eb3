"""The probe sections every text report shows: stale reads, invalidation, the comparison.

Each section is plain text — a title, lines and a table — that the Markdown and HTML
writers escape their own way (keys and URLs came from traffic and configuration).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from warmer.model.run import Comparison, ComparisonRow, RunReport
from warmer.report._format import fmt_num, fmt_pct


@dataclass(frozen=True)
class Section:
    """A titled block: lines of text, then an optional table (plain text cells)."""

    anchor: str
    title: str
    lines: tuple[str, ...] = ()
    header: tuple[str, ...] = ()
    rows: tuple[tuple[str, ...], ...] = field(default_factory=tuple)


def probe_sections(run: RunReport) -> list[Section]:
    """The sections of the probes that ran, in step order."""
    sections = []
    if run.stale_reads is not None:
        sections.append(_stale(run))
    if run.invalidation is not None:
        sections.append(_invalidation(run))
    if run.comparison is not None:
        sections.append(_comparison(run.comparison))
    return sections


def _stale(run: RunReport) -> Section:
    stale = run.stale_reads
    assert stale is not None
    if stale.rate is None:
        line = f"No data: {stale.reason}"
    else:
        line = (
            f"{fmt_num(stale.stale)} of {fmt_num(stale.checked)} keys that were cache hits "
            f"during verify answered differently through the cache than around it "
            f"({fmt_pct(stale.rate, 2)}); {fmt_num(stale.hit_keys)} distinct hit keys, "
            f"{fmt_num(stale.failed)} left out (a fetch failed or was not 200). Around the "
            f"cache: {stale.around}."
        )
    rows = tuple((e.key, ", ".join(e.differs), e.through, e.around) for e in stale.examples)
    header = ("Stale key", "Differs", "Through the cache", "Around it") if rows else ()
    return Section("stale-reads", "Stale reads", (line,), header, rows)


def _invalidation(run: RunReport) -> Section:
    probe = run.invalidation
    assert probe is not None
    if probe.visible_after_s is not None:
        verdict = "within" if probe.ok else "later than"
        line = (
            f"{probe.write}, then {probe.read} through the candidate: the change showed "
            f"after {probe.visible_after_s:.2f}s ({verdict} the {probe.within_s:g}s bound)."
        )
    else:
        line = f"{probe.write}, then {probe.read} through the candidate: {probe.reason}."
    return Section("invalidation", "Invalidation", (line,))


def _comparison(comparison: Comparison) -> Section:
    head = (
        f"The verify traffic sent to the baseline {comparison.baseline} and to the candidate "
        f"in pairs (both requests of a pair together), {fmt_num(comparison.requests)} "
        f"requests each; intervals at "
        f"{comparison.confidence:.0%} confidence (Newcombe), latency by Mann–Whitney U with "
        "Cliff's delta."
    )
    lines = [head] + ([comparison.reason] if comparison.reason else [])
    header = ("Quantity", "Baseline", "Candidate", "Difference", "Interval", "p", "Counts")
    rows = tuple(_row(row) for row in comparison.rows)
    return Section(
        "comparison", "Candidate against the baseline", tuple(lines), (*header, "Verdict"), rows
    )


def _row(row: ComparisonRow) -> tuple[str, ...]:
    if row.metric.startswith("latency.p"):
        values = (_ms(row.baseline), _ms(row.candidate), _ratio(row.delta), "–")
    elif row.metric.startswith("latency"):
        values = ("–", "–", f"Cliff's δ {_signed(row.delta)}", "–")
    else:
        interval = "–" if row.low is None else f"{_points(row.low)} … {_points(row.high)}"
        values = (fmt_pct(row.baseline), fmt_pct(row.candidate), _points(row.delta), interval)
    p = "–" if row.p_value is None else f"{row.p_value:.3g}"
    return (row.metric, *values, p, row.counts, row.verdict)


def _ms(value: float | None) -> str:
    return "–" if value is None else f"{value:,.1f} ms"


def _ratio(value: float | None) -> str:
    return "–" if value is None else f"×{value:.2f}"


def _signed(value: float | None) -> str:
    return "–" if value is None else f"{value:+.3f}"


def _points(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:+.2f} pts"
