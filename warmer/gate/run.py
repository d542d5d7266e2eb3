"""The gate run: preflight → warm → settle → verify (observers sampling) → judge → run dir.

:func:`prepare` does everything that sends nothing (parse checks, load and split the
sample, plan, ceilings) and is what ``--dry-run`` stops after; a bad check or config is a
ConfigError (exit 2) there, before any request. :func:`run_gate` then checks that the
target and the required observers answer (exit 3 otherwise, with an error report), replays
both phases into one results file, computes the metrics, judges the checks and writes the
run directory. SIGINT/SIGTERM stop the replay cleanly; what was sent is still judged and
reported, with verdict ``interrupted`` and exit code 130.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from warmer import __version__
from warmer.config.schema import Config
from warmer.errors import ExitCode, UsageError, WarmerError
from warmer.gate.checks import Check, NoData, parse_checks
from warmer.gate.diagnose import Evidence
from warmer.gate.evaluate import CheckOutcome
from warmer.gate.judge import check_results, exit_code_for, judge
from warmer.gate.metrics import flatten, traffic_stats
from warmer.gate.observation import Observation
from warmer.gate.plan import SplitSample, make_plan, split_sample
from warmer.gate.rundir import (
    RunDir,
    config_document,
    evidence_document,
    new_run_id,
    write_sample,
)
from warmer.model.run import (
    Ceilings,
    PhaseMark,
    PhaseReport,
    Plan,
    RunReport,
    SampleSummary,
    Timelines,
    downsample,
    mask_url,
)

if TYPE_CHECKING:
    import pyarrow as pa

    from warmer.model.sample import SampleMeta
    from warmer.observe.session import RunFigures
    from warmer.replay.run import ReplayPlan


@dataclass(frozen=True)
class GateOptions:
    """Everything a gate run needs, already merged from flags, env and file."""

    config: Config
    sample: Path
    target: str
    checks: tuple[str, ...] = ()
    """Every check to judge: the file's, then ``--check`` ones."""
    run_dir: Path | None = None
    """Exact directory to write; default ``gate.run_dir / <run id>``."""
    formats: tuple[str, ...] = ("json", "md", "html", "junit")
    no_data: NoData = "fail"


@dataclass(frozen=True)
class Prepared:
    """A run ready to send: checks parsed, sample split, plan known.

    The ceilings and the sample summary come from profiling the sample
    (:meth:`with_profile`); a run does that during its settle pause, when the machine
    would otherwise wait, and ``--dry-run`` does it in :func:`prepare`.
    """

    options: GateOptions
    checks: tuple[Check, ...]
    split: SplitSample
    plan: Plan
    table: pa.Table = field(repr=False)
    """The whole sample, kept for profiling."""
    meta: SampleMeta = field(repr=False)
    ceilings: Ceilings | None = None
    sample: SampleSummary | None = None

    @property
    def profiled(self) -> bool:
        return self.ceilings is not None

    def with_profile(self) -> Prepared:
        """This run with ceilings and sample summary computed (itself when already done)."""
        if self.profiled:
            return self
        from warmer.sample.inspect import profile_sample

        profile = profile_sample(self.table, warm_fraction=self.split.warm_fraction)
        ceilings = Ceilings(
            infinite_cache=profile.infinite_cache_ceiling,
            warmable=profile.split.warmable_ceiling if profile.split else None,
            unique_keys=profile.unique_keys,
        )
        sample = SampleSummary(
            path=str(self.options.sample),
            requests=profile.requests,
            unique_keys=profile.unique_keys,
            span_s=profile.span_s,
            sample_rate=self.meta.sample_rate,
            created=self.meta.created,
            formats=tuple(str(s.get("format", "")) for s in self.meta.sources),
        )
        return dataclasses.replace(self, ceilings=ceilings, sample=sample)


@dataclass(frozen=True)
class PhaseStarted:
    """Emitted when a phase (``warm``, ``settle``, ``verify``) begins."""

    phase: str
    requests: int


@dataclass(frozen=True)
class GateResult:
    """A finished (or stopped) run: its report, outcomes and files."""

    report: RunReport
    outcomes: tuple[CheckOutcome, ...]
    run_dir: Path
    paths: dict[str, Path] = field(default_factory=dict)

    @property
    def exit_code(self) -> int:
        return self.report.exit_code


