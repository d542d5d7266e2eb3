"""The Markdown report: golden file, verdict first, tables intact, traffic strings inert."""

from __future__ import annotations

import dataclasses
import re

import pytest

from tests.report.fixtures import SCRIPT
from tests.report.golden import assert_golden
from warmer.model.run import CheckResult, RunReport
from warmer.report.markdown import md_code, md_text, render_markdown


def test_markdown_matches_golden(run: RunReport) -> None:
    assert_golden("report.md", render_markdown(run))


def test_verdict_comes_first(run: RunReport) -> None:
    first = render_markdown(run).splitlines()[0]
    assert first.startswith("## warmer gate: **FAIL**")
    passing = dataclasses.replace(run, verdict="pass", exit_code=0, checks=run.checks[:1])
    assert "**PASS** (all 1 checks passed)" in render_markdown(passing).splitlines()[0]


def _cells(row: str) -> int:
    """Number of cells of a GFM table row: pipes not escaped with a backslash."""
    return len(re.findall(r"(?<!\\)\|", row)) - 1


def test_every_table_row_has_the_header_cell_count(run: RunReport) -> None:
    rows = [line for line in render_markdown(run).splitlines() if line.startswith("|")]
    assert rows
    tables: list[list[str]] = []
    for line in render_markdown(run).splitlines():
        if line.startswith("|"):
            if not tables or not tables[-1]:
                tables.append([])
            tables[-1].append(line)
        elif tables and tables[-1]:
            tables.append([])
    for table in filter(None, tables):
        assert {_cells(r) for r in table} == {_cells(table[0])}, table


def test_no_raw_html_survives(run: RunReport) -> None:
    text = render_markdown(run)
    assert "<script" not in text and "<b>" not in text
    assert "&lt;script>document.title" in text


def test_checks_table_shows_observed_threshold_outcome_and_diagnosis(run: RunReport) -> None:
    text = render_markdown(run)
    assert "| `hit_rate.l0 >= 0.85` | 71.0 % | >= 85.0 % | **FAIL** | L0 evicted" in text
    assert "| `hit_rate.l2 >= 0.5` | no data | >= 50.0 % | **NO DATA** |" in text


def test_allowed_no_data_is_not_bold(run: RunReport) -> None:
    check = dataclasses.replace(run.checks[2], allow_no_data=True)
    text = render_markdown(dataclasses.replace(run, checks=(check,)))
    assert "| NO DATA (allowed) |" in text


def test_unknown_operator_is_escaped(run: RunReport) -> None:
    check = CheckResult("x", "hit_rate.l0", "<img src=x>", 0.5, 0.4, "fail")
    text = render_markdown(dataclasses.replace(run, checks=(check,)))
    assert "<img" not in text


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("plain text", "plain text"),
        ("a|b", "a\\|b"),
        ("`code`", "\\`code\\`"),
        ("<script>x</script>", "&lt;script>x&lt;/script>"),
        ("*bold* _it_", "\\*bold\\* \\_it\\_"),
        ("[link](javascript:x)", "\\[link\\](javascript:x)"),
        ("line\nbreak\r\n\tend", "line break end"),
        ("a & b", "a &amp; b"),
        ("back\\slash", "back\\\\slash"),
        ("# heading", "\\# heading"),
        ("> quote", "\\> quote"),
        ("- item", "\\- item"),
        ("1. first", "1\\. first"),
        ("4.90 ms", "4.90 ms"),
    ],
)
def test_md_text(raw: str, escaped: str) -> None:
    assert md_text(raw) == escaped


@pytest.mark.parametrize(
    ("raw", "rendered"),
    [
        ("hit_rate.l0 >= 0.85", "`hit_rate.l0 >= 0.85`"),
        ("a|b", "`a\\|b`"),
        ("<b>", "`<b>`"),
        ("has `tick`", "has \\`tick\\`"),
        ("", ""),
    ],
)
def test_md_code(raw: str, rendered: str) -> None:
    assert md_code(raw) == rendered


def test_interrupted_run_says_why_and_that_it_is_partial(run: RunReport) -> None:
    stopped = dataclasses.replace(
        run, verdict="interrupted", exit_code=130, partial=True, error="SIGINT during verify"
    )
    lines = render_markdown(stopped).splitlines()
    assert lines[0] == "## warmer gate: **INTERRUPTED** (SIGINT during verify)"
    assert "**Partial report:**" in render_markdown(stopped)


def test_script_in_sample_path_is_text(run: RunReport) -> None:
    assert SCRIPT not in render_markdown(run)
