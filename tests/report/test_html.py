"""The HTML report: self-contained, charts present, everything from traffic inert.

The browser tests open the page in headless Chromium (Debian ``chromium``); they skip with a
reason when it is not installed, and fail under CI, where ``scripts/bootstrap.sh`` installs it.
"""

from __future__ import annotations

import dataclasses
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import require
from tests.report.fixtures import INJECTED_TITLE, SCRIPT
from warmer.model.run import LatencyHistogram, RunReport
from warmer.report.html import render_html

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def test_page_is_self_contained(run: RunReport) -> None:
    page = render_html(run)
    assert page.startswith("<!DOCTYPE html>")
    assert not re.search(r"<(script|link|iframe|object|embed|img)\b", page, re.IGNORECASE)
    assert not re.search(r"(src|href)\s*=", page, re.IGNORECASE)
    assert "Content-Security-Policy" in page and "default-src 'none'" in page
    assert not re.search(r"\son[a-z]+\s*=", page, re.IGNORECASE)  # no inline event handlers


def test_traffic_strings_are_escaped_everywhere(run: RunReport) -> None:
    page = render_html(run)
    assert SCRIPT not in page
    assert "&lt;script&gt;document.title=&#x27;PWNED&#x27;&lt;/script&gt;" in page
    assert "<b>|timeout|</b>" not in page


def test_hostile_tier_name_is_escaped_inside_svg(run: RunReport) -> None:
    curve = dataclasses.replace(run.timelines.warmup[0], tier='l0"><script>x</script>')
    timelines = dataclasses.replace(run.timelines, warmup=(curve,))
    page = render_html(dataclasses.replace(run, timelines=timelines))
    svg = page[page.index("<svg") : page.rindex("</svg>")]
    assert "<script" not in svg
    assert 'data-series="l0&quot;&gt;&lt;script&gt;x&lt;/script&gt;"' in svg


def test_charts_and_tables_are_present(run: RunReport) -> None:
    page = render_html(run)
    assert page.count("<svg") == 8
    for caption in (
        "Warmup curve by requests sent",
        "Warmup curve over time",
        "Backend load over time",
        "Latency distribution",
        "Is it warm yet?",
        "Backend protection:",
        "Miss-ratio curve (LRU",
        "Miss-ratio curve by size",
    ):
        assert f"<figcaption>{caption}" in page
    # tiers × 2 warmup charts, backend, one plateau curve per converging tier (2), pace +
    # backend, MRC by keys and by bytes
    assert page.count('class="series"') == 3 * 2 + 1 + 2 + 2 + 2
    assert page.count("<rect") == sum(
        1 for p in run.phases for c in p.latency.histogram.counts if c > 0
    )
    assert 'id="checks"' in page and 'id="tiers"' in page and 'class="badge o-fail"' in page


def test_phases_with_different_buckets_share_one_axis(run: RunReport) -> None:
    warm, verify = run.phases
    odd = LatencyHistogram((0.73, 2.1, 9.8, 61.0, 388.0), (5, 40, 30, 2))
    warm = dataclasses.replace(warm, latency=dataclasses.replace(warm.latency, histogram=odd))
    page = render_html(dataclasses.replace(run, phases=(warm, verify)))
    chart = page[page.index("<figcaption>Latency distribution") :]
    chart = chart[: chart.index("</svg>")]
    # 0.73-388 ms spread over the shared 1-2-5 axis: every bucket from 0.5 to 500 ms
    assert chart.count("<title>warm: ") == 9
    assert chart.count("<title>verify: ") == 10


def test_hit_rate_checks_draw_their_targets_on_the_warmup_curves(run: RunReport) -> None:
    page = render_html(run)
    # hit_rate.l0 is drawn (a curve exists), hit_rate.l2 is not: once per warmup chart.
    assert page.count(">target: hit_rate.l0 &gt;= 0.85</text>") == 2
    assert "target: hit_rate.l2" not in page


