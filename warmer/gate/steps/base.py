"""The contract of a gate step and the state the steps of one run share.

A gate run is a sequence of small steps (preflight, warm, settle, verify, and whatever a
run grows: seeding, drift checks, stale-read probes, a baseline comparison). Each step
does one thing and returns a :class:`StepResult` holding its own evidence: a one-line
summary, the metrics it contributes to the checks' vocabulary, JSON evidence for
``evidence.json`` and warnings for the report. A step that cannot go on raises a
``WarmerError``; the runner records it, skips the remaining steps and still concludes
(judge what was measured, write every report). Steps talk to each other only through
:class:`RunState`.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable, Mapping
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from warmer.checks.vocabulary import MetricValue
from warmer.model.run import mask_url

if TYPE_CHECKING:
    from warmer.config.schema import Config
    from warmer.errors import WarmerError
    from warmer.gate.observation import Observation
    from warmer.gate.preparation import GateOptions, Prepared
    from warmer.gate.rundir import RunDir
    from warmer.observe.tierconfig import TierReading
    from warmer.replay.engine import Engine
    from warmer.replay.results import ResultsWriter
    from warmer.replay.run import ReplaySummary


@dataclass(frozen=True)
class StepResult:
    """What a step found out, owned by that step."""

    summary: str = ""
    """One line for the report's list of steps."""
    metrics: Mapping[str, MetricValue] = field(default_factory=dict)
    """Metrics in the checks' vocabulary (``warm.skipped.rate`` ...); None is no data;
    ``text`` and ``bool`` metrics (``l2.config.maxmemory_policy``) hold strings and booleans."""
    evidence: Mapping[str, Any] = field(default_factory=dict)
    """JSON-ready evidence, written under the step's name in ``evidence.json``."""
    warnings: tuple[str, ...] = ()
    no_data: Mapping[str, str] = field(default_factory=dict)
    """Source (``stale_reads``, ``compare`` ...) → why its metrics have no data; a check of
    such a metric says this reason."""
    report: Mapping[str, Any] = field(default_factory=dict)
    """Sections of the run report this step fills, by ``RunReport`` field name
    (``predictions``, ``warming``); the conclusion sets them as they are."""


class Step(Protocol):
    """One step of a gate run.

    ``run`` does the step's work against ``state`` and returns its evidence. It raises a
    ``WarmerError`` when the run cannot go on (exit 3 for a dead target or observer); it
    returns early, without raising, when ``state.halt`` is set (an interrupt).
    """

    @property
    def name(self) -> str:
        """The step's name in reports and ``evidence.json`` (``warm``, ``settle`` ...)."""
        ...

    def run(self, state: RunState) -> StepResult:
        """Do the step; see the class docstring."""
        ...


@dataclass(frozen=True)
class PhaseStarted:
    """Emitted when a phase (``warm``, ``settle``, ``verify``) begins."""

    phase: str
    requests: int


EventHandler = Callable[[Any], None]


class RunState:
    """What the steps of one run share: inputs, the run directory, the clock, the traffic.

    ``halt`` is set by a signal (:meth:`interrupt`) or a fault (:meth:`fail`); steps that
    send traffic obey it. ``writer`` and observer sampling start together on the first
    call of :meth:`traffic` (both clocks start at the same instant) and stop in
    :meth:`end_traffic`.
    """

    def __init__(
        self,
        prepared: Prepared,
        observation: Observation,
        run_dir: RunDir,
        run_id: str,
        on_event: EventHandler | None = None,
        halt: threading.Event | None = None,
    ) -> None:
        self.prepared = prepared
        self.observation = observation
        self.dir = run_dir
        self.run_id = run_id
        self.started_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        self.on_event = on_event
        self.halt = halt or threading.Event()
        self.interrupted: str | None = None
        """What interrupted the run (``SIGTERM`` ...), None while it was not."""
        self.fault: WarmerError | None = None
        """The error that stopped the run, None while nothing did."""
        self.summaries: dict[str, ReplaySummary] = {}
        """Phase name → its replay's summary."""
        self.writer: ResultsWriter | None = None
        self.tier_readings: dict[str, TierReading] = {}
        """Tier name → its configuration and key sample, read by the ``tiers`` step."""
        self._engine: Engine | None = None
        self._traffic = ExitStack()
        self._clock = time.monotonic
        self._origin = self._clock()

    @property
    def options(self) -> GateOptions:
        return self.prepared.options

    @property
    def config(self) -> Config:
        return self.prepared.options.config

    @property
    def target(self) -> str:
        return self.prepared.options.target

    def elapsed(self) -> float:
        """Seconds since the run began."""
        return self._clock() - self._origin

    def emit(self, event: Any) -> None:
        """Pass ``event`` to the run's event handler (progress display, timings)."""
        if self.on_event is not None:
            self.on_event(event)

    def interrupt(self, reason: str) -> None:
        """A signal arrived: stop sending, conclude with verdict ``interrupted``."""
        if self.interrupted is None:
            self.interrupted = reason
        self.halt.set()

    def fail(self, error: WarmerError) -> None:
        """Something the run needs went away: stop sending, conclude with ``error``."""
        if self.fault is None:
            self.fault = error
        self.halt.set()

    def engine(self) -> Engine:
        """The replay engine every phase of the run uses, started on first use.

        An engine with processes of its own (Locust's master and workers) starts them here
        and waits for its workers, before the results clock starts: a missing worker ends
        the run (exit 3) before any request.
        """
        if self._engine is None:
            from warmer.gate.preparation import replay_plan
            from warmer.replay.run import replay_engine

            plan = replay_plan(self.config, self.target, order=self.config.replay.order)
            self._engine = self._traffic.enter_context(replay_engine(plan))
        return self._engine

    def traffic(self) -> ResultsWriter:
        """The run's results writer; the first call opens it and starts observer sampling."""
        if self.writer is None:
            from warmer.replay.results import ResultsWriter

            meta = {"target": mask_url(self.target)}
            self.writer = self._traffic.enter_context(ResultsWriter(self.dir.results, meta=meta))
            # Sampling starts right after the writer: both clocks start together.
            self._traffic.enter_context(self.observation.sampling())
        return self.writer

    def end_traffic(self) -> bool:
        """Stop sampling and close the results file; True when a results file was written.

        A results file that could not be written (a full disk) is a fault of the run.
        """
        from warmer.errors import WarmerError

        try:
            self._traffic.close()
        except WarmerError as exc:
            self.fail(exc)
            return False
        return self.writer is not None
