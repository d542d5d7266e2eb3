"""The stale-read, invalidation and comparison sections of the text reports."""

from __future__ import annotations

import dataclasses

from warmer.model.run import (
    Comparison,
    ComparisonRow,
    InvalidationProbe,
    RunReport,
    StaleKey,
    StaleReads,
)
from warmer.report.html import render_html
from warmer.report.markdown import render_markdown

HOSTILE = "GET /p?q=<script>alert(1)</script>|`x`"


def _run(run: RunReport) -> RunReport:
    stale = StaleReads(
        around="the candidate with Cache-Control: no-cache",
        hit_keys=900,
        checked=200,
        stale=3,
        rate=0.015,
        examples=(StaleKey(HOSTILE, 'status 200, ETag "a"', 'status 200, ETag "b"', ("etag",)),),
    )
    probe = InvalidationProbe("POST http://admin/x", "/product/7", 5.0, True, 0.31, True)
    comparison = Comparison(
        baseline="http://release:8080",
        requests=5000,
        rows=(
            ComparisonRow("hit_rate.l0", 0.9, 0.8, -0.1, -0.12, -0.08, 1e-9, "1/2 vs 3/4", "worse"),
            ComparisonRow("latency.p99_ms", 12.0, 13.2, 1.1, verdict="ratio"),
        ),
    )
    return dataclasses.replace(run, stale_reads=stale, invalidation=probe, comparison=comparison)


def test_markdown_sections_escape_what_came_from_traffic(run: RunReport) -> None:
    text = render_markdown(_run(run))
    assert "### Stale reads" in text and "### Candidate against the baseline" in text
    assert "<script>" not in text and "&lt;script>" in text
    assert "1.50 %" in text and "-10.00 pts" in text and "×1.10" in text
    assert "after 0.31s (within the 5s bound)" in text


def test_html_sections_escape_what_came_from_traffic(run: RunReport) -> None:
    text = render_html(_run(run))
    assert 'id="stale-reads"' in text and 'id="comparison"' in text
    assert "<script>" not in text and "&lt;script&gt;" in text


def test_json_round_trips_the_sections(run: RunReport) -> None:
    full = _run(run)
    again = RunReport.from_dict(full.to_dict())
    assert again.stale_reads == full.stale_reads and again.comparison == full.comparison
    assert again.invalidation == full.invalidation