if TYPE_CHECKING:
    from typing import TypeAlias

    from warmer.replay.run import ReplayEvent

    GateEvent: TypeAlias = PhaseStarted | ReplayEvent
    """What ``on_event`` receives: phase starts and the replay stage's progress events."""
    EventHandler: TypeAlias = Callable[[GateEvent], None]


def prepare(options: GateOptions, *, profile: bool = True) -> Prepared:
    """Parse checks, load and split the sample, plan; sends nothing (this is ``--dry-run``).

    ``profile=False`` leaves the ceilings for the run to compute during its settle pause.
    """
    from warmer.sample.store import open_sample

    config = options.config
    checks = parse_checks(options.checks, tuple(config.tiers))
    _check_replay_options(config)
    if options.target:
        # Protected hosts and bad URLs are refused before anything is sent (exit 2).
        replay_plan(config, options.target, order=config.replay.order).parsed_target()
    reader = open_sample(options.sample)
    table = reader.to_table()
    fraction = config.gate.warm_fraction or config.sample.warm_fraction
    split = split_sample(table, warm_fraction=fraction, warm_duration_s=config.gate.warm_duration_s)
    prepared = Prepared(
        options=options,
        checks=checks,
        split=split,
        plan=make_plan(split, config.gate, config.replay),
        table=table,
        meta=reader.meta,
    )
    return prepared.with_profile() if profile else prepared


def _check_replay_options(config: Config) -> None:
    replay = config.replay
    if replay.order == "hot-first" and replay.pacing == "recorded":
        raise UsageError(
            "--order hot-first has no recorded timing to follow",
            "use --pacing rate or --pacing max with hot-first",
        )
    if replay.pacing == "rate" and not replay.rate:
        raise UsageError("--pacing rate needs --rate", "e.g. --pacing rate --rate 2000")


def replay_plan(config: Config, target: str, *, order: str) -> ReplayPlan:
    """The replay stage's plan for one phase, from the effective config."""
    from warmer.replay.locust_engine import LocustOptions
    from warmer.replay.run import ReplayPlan

    replay = config.replay
    return ReplayPlan(
        target=target,
        engine=replay.engine,
        pacing=replay.pacing,
        speed=replay.speed,
        max_gap_s=replay.max_gap_s,
        rate=replay.rate,
        order=order,
        concurrency=replay.concurrency,
        timeout_s=replay.timeout_s,
        allow_methods=config.safety.allow_methods,
        headers=tuple(f"{k}: {v}" for k, v in replay.headers.items()),
        drop_headers=replay.drop_headers,
        preserve_host=replay.preserve_host,
        protected_hosts=config.safety.protected_hosts,
        locust=LocustOptions.from_config(replay),
    )


def run_gate(
    prepared: Prepared,
    observation: Observation | None = None,
    *,
    on_event: EventHandler | None = None,
    stop: threading.Event | None = None,
) -> GateResult:
    """Run the gate for ``prepared``; the result's ``exit_code`` is the verdict's.

    ``observation`` defaults to the observers the config names (``build_observation``).
    Raises ``RunError`` (exit 3) after writing an error report when the target or a
    required observer does not answer at preflight; any other ``WarmerError`` met while
    running is reported the same way before it propagates.
    """
    if observation is None:
        from warmer.gate.build import build_observation

        observation = build_observation(prepared.options.config)
    run = _Run(prepared, observation, on_event, stop or threading.Event())
    return run.execute()


