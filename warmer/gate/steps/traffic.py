"""The steps that send traffic or wait for it: a replay phase (warm, verify) and the settle.

A phase replays its part of the sample into the run's one results file between two
observer boundaries (``{name}_start``/``{name}_end``). While it runs it polls the
observation for required sources that went away, and ends the phase (exit 3) when one
did; a target that stops answering ends it from inside the replay stage
(``TargetFailedError``). What the phase skipped is its own evidence and metric
(``skipped.rate``), so a gate that sent almost nothing cannot pass quietly. Records of a
method the safety rules do not replay are skipped by design: they are counted and shown,
but only the records that could not be sent as recorded count in ``skipped.rate``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from warmer.errors import (
    ObserverLostError,
    TargetFailedError,
    TargetUnreachableError,
)
from warmer.gate.steps.base import PhaseStarted, RunState, StepResult

if TYPE_CHECKING:
    from warmer.model.sample import SampleRecord
    from warmer.replay.pacing import Pacer
    from warmer.replay.run import ReplaySummary
    from warmer.sample.source import SampleSource


@dataclass(frozen=True)
class ReplayPhase:
    """Replay one part of the split sample (``warm`` or ``verify``) in ``order``.

    ``listeners`` see every results batch the phase writes (a later step's sampler: the
    stale-read probe picks its keys from verify's hits this way).
    """

    name: str
    order: str
    listeners: tuple[Callable[[Any], None], ...] = ()

    def run(self, state: RunState) -> StepResult:
        part, rows = self._part(state)
        # The plan's count (records whose method may be sent), as the dry run printed it.
        planned = state.prepared.plan.verify_requests if self.name == "verify" else rows
        writer = state.traffic()
        stops = [writer.listen(listener) for listener in self.listeners]
        try:
            summary = replay_phase(state, self.name, part, self.order, planned)
        finally:
            for stop in stops:
                stop()
        return self._result(rows, summary)

    def _part(self, state: RunState) -> tuple[SampleSource, int]:
        split = state.prepared.split
        if self.name == "warm":
            return split.warm, split.warm_rows
        return split.verify, split.verify_rows

    def _result(self, records: int, summary: ReplaySummary | None) -> StepResult:
        if summary is None:
            return StepResult(summary="nothing was sent")
        skipped = sum(summary.skipped.values())
        prefix = "" if self.name == "verify" else f"{self.name}."
        rate = unsendable(summary.skipped) / records if records else None
        line = f"{summary.sent:,} requests sent in {summary.duration_s:.1f}s"
        if skipped:
            reasons = ", ".join(f"{k} {v:,}" for k, v in sorted(summary.skipped.items()))
            line += f"; {skipped:,} of {records:,} records skipped ({reasons})"
        return StepResult(
            summary=line,
            metrics={f"{prefix}skipped.rate": rate},
            evidence={
                "records": records,
                "sent": summary.sent,
                "skipped": dict(summary.skipped),
                "duration_s": summary.duration_s,
                "failure": summary.failure,
            },
        )


def unsendable(skipped: dict[str, int]) -> int:
    """Skipped records that count against a phase: all but the method policy's.

    Not replaying a POST is the safety rule at work, not a fault of the sample; a record
    warmer cannot send as recorded (an invalid target, a header it refuses) is.
    """
    return sum(count for reason, count in skipped.items() if reason != "method")


def replay_phase(
    state: RunState,
    name: str,
    records: SampleSource | Iterable[SampleRecord],
    order: str,
    planned: int,
    *,
    on_progress: Callable[[], None] | None = None,
    stop: threading.Event | None = None,
    pacer: Pacer | None = None,
) -> ReplaySummary | None:
    """Replay ``records`` as phase ``name`` between its two observer boundaries.

    ``planned`` is what progress counts against; ``on_progress`` runs at every progress
    event (after the observers are checked), ``stop`` replaces the run's halt event and
    ``pacer`` the configured pacing. Raises the run's fault when one stopped the phase.
    """
    from warmer.gate.preparation import replay_plan
    from warmer.replay.run import ReplayFinished, ReplayProgress, replay

    plan = replay_plan(state.config, state.target, order=order)
    engine = state.engine()
    writer = state.traffic()
    finished: list[ReplaySummary] = []

    def on_event(event: Any) -> None:
        if isinstance(event, ReplayProgress):
            _watch_observers(state, name)
            if on_progress is not None:
                on_progress()
        elif isinstance(event, ReplayFinished):
            finished.append(event.summary)
            state.summaries[name] = event.summary
        state.emit(event)

    state.emit(PhaseStarted(name, planned))
    state.observation.boundary(f"{name}_start")
    try:
        replay(
            records,
            plan,
            writer,
            phase=name,
            on_event=on_event,
            stop=stop or state.halt,
            expected=planned,
            pacer=pacer,
            engine=engine,
        )
    finally:
        state.observation.boundary(f"{name}_end")
    _watch_observers(state, name)
    if state.fault is not None:
        raise state.fault
    return finished[0] if finished else None


def _watch_observers(state: RunState, phase: str) -> None:
    """Halt the run when a required source stopped answering (a fault, exit 3).

    A source that lives with the candidate (its ``/metrics``) goes away with it: when the
    target does not answer a probe either (refused, or frozen), the dead target is the
    cause named.
    """
    lost = state.observation.lost()
    if not lost or state.fault is not None:
        return
    name, sentence = next(iter(lost.items()))
    state.fail(_dead_target(state, phase, sentence) or _lost_source(name, sentence))


def _lost_source(name: str, sentence: str) -> ObserverLostError:
    where = "backend" if name == "backend" else f"tiers.{name}"
    return ObserverLostError(
        sentence + "; the run stopped there",
        f"is the {where} source still up? its readings until then are in timelines.json",
    )


def _dead_target(state: RunState, phase: str, sentence: str) -> TargetFailedError | None:
    from warmer.replay.run import probe_target
    from warmer.replay.target import parse_target

    socket = state.config.replay.unix_socket
    try:
        probe_target(state.target, min(state.config.replay.timeout_s, 2.0), unix_socket=socket)
    except TargetUnreachableError as exc:
        at = time.perf_counter() - state.writer.origin if state.writer is not None else 0.0
        address = parse_target(state.target, socket).address
        reason = exc.message.rpartition(": ")[2]
        return TargetFailedError(
            f"the target at {address} stopped working during {phase}: {reason} (probed "
            f"{at:.1f}s into the run); {sentence}",
            "is the candidate still up? every request sent is in results.parquet",
        )
    return None


@dataclass(frozen=True)
class Settle:
    """Pause between warm and verify so the caches settle; profile the sample meanwhile.

    The report writers are imported in the same pause, so the conclusion does not pay
    for their imports.
    """

    seconds: float
    name: str = "settle"

    def run(self, state: RunState) -> StepResult:
        from warmer.report import preload

        state.emit(PhaseStarted(self.name, 0))
        started = time.monotonic()
        state.prepared = state.prepared.with_profile()
        preload(state.options.formats)
        # Short waits: a required source that goes away during a long settle ends the run
        # now, not when verify begins.
        while not state.halt.is_set():
            left = self.seconds - (time.monotonic() - started)
            if left <= 0:
                break
            state.halt.wait(min(left, 0.5))
            _watch_observers(state, self.name)
        if state.fault is not None:
            raise state.fault
        return StepResult(summary=f"paused {time.monotonic() - started:.1f}s")
