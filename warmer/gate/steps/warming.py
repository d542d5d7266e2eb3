"""The warm phase: send the warm plan, stop once warm enough, pace by the backend's limits.

A variant of :class:`~warmer.gate.steps.traffic.ReplayPhase` for ``warm``:

* it sends the plan :func:`warmer.gate.warmplan.plan_warm` made (hot-first: each key once,
  the most valuable first, then the hot pass) and counts progress against the plan's
  requests, the figure the dry run printed and the report records;
* ``warm_until`` conditions are read on the live windowed hit rate
  (:class:`~warmer.gate.live.LiveWindow`, fed by the results writer) at every progress
  event, twice a second; three readings in a row that hold end the phase;
* ``[replay] protect`` limits drive an :class:`~warmer.replay.pacing.AdaptivePacer`
  through the AIMD :class:`~warmer.gate.protect.Protector`.

Its report section (``warming``) says why warming stopped and what rate the controller
chose over time.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from warmer.gate.steps.base import RunState, StepResult
from warmer.gate.steps.traffic import ReplayPhase, replay_phase

if TYPE_CHECKING:
    from collections.abc import Iterable

    from warmer.checks.grammar import Check
    from warmer.gate.live import LiveWindow
    from warmer.gate.protect import Protector, Reading
    from warmer.model.run import WarmControl
    from warmer.model.sample import SampleRecord
    from warmer.replay.pacing import AdaptivePacer
    from warmer.sample.source import SampleSource

HOLD_READINGS = 3
"""Consecutive progress readings a ``warm_until`` condition must hold for."""


@dataclass
class _Until:
    """The ``warm_until`` conditions and how long they have held."""

    checks: tuple[Check, ...]
    window: LiveWindow
    streak: int = 0
    met: str | None = None

    def update(self) -> bool:
        """Read the window once; True when every condition held ``HOLD_READINGS`` times."""
        values = [(c, self.window.hit_rate(c.tier or "effective")) for c in self.checks]
        holding = all(v is not None and c.passes(v) for c, v in values)
        self.streak = self.streak + 1 if holding else 0
        if self.streak >= HOLD_READINGS and self.met is None:
            shown = ", ".join(f"{c.text} (observed {v:.3f})" for c, v in values if v is not None)
            self.met = f"warm_until held: {shown}"
        return self.met is not None


@dataclass
class _BackendRate:
    """``backend.rps`` between the newest two readings of the live ``[backend]`` source."""

    state: RunState
    previous: tuple[float, float] | None = None
    """(snapshot time, requests) of the reading before the newest."""
    newest: tuple[float, float] | None = None
    value: Reading | None = None

    def read(self, now: float) -> Reading | None:
        from warmer.gate.protect import Reading

        reading = getattr(self.state.observation, "reading", None)
        snapshot = reading("backend") if reading is not None else None
        if snapshot is None or snapshot.requests is None:
            return self.value
        current = (snapshot.at, float(snapshot.requests))
        if self.newest is None or current[0] > self.newest[0]:
            self.previous, self.newest = self.newest, current
            if self.previous is not None and current[0] > self.previous[0]:
                rate = (current[1] - self.previous[1]) / (current[0] - self.previous[0])
                self.value = Reading(max(rate, 0.0), now)  # stamped when first seen
        return self.value


@dataclass
class WarmPhase:
    """Replay the warm plan with its stop rule and pace controller (module docstring)."""

    name: str = "warm"
    _stop: threading.Event = field(default_factory=threading.Event, repr=False)

    def run(self, state: RunState) -> StepResult:
        from warmer.gate.live import LiveWindow, tier_rules

        prepared, config = state.prepared, state.config
        writer = state.traffic()
        window = LiveWindow(tier_rules(config.tiers), window=config.gate.warm_window)
        until = _Until(prepared.warm_until, window) if prepared.warm_until else None
        pacer, protector = _controller(state, window)
        records, order = self._records(state)

        def steer() -> None:
            self._steer(state, until, protector, writer.origin)

        # The live window costs the replay loop a little per batch: only when it is read.
        unlisten = writer.listen(window) if until or protector else (lambda: None)
        try:
            summary = replay_phase(
                state,
                self.name,
                records,
                order,
                prepared.plan.warm_requests,
                on_progress=steer,
                stop=self._stop,
                pacer=pacer,
            )
        finally:
            unlisten()
        result = ReplayPhase(self.name, order)._result(prepared.split.warm_rows, summary)
        return _with_control(result, state, until, protector)

    def _records(self, state: RunState) -> tuple[SampleSource | Iterable[SampleRecord], str]:
        warm = state.prepared.warm_plan
        if warm is not None and warm.order == "hot-first":
            return warm.records(), "recorded"  # already in the plan's order
        return state.prepared.split.warm, state.config.replay.order

    def _steer(
        self, state: RunState, until: _Until | None, protector: Protector | None, origin: float
    ) -> None:
        """Once per progress event (the observers were just checked): stop now? what pace?"""
        if state.halt.is_set():
            self._stop.set()
        if until is not None and until.update():
            self._stop.set()
        if protector is not None:
            protector.update(time.perf_counter() - origin)


def _controller(
    state: RunState, window: LiveWindow
) -> tuple[AdaptivePacer | None, Protector | None]:
    """The adaptive pacer and its controller when ``[replay] protect`` sets limits."""
    from warmer.checks.grammar import parse_checks
    from warmer.gate.protect import Protector, Reading
    from warmer.replay.pacing import AdaptivePacer

    replay = state.config.replay
    if not replay.protect:
        return None, None
    limits = parse_checks(replay.protect, where="replay.protect", vocabulary="protect")
    capped = replay.pacing == "rate" and replay.rate is not None
    start = replay.rate if capped and replay.rate is not None else replay.protect_start_rate
    pacer = AdaptivePacer(start, max_rate=replay.rate if capped else None)
    backend = _BackendRate(state)

    def read(metric: str) -> Reading | None:
        now = window.latest
        if now is None:
            return None
        if metric == "backend.rps":
            return backend.read(now)
        if metric == "errors.rate":
            value = window.error_rate()
        else:
            value = window.latency_ms(float(metric.removeprefix("latency.p").removesuffix("_ms")))
        return None if value is None else Reading(value, now)

    return pacer, Protector(
        limits, pacer, read, window.send_rate, interval_s=replay.protect_interval_s
    )


def _with_control(
    result: StepResult, state: RunState, until: _Until | None, protector: Protector | None
) -> StepResult:
    import dataclasses

    from warmer.model.run import WarmControl, downsample

    control = WarmControl(
        stopped_early=until.met if until is not None else None,
        protect=state.config.replay.protect,
        # One decision per interval: an hour of warming would be 7 200 points.
        rates=tuple(downsample(protector.rates)) if protector is not None else (),
        decisions=len(protector.rates) if protector is not None else 0,
        decreases=protector.decreases if protector is not None else 0,
        peak_backend_rps=protector.peak.get("backend.rps") if protector is not None else None,
    )
    summary = result.summary
    if control.stopped_early:
        summary += f"; stopped early: {control.stopped_early}"
    if protector is not None:
        summary += f"; protected: {control.decisions} pace decisions, {control.decreases} cuts"
    evidence = {**result.evidence, "warming": _control_evidence(control)}
    return dataclasses.replace(
        result, summary=summary, evidence=evidence, report={"warming": control}
    )


def _control_evidence(control: WarmControl) -> dict[str, Any]:
    return {
        "stopped_early": control.stopped_early,
        "protect": list(control.protect),
        "decisions": control.decisions,
        "decreases": control.decreases,
        "peak_backend_rps": control.peak_backend_rps,
    }
