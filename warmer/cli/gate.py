"""``warmer gate``: warm, verify on held-out traffic, judge the checks, write the run directory."""

from __future__ import annotations

import dataclasses
import gc
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from warmer.cli._context import AppContext
from warmer.cli._types import host_port, limited
from warmer.errors import UsageError
from warmer.model.text import printable

if TYPE_CHECKING:
    from warmer.config.schema import Config
    from warmer.gate.evaluate import CheckOutcome
    from warmer.gate.run import GateOptions
    from warmer.model.run import RunReport

_FORMATS = ("json", "md", "html", "junit")
_OUTCOME = {"pass": "PASS", "fail": "FAIL", "no_data": "NO DATA", "not_evaluated": "NOT RUN"}


@click.command("gate")
@click.option("--target", metavar="URL", help="Candidate base URL (replay.target).")
@click.option(
    "--sample", metavar="SAMPLE", help="Sample file to warm and verify with (gate.sample)."
)
@click.option(
    "--check",
    "extra_checks",
    multiple=True,
    metavar="EXPR",
    allow_from_autoenv=False,
    help="A check, e.g. 'hit_rate.l0 >= 85%'; repeatable; adds to gate.checks.",
)
@click.option(
    "--baseline",
    metavar="URL",
    help="The running release: replay verify to it and the candidate interleaved and "
    "compare them (gate.baseline; compare.* metrics).",
)
@click.option(
    "--warm-fraction",
    type=limited("gate.warm_fraction"),
    help="Share of the sample's time span that warms.",
)
@click.option(
    "--warm-duration",
    type=limited("gate.warm_duration_s"),
    metavar="SECONDS",
    help="Warm with the first SECONDS of recorded time.",
)
@click.option(
    "--settle",
    type=limited("gate.settle_s"),
    metavar="SECONDS",
    help="Pause between warm and verify.",
)
@click.option("--pacing", type=click.Choice(["recorded", "rate", "max"]), help="How fast to send.")
@click.option(
    "--rate", type=limited("replay.rate"), help="Requests per second under --pacing rate."
)
@click.option(
    "--speed",
    type=limited("replay.speed"),
    help="Speed-up of recorded timing under --pacing recorded.",
)
@click.option(
    "--max-gap", type=limited("replay.max_gap_s"), metavar="SECONDS", help="Cap on recorded gaps."
)
@click.option(
    "--concurrency", type=limited("replay.concurrency"), help="Connections in flight at most."
)
@click.option(
    "--timeout", type=limited("replay.timeout_s"), metavar="SECONDS", help="Per-request timeout."
)
@click.option(
    "--header",
    "headers",
    multiple=True,
    metavar="'NAME: VALUE'",
    help="Header added to every request (candidate credentials); repeatable.",
)
@click.option("--drop-header", "drop_headers", multiple=True, help="Recorded header to drop.")
@click.option(
    "--preserve-host/--no-preserve-host", default=None, help="Send the recorded Host header."
)
@click.option(
    "--order", type=click.Choice(["recorded", "hot-first"]), help="Order of the warm phase."
)
@click.option(
    "--warm-until",
    "warm_until",
    multiple=True,
    metavar="EXPR",
    allow_from_autoenv=False,
    help="End warming once the live windowed hit rate holds, e.g. 'hit_rate.l0 >= 0.9'; "
    "repeatable; adds to gate.warm_until.",
)
@click.option("--engine", help="Replay engine (fast, httpx, locust).")
@click.option(
    "--workers",
    type=limited("replay.processes"),
    help="locust: worker processes to start here (replay.processes).",
)
@click.option(
    "--expect-workers",
    type=limited("replay.expect_workers"),
    help="locust: workers to wait for, local and remote.",
)
@click.option(
    "--master-bind",
    metavar="HOST[:PORT]",
    callback=host_port,
    help="locust: where the master listens.",
)
@click.option(
    "--workers-timeout",
    type=limited("replay.workers_timeout_s"),
    metavar="SECONDS",
    help="locust: wait this long for workers.",
)
@click.option(
    "--run-dir",
    type=click.Path(path_type=Path),
    help="Directory for this run (default: gate.run_dir/<run id>).",
)
@click.option(
    "--report",
    "formats",
    multiple=True,
    type=click.Choice(_FORMATS),
    help="Report format; repeatable.",
)
@click.option(
    "--no-data",
    type=click.Choice(["pass", "fail"]),
    help="What a check without data means (default fail).",
)
@click.option(
    "--drift/--no-drift",
    default=None,
    help="Compare each tier with its baseline_url after warm (gate.drift).",
)
@click.option("--dry-run", is_flag=True, help="Print the plan and ceilings; send nothing.")
@click.option(
    "--rejudge",
    type=click.Path(path_type=Path, file_okay=False),
    metavar="RUN_DIR",
    help="Judge a finished run again (with --check ones) without replaying.",
)
@click.option("--list-metrics", is_flag=True, help="Print the metric vocabulary and exit.")
@click.option(
    "--timings",
    type=click.Path(path_type=Path, dir_okay=False),
    metavar="FILE",
    allow_from_autoenv=False,
    help="Write when each part of the run began and ended (epoch seconds) as JSON to FILE.",
)
@click.pass_context
def gate(ctx: click.Context, /, **options: Any) -> None:
    """Warm the candidate, verify on held-out traffic, judge the checks, write reports.

    \b
    Exit codes: 0 pass, 1 a check failed or had no data, 2 usage/config error,
                3 target or observer unreachable, 130 interrupted.
    When GITHUB_STEP_SUMMARY is set (GitHub Actions), the Markdown verdict is
    appended to that file: the job summary.
    \b
    Examples:
      warmer gate --target http://127.0.0.1:8080 --sample traffic.jsonl.gz \\
                  --check 'hit_rate.l0 >= 85%' --check 'latency.p99_ms <= 40'
      warmer gate --dry-run
      warmer gate --rejudge warmer-runs/20261130-184501-3f9a --check 'hit_rate.l1 >= 0.9'
    """
    timings = GateTimings()
    app: AppContext = ctx.obj
    if options["list_metrics"]:
        _list_metrics()
        return
    config = effective_config(app.config, options)
    if options["timings"] is not None:
        _check_writable(options["timings"], "--timings")
    if options["rejudge"] is not None:
        leave(_rejudge(config, options))
    opts = gate_options(config, options)
    from warmer.gate.run import prepare

    prepared = prepare(opts, profile=options["dry_run"])
    timings.mark("prepared")
    if options["dry_run"]:
        _print_plan(prepared)
        return
    code = run_and_print(prepared, config, timings)
    if options["timings"] is not None:
        timings.write(options["timings"])
    leave(code)