class _Run:
    """State of one gate run while it executes."""

    def __init__(
        self,
        prepared: Prepared,
        observation: Observation,
        on_event: EventHandler | None,
        stop: threading.Event,
    ) -> None:
        options = prepared.options
        self.prepared = prepared
        self.options = options
        self.observation = observation
        self.on_event = on_event
        self.stop = stop
        self.run_id = new_run_id()
        base = Path(options.config.gate.run_dir) / self.run_id
        self.dir = RunDir(options.run_dir or base)
        self.started_at = _now()
        self.summaries: list[Any] = []
        self.engine: Any = None

    def execute(self) -> GateResult:
        self.dir.create()
        self._write_inputs()
        try:
            self._preflight()
            with _stop_on_signals(self.stop):
                table = self._replay_phases()
                return self._finish(table)
        except WarmerError as exc:
            self._finish_error(exc)
            raise

    def _write_inputs(self) -> None:
        prepared = self.prepared
        document = config_document(self.options.config, list(self.options.checks))
        document["replay"]["target"] = mask_url(self.options.target)
        self.dir.write_json(self.dir.config, document)
        split = prepared.split
        write_sample(self.dir, self.options.sample, split.warm, split.verify, split.cutoff_ts)

    def _preflight(self) -> None:
        from warmer.replay.run import check_target

        check_target(self.options.target, timeout_s=min(self.options.config.replay.timeout_s, 5))
        self.observation.preflight()

    def _replay_phases(self) -> pa.Table:
        from warmer.replay.results import ResultsWriter, open_results
        from warmer.replay.run import replay_engine

        config = self.options.config
        plan = replay_plan(config, self.options.target, order=config.replay.order)
        # One engine serves both phases (Locust: one master, its workers waited for here).
        with replay_engine(plan) as self.engine:
            writer = ResultsWriter(self.dir.results, meta={"target": mask_url(self.options.target)})
            try:
                # Sampling starts right after the writer: both clocks start together.
                with self.observation.sampling():
                    self._phase(writer, "warm", self.prepared.split.warm, config.replay.order)
                    if not self.stop.is_set():
                        self._emit(PhaseStarted("settle", 0))
                        self._settle(config.gate.settle_s)
                    if not self.stop.is_set():
                        self._phase(writer, "verify", self.prepared.split.verify, "recorded")
            finally:
                writer.close()
        return open_results(self.dir.results).to_table()

    def _settle(self, seconds: float) -> None:
        """Wait ``seconds`` for the caches to settle, profiling the sample meanwhile.

        The report writers are imported in the same pause, so the finish does not pay
        for their imports.
        """
        from warmer.report import preload

        started = time.monotonic()
        self.prepared = self.prepared.with_profile()
        preload(self.options.formats)
        self.stop.wait(max(0.0, seconds - (time.monotonic() - started)))

    def _phase(self, writer: Any, name: str, part: pa.Table, order: str) -> None:
        from warmer.replay.run import replay

        plan = replay_plan(self.options.config, self.options.target, order=order)
        self._emit(PhaseStarted(name, part.num_rows))
        self.observation.boundary(f"{name}_start")
        summary = replay(
            _records(part),
            plan,
            writer,
            phase=name,
            on_event=self._emit,
            stop=self.stop,
            expected=part.num_rows,
            engine=self.engine,
        )
        self.observation.boundary(f"{name}_end")
        self.summaries.append(summary)

    def _emit(self, event: GateEvent) -> None:
        if self.on_event is not None:
            self.on_event(event)

    def _finish(self, table: pa.Table) -> GateResult:
        self.prepared = self.prepared.with_profile()  # interrupted before the settle
        figures = self.observation.figures(table)
        phases, extra, gap = self._phases(table, figures)
        interrupted = self.stop.is_set()
        draft = self._report(phases, figures, verdict="pass", exit_code=0, partial=interrupted)
        metrics = flatten(draft, self.prepared.checks)
        metrics.update({k: v for k, v in extra.items() if metrics.get(k) is None})
        evidence = Evidence(
            metrics=metrics,
            tiers=tuple(self.options.config.tiers),
            missing=figures.missing,
            backend_gap=gap,
            tolerance=self.options.config.observe.consistency_tolerance,
            error_kinds=_error_kinds(phases),
        )
        outcomes = tuple(
            judge(self.prepared.checks, metrics, evidence, no_data=self.options.no_data)
        )
        verdict, code = _verdict(outcomes, interrupted)
        report = dataclasses.replace(
            draft,
            verdict=verdict,
            exit_code=int(code),
            checks=check_results(outcomes, self.options.no_data),
            finished_at=_now(),
            error="interrupted by a signal; the report covers what was sent"
            if interrupted
            else None,
        )
        self.dir.write_json(self.dir.evidence, evidence_document(evidence))
        self.dir.write_json(self.dir.timelines, figures.timelines)
        return self._write_reports(report, outcomes)

    def _phases(
        self, table: pa.Table, figures: RunFigures
    ) -> tuple[list[PhaseReport], dict[str, float | None], float | None]:
        import pyarrow.compute as pc

        from warmer.observe.session import PhaseFigures

        phases: list[PhaseReport] = []
        extra: dict[str, float | None] = {}
        gap: float | None = None
        for name in ("warm", "verify"):
            rows = table.filter(pc.equal(table.column("phase"), name))
            if rows.num_rows == 0 and name == "verify" and self.stop.is_set():
                continue
            seen = figures.phases.get(name) or PhaseFigures()
            phase = dataclasses.replace(
                traffic_stats(name, rows),
                tiers=seen.tiers,
                effective_hit_rate=seen.effective_hit_rate,
                backend=seen.backend,
            )
            phases.append(phase)
            prefix = "warm." if name == "warm" else ""
            extra.update({prefix + k: v for k, v in seen.extra.items()})
            if name == "verify":
                gap = seen.backend_gap
        return phases, extra, gap

    def _report(
        self,
        phases: Sequence[PhaseReport],
        figures: RunFigures,
        *,
        verdict: Any,
        exit_code: int,
        partial: bool,
    ) -> RunReport:
        prepared = self.prepared
        return RunReport(
            run_id=self.run_id,
            verdict=verdict,
            exit_code=exit_code,
            partial=partial,
            started_at=self.started_at,
            finished_at=_now(),
            warmer_version=__version__,
            target=mask_url(self.options.target),
            sample=prepared.sample,
            plan=prepared.plan,
            phases=tuple(phases),
            ceilings=prepared.ceilings or Ceilings(),
            timelines=self._timelines(phases, figures),
            config=config_document(self.options.config, list(self.options.checks)),
        )

    def _timelines(self, phases: Sequence[PhaseReport], figures: RunFigures) -> Timelines:
        marks = []
        sent = 0
        for phase in phases:
            marks.append(PhaseMark(phase.name, sent, phase.started_s))
            sent += phase.requests
        return Timelines(
            warmup=tuple(
                dataclasses.replace(c, points=tuple(downsample(c.points, x=0, y=2)))
                for c in figures.curves
            ),
            backend_load=tuple(downsample(figures.backend_load)),
            phase_marks=tuple(marks),
        )

    def _write_reports(self, report: RunReport, outcomes: tuple[CheckOutcome, ...]) -> GateResult:
        from warmer.report import write_reports

        paths = write_reports(report, self.dir.path, self.options.formats)
        return GateResult(report, outcomes, self.dir.path, paths)

    def _finish_error(self, exc: WarmerError) -> None:
        self.prepared = self.prepared.with_profile()
        report = RunReport(
            run_id=self.run_id,
            verdict="error",
            exit_code=int(exc.exit_code),
            partial=True,
            started_at=self.started_at,
            finished_at=_now(),
            warmer_version=__version__,
            target=mask_url(self.options.target),
            error=exc.message,
            sample=self.prepared.sample,
            plan=self.prepared.plan,
            ceilings=self.prepared.ceilings or Ceilings(),
            config=config_document(self.options.config, list(self.options.checks)),
        )
        from warmer.report import write_reports

        write_reports(report, self.dir.path, self.options.formats)


def _verdict(outcomes: Sequence[CheckOutcome], interrupted: bool) -> tuple[Any, ExitCode]:
    if interrupted:
        return "interrupted", ExitCode.INTERRUPTED
    code = exit_code_for(outcomes)
    return ("pass" if code == ExitCode.OK else "fail"), code


def _error_kinds(phases: Sequence[PhaseReport]) -> dict[str, int]:
    verify = next((p for p in phases if p.name == "verify"), None)
    if verify is None:
        return {}
    kinds = dict(verify.errors)
    if verify.status_classes.get("5xx"):
        kinds["5xx"] = verify.status_classes["5xx"]
    return kinds


def _records(part: pa.Table) -> Iterator[Any]:
    from warmer.model.sample import SampleRecord

    for batch in part.to_batches(max_chunksize=8192):
        for row in batch.to_pylist():
            yield SampleRecord.from_row(row)


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


@contextmanager
def _stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """SIGINT/SIGTERM set ``stop`` instead of raising, so the run can report what it sent."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}

    def handler(signum: int, frame: Any) -> None:
        stop.set()

    for sig in previous:
        signal.signal(sig, handler)
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
