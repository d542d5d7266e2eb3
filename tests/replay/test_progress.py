"""Progress rendering: plain lines off a terminal, the summary text."""

from __future__ import annotations

import io

from warmer.cli._replay_progress import ProgressRenderer, summary_lines
from warmer.replay import ReplayFinished, ReplayProgress, ReplayStarted, ReplaySummary


def _summary() -> ReplaySummary:
    return ReplaySummary(
        phase="warm", engine="fast", target="127.0.0.1:8080", sent=10, responses=9,
        status_classes={"2xx": 9}, errors={"timeout": 1}, skipped={"method": 2},
        duration_s=2.0, rate=5.0, latency_ms={"p50": 1.0, "p99": 3.0, "max": 4.0},
        latency_from_schedule_ms={}, send_lag_ms={},
    )  # fmt: skip


def test_plain_progress_lines_when_not_a_terminal() -> None:
    out = io.StringIO()
    render = ProgressRenderer(out, live=False)
    render(ReplayStarted("warm", "127.0.0.1:8080", "fast", "rate", 100))
    render(ReplayProgress("warm", 1.0, 40, 2, 40.0, 100, 1.5))
    render(ReplayProgress("warm", 1.5, 60, 2, 40.0, 100, 1.0))  # within 5 s: not printed
    render(ReplayFinished(_summary()))
    lines = out.getvalue().splitlines()
    assert lines[0] == "warm → 127.0.0.1:8080: engine fast, pacing rate, 100 requests"
    assert lines[1] == "warm: 40/100 sent, 40 req/s, 2 errors, 1s, ETA 2s"
    assert len(lines) == 2 and "\x1b[" not in out.getvalue()


def test_live_bar_renders_without_error() -> None:
    out = io.StringIO()
    render = ProgressRenderer(out, live=True)
    render(ReplayStarted(None, "127.0.0.1:8080", "fast", "max", None))
    render(ReplayProgress(None, 1.0, 40, 0, 40.0, None, None))
    render.close()
    assert "40/? sent" in out.getvalue()


def test_summary_lines() -> None:
    text = "\n".join(summary_lines(_summary(), "r.parquet"))
    assert "10 requests in 2.0s (5 req/s) to 127.0.0.1:8080 with the fast engine" in text
    assert "errors: timeout 1" in text and "skipped: method 2" in text
    assert "latency ms: p50 1.00, p99 3.00, max 4.00" in text and "results: r.parquet" in text