def _check_writable(path: Path, flag: str) -> None:
    """A file the run will write at its end: its directory must exist (or be made) now,
    so a typo is exit 2 before any traffic rather than a lost file after it."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(
            f"{flag} {path}: cannot create {path.parent} ({exc.strerror})",
            hint=f"give {flag} a path in a writable directory",
        ) from exc
    if path.is_dir():
        raise UsageError(f"{flag} {path} is a directory", hint=f"give {flag} a file name")


def leave(code: int) -> None:
    """End the process with ``code`` (the run is over: every file is written and closed)."""
    # The interpreter's last garbage collection walks every object a run created (pyarrow,
    # redis, httpx, the report modules): 0.2-0.4 s at exit. Frozen objects are skipped;
    # atexit handlers and stream flushing still run.
    gc.freeze()
    # warmer.cli.main.exit_with raises click's Exit, which click swallows under
    # standalone_mode=False (the process would exit 0); SystemExit passes through.
    sys.exit(int(code))


def effective_config(config: Config, options: dict[str, Any]) -> Config:
    """``config`` with every option given on the command line (or via WARMER_GATE_*) applied."""
    replay_changes = {
        field: options[name]
        for name, field in (
            ("target", "target"),
            ("pacing", "pacing"),
            ("rate", "rate"),
            ("speed", "speed"),
            ("max_gap", "max_gap_s"),
            ("concurrency", "concurrency"),
            ("order", "order"),
            ("engine", "engine"),
            ("timeout", "timeout_s"),
            ("preserve_host", "preserve_host"),
            ("workers", "processes"),
            ("expect_workers", "expect_workers"),
            ("master_bind", "master_bind"),
            ("workers_timeout", "workers_timeout_s"),
        )
        if options.get(name) is not None
    }
    if options.get("headers"):
        replay_changes["headers"] = {**config.replay.headers, **_headers(options["headers"])}
    if options.get("drop_headers"):
        replay_changes["drop_headers"] = tuple(options["drop_headers"])
    gate_changes: dict[str, Any] = {
        field: options[name]
        for name, field in (
            ("sample", "sample"),
            ("warm_fraction", "warm_fraction"),
            ("warm_duration", "warm_duration_s"),
            ("settle", "settle_s"),
            ("no_data", "no_data"),
            ("drift", "drift"),
            ("baseline", "baseline"),
        )
        if options.get(name) is not None
    }
    if options.get("formats"):
        gate_changes["reports"] = tuple(options["formats"])
    if gate_changes.get("warm_fraction") is not None:
        gate_changes.setdefault("warm_duration_s", None)
    try:
        return dataclasses.replace(
            config,
            replay=dataclasses.replace(config.replay, **replay_changes),
            gate=dataclasses.replace(config.gate, **gate_changes),
        )
    except (TypeError, ValueError) as exc:  # an invariant across settings (ConfigError passes)
        raise UsageError(str(exc), "check the gate's options against warmer.toml") from exc


def _headers(values: Sequence[str]) -> dict[str, str]:
    from warmer.replay.safety import parse_header

    return dict(parse_header(value) for value in values)


def gate_options(config: Config, options: dict[str, Any]) -> GateOptions:
    from warmer.gate.run import GateOptions

    sample = config.gate.sample
    if not sample:
        raise UsageError("no sample to replay", "pass --sample SAMPLE or set gate.sample")
    target = config.replay.target
    if not target and not options["dry_run"]:
        raise UsageError("no target to warm", "pass --target URL or set replay.target")
    return GateOptions(
        config=config,
        sample=Path(sample),
        target=target or "",
        checks=(*config.gate.checks, *options["extra_checks"]),
        warm_until=(*config.gate.warm_until, *options.get("warm_until", ())),
        run_dir=options["run_dir"],
        formats=config.gate.reports,
        no_data=config.gate.no_data,
    )


def _list_metrics() -> None:
    from warmer.checks.vocabulary import table_rows

    click.echo(f"{'metric':32} {'unit':6} {'source':8} meaning")
    for pattern, unit, source, description in table_rows():
        click.echo(f"{pattern:32} {unit:6} {source:8} {description}")
    click.echo("\nPrefix any phased metric with 'warm.' to read the warm phase (default: verify).")


def _print_plan(prepared: Any) -> None:
    from warmer.gate.plan import plan_lines

    click.echo(f"sample:   {prepared.options.sample} ({prepared.sample.requests:,} requests)")
    for line in plan_lines(prepared.plan, prepared.ceilings.warmable):
        click.echo(line)
    for check in prepared.checks:
        click.echo(f"check:    {check.text}")
    _warn_above_ceiling(prepared)
    click.echo("dry run: nothing was sent.", err=True)


def _warn_above_ceiling(prepared: Any) -> None:
    """A check that asks for more than the sample allows can only fail: say so before a run."""
    from warmer.gate.diagnose import above_ceiling

    ceiling = prepared.ceilings.warmable
    if ceiling is None:
        return
    tiers = tuple(prepared.options.config.tiers)
    for check in prepared.checks:
        if above_ceiling(check, ceiling, tiers):
            click.echo(
                f"warning: {check.text} asks for more than this sample's warmable ceiling "
                f"({ceiling:.3f}): it cannot pass; use a longer warm part or a lower threshold",
                err=True,
            )


def run_and_print(prepared: Any, config: Config, timings: GateTimings | None = None) -> int:
    """Run a prepared gate with the observers of ``config``; print verdict and paths.

    ``timings``, when given, records when each phase began and ended.
    """
    from warmer.gate.build import build_observation
    from warmer.gate.run import run_gate

    observation = build_observation(config)
    progress = _Progress()

    def on_event(event: Any) -> None:
        if timings is not None:
            timings(event)
        progress(event)

    result = run_gate(prepared, observation, on_event=on_event)
    if timings is not None:
        timings.mark("finished")
    _print_verdict(result.report.verdict, result.outcomes)
    if result.fault is not None:
        from warmer.cli.main import print_error

        print_error(result.fault)
    write_step_summary(result.report)
    html = result.paths.get("html")
    click.echo(f"run directory: {result.run_dir}", err=True)
    if html is not None:
        click.echo(f"report: {html}", err=True)
    click.echo(str(result.run_dir))
    return result.exit_code


def _rejudge(config: Config, options: dict[str, Any]) -> int:
    from warmer.gate.rejudge import rejudge

    checks = list(config.gate.checks) or None
    result = rejudge(
        options["rejudge"],
        checks,
        extra=options["extra_checks"],
        no_data=config.gate.no_data,
        formats=config.gate.reports,
    )
    _print_verdict(result.report.verdict, result.outcomes)
    write_step_summary(result.report)
    click.echo(f"rewrote the reports in {options['rejudge']}", err=True)
    return result.report.exit_code


def write_step_summary(report: RunReport) -> None:
    """Append the Markdown verdict to ``$GITHUB_STEP_SUMMARY`` when GitHub Actions sets it."""
    path = os.environ.get("GITHUB_STEP_SUMMARY")
    if not path:
        return
    from warmer.report.markdown import render_markdown

    # Appended, as GitHub expects: earlier steps of the job may have written their part.
    try:
        with open(path, "a", encoding="utf-8") as summary:
            summary.write(render_markdown(report) + "\n")
    except OSError as exc:
        # The verdict and the reports stand; only the job summary is missing.
        message = f"warning: cannot append to GITHUB_STEP_SUMMARY {path}: {exc.strerror}"
        click.echo(message, err=True)


def _print_verdict(verdict: str, outcomes: Sequence[CheckOutcome]) -> None:
    color = {"pass": "green", "fail": "red"}.get(verdict, "yellow")
    line = f"verdict: {verdict.upper()}"
    if not os.environ.get("NO_COLOR"):  # https://no-color.org
        line = click.style(line, fg=color, bold=True)
    click.echo(line, err=True)
    for outcome in outcomes:
        observed = "no data" if outcome.value is None else _fmt(outcome)
        label = "PASS" if outcome.passed and outcome.status == "pass" else _OUTCOME[outcome.status]
        line = f"  {label:7} {printable(outcome.check.text)}  (observed {observed})"
        click.echo(line, err=True)
        if outcome.diagnosis:
            click.echo(f"          {printable(outcome.diagnosis)}", err=True)
    if not outcomes:
        click.echo("  (no checks configured: add [gate] checks or --check)", err=True)


def _fmt(outcome: CheckOutcome) -> str:
    from warmer.checks.grammar import format_value

    return format_value(outcome.value, outcome.check.unit)


class _Progress:
    """Progress on stderr: one line rewritten in place on a TTY, a line every 5 s in CI."""

    def __init__(self) -> None:
        self.last = 0.0
        self.tty = sys.stderr.isatty()

    def __call__(self, event: Any) -> None:
        from warmer.gate.run import PhaseStarted
        from warmer.replay.run import ReplayFinished, ReplayProgress

        if isinstance(event, PhaseStarted):
            if event.phase == "settle":
                click.echo("settle: letting the caches settle", err=True)
            else:
                click.echo(f"{event.phase}: sending {event.requests:,} requests", err=True)
        elif isinstance(event, ReplayProgress):
            self._progress(event)
        elif isinstance(event, ReplayFinished):
            s = event.summary
            end = "\r\033[K" if self.tty else ""
            click.echo(f"{end}  {s.phase}: {s.sent:,} sent in {s.duration_s:.1f}s", err=True)
        sys.stderr.flush()

    def _progress(self, event: Any) -> None:
        line = f"  {event.phase}: {event.sent:,} sent, {event.rate:,.0f}/s"
        if event.expected:
            line += f" ({event.sent / event.expected:.0%})"
        if self.tty:
            click.echo(f"\r\033[K{line}", err=True, nl=False)
        elif time.monotonic() - self.last >= 5:
            self.last = time.monotonic()
            click.echo(line, err=True)


class GateTimings:
    """When each part of a gate run began and ended, in seconds since the epoch.

    Epoch seconds (not a monotonic clock) so that a benchmark in another process can put
    them on its own time line: ``command`` (the gate command starts, Python's imports of
    the CLI done), ``prepared``, ``warm_start``/``warm_end``, ``settle_start``,
    ``verify_start``/``verify_end``, ``finished`` (every report written). ``replay_s``
    holds each phase's replay duration as the replay stage measured it.
    """

    def __init__(self) -> None:
        self.marks: dict[str, float] = {}
        self.replay_s: dict[str, float] = {}
        self.mark("command")

    def mark(self, name: str) -> None:
        self.marks[name] = time.time()

    def __call__(self, event: Any) -> None:
        from warmer.gate.run import PhaseStarted
        from warmer.replay.run import ReplayFinished

        if isinstance(event, PhaseStarted):
            self.mark(f"{event.phase}_start")
        elif isinstance(event, ReplayFinished):
            self.mark(f"{event.summary.phase}_end")
            self.replay_s[str(event.summary.phase)] = event.summary.duration_s

    def write(self, path: Path) -> None:
        document = {"marks": self.marks, "replay_s": self.replay_s}
        try:
            path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
        except OSError as exc:  # the verdict and its reports stand: only this file is lost
            click.echo(f"warning: cannot write --timings {path}: {exc.strerror}", err=True)
