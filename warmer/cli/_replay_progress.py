"""Render replay events: a rich live bar on a terminal, a plain line every few seconds in CI."""

from __future__ import annotations

import os
import sys
import time
from typing import IO, Any

import click

from warmer.replay.run import (
    ReplayEvent,
    ReplayFinished,
    ReplayProgress,
    ReplayStarted,
    ReplaySummary,
)

_PLAIN_EVERY_S = 5.0


class ProgressRenderer:
    """An ``on_event`` callback; ``close()`` ends the live display."""

    def __init__(self, stream: IO[str] | None = None, *, live: bool | None = None) -> None:
        self.stream = stream or sys.stderr
        self.live = self.stream.isatty() if live is None else live
        self.color = "NO_COLOR" not in os.environ and self.live
        self._bar: Any = None
        self._task: Any = None
        self._last_plain = 0.0

    def __call__(self, event: ReplayEvent) -> None:
        if isinstance(event, ReplayStarted):
            self._start(event)
        elif isinstance(event, ReplayProgress):
            self._progress(event)
        elif isinstance(event, ReplayFinished):
            self.close()

    def close(self) -> None:
        """Stop the live bar (idempotent)."""
        if self._bar is not None:
            self._bar.stop()
            self._bar = None

    def _start(self, event: ReplayStarted) -> None:
        label = f"{event.phase or 'replay'} → {event.target}"
        if not self.live:
            click.echo(
                f"{label}: engine {event.engine}, pacing {event.pacing}, "
                f"{event.expected if event.expected is not None else 'unknown number of'} requests",
                file=self.stream,
            )
            return
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

        console = Console(file=self.stream, no_color=not self.color)
        self._bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.completed:,.0f}/{task.fields[expected]} sent"),
            TextColumn("{task.fields[rate]:,.0f} req/s"),
            TextColumn("{task.fields[errors]:,} errors"),
            TimeRemainingColumn(),
            console=console,
            transient=False,
        )
        self._bar.start()
        self._task = self._bar.add_task(
            label, total=event.expected, expected=event.expected or "?", rate=0.0, errors=0
        )

    def _progress(self, event: ReplayProgress) -> None:
        if self._bar is not None:
            self._bar.update(self._task, completed=event.sent, rate=event.rate, errors=event.errors)
            return
        now = time.monotonic()
        if now - self._last_plain < _PLAIN_EVERY_S:
            return
        self._last_plain = now
        of = f"/{event.expected}" if event.expected is not None else ""
        eta = f", ETA {event.eta_s:.0f}s" if event.eta_s is not None else ""
        click.echo(
            f"{event.phase or 'replay'}: {event.sent}{of} sent, {event.rate:.0f} req/s, "
            f"{event.errors} errors, {event.elapsed_s:.0f}s{eta}",
            file=self.stream,
        )


def summary_lines(summary: ReplaySummary, results: str) -> list[str]:
    """A short human summary of one replay, for stderr."""
    lat = summary.latency_ms
    lines = [
        f"{summary.sent} requests in {summary.duration_s:.1f}s ({summary.rate:,.0f} req/s) "
        f"to {summary.target} with the {summary.engine} engine",
        "status: " + (", ".join(f"{k} {v}" for k, v in summary.status_classes.items()) or "none"),
    ]
    if summary.errors:
        lines.append("errors: " + ", ".join(f"{k} {v}" for k, v in summary.errors.items()))
    if summary.skipped:
        lines.append("skipped: " + ", ".join(f"{k} {v}" for k, v in summary.skipped.items()))
    if lat:
        lines.append(
            f"latency ms: p50 {lat['p50']:.2f}, p99 {lat['p99']:.2f}, max {lat['max']:.2f}"
        )
    sched = summary.latency_from_schedule_ms
    if sched:
        lines.append(f"latency from schedule ms: p50 {sched['p50']:.2f}, p99 {sched['p99']:.2f}")
    lines.append(f"results: {results}")
    return lines