def test_run_without_data_renders_placeholders() -> None:
    bare = RunReport(run_id="r", verdict="error", exit_code=3, error="target unreachable")
    page = render_html(bare)
    assert "target unreachable" in page
    assert page.count("no warmup timeline in this run") == 2
    assert "no backend timeline" in page and "no latency histogram" in page
    assert "Miss-ratio" not in page


# --------------------------------------------------------------------------- in a browser


@pytest.fixture(scope="module")
def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    require(path, "chromium (Debian package `chromium`)")  # skips, or fails under CI
    assert path is not None
    return path


def _browse(chromium: str, page: Path, tmp: Path, *extra: str) -> str:
    profile = tmp / "profile"
    result = subprocess.run(
        [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *extra, page.as_uri()],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


@pytest.fixture(scope="module")
def page_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.report.fixtures import build_run

    path = tmp_path_factory.mktemp("html") / "report.html"
    path.write_text(render_html(build_run()), encoding="utf-8")
    return path


def test_browser_renders_charts_and_keeps_script_as_text(
    chromium: str, page_file: Path, tmp_path: Path
) -> None:
    dom = _browse(chromium, page_file, tmp_path, "--dump-dom")
    title = re.search(r"<title>(.*?)</title>", dom)
    assert title is not None and title.group(1).startswith("warmer gate FAIL")
    assert INJECTED_TITLE not in title.group(1)
    assert "&lt;script&gt;document.title='PWNED'&lt;/script&gt;" in dom
    assert dom.count("<script") == 0
    assert dom.count("<svg") == 8
    assert len(re.findall(r"<polyline points=\"[\d., ]{20,}", dom)) >= 8
    assert len(re.findall(r"<rect ", dom)) > 10


def test_escaping_alone_stops_the_payload(chromium: str, page_file: Path, tmp_path: Path) -> None:
    """Without the CSP safety net, the escaped payload still never runs."""
    page = page_file.read_text(encoding="utf-8")
    unguarded = re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", page)
    assert unguarded != page
    path = tmp_path / "unguarded.html"
    path.write_text(unguarded, encoding="utf-8")
    dom = _browse(chromium, path, tmp_path, "--dump-dom")
    title = re.search(r"<title>(.*?)</title>", dom)
    assert title is not None and INJECTED_TITLE not in title.group(1)


def test_browser_screenshot_is_drawn(chromium: str, page_file: Path, tmp_path: Path) -> None:
    shot = tmp_path / "report.png"
    _browse(chromium, page_file, tmp_path, "--window-size=1280,1600", f"--screenshot={shot}")
    data = shot.read_bytes()
    assert data.startswith(b"\x89PNG")
    assert len(data) > 50_000  # a blank page compresses to a few kB


def test_predictions_sit_beside_the_measured_hit_rates(run: RunReport) -> None:
    page = render_html(run)
    tiers = page[page.index('id="tiers"') : page.index('id="phases"')]
    row = tiers[tiers.index("<td>l0</td>") : tiers.index("</tr>", tiers.index("<td>l0</td>"))]
    assert "71.0 %" in row and "74.0 %" in row and "2,000 keys, ttl 60 s" in row
    assert "Predicted: verify part at the recorded pace" in tiers


def test_mrc_marks_each_tier_size_and_pace_chart_marks_the_limit(run: RunReport) -> None:
    page = render_html(run)
    mrc = page[page.index("Miss ratio by cache size</title>") :]
    mrc = mrc[: mrc.index("</svg>")]
    assert "l0 holds 2,000 keys" in mrc  # configured size, within the curve's range
    assert "l1 holds" not in mrc  # 50,000 keys lie past the curve's last point
    pace = page[page.index("Warm pace (chosen) and backend load</title>") :]
    pace = pace[: pace.index("</svg>")]
    assert "limit: backend.rps &lt;= 30" in pace and 'data-series="warm rate chosen"' in pace
    plateau = page[page.index("with each tier&#x27;s plateau</title>") :]
    assert "l0 plateau 71% (warm)" in plateau and "l0 warm at 12.5s" in plateau
    assert "l1 plateau 93% (not settled)" in plateau
