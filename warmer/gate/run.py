"""The gate run: its steps in order, then the conclusion, whatever happened on the way.

:func:`warmer.gate.preparation.prepare` does everything that sends nothing and is what
``--dry-run`` stops after. :func:`run_gate` then creates the run directory, writes the
run's inputs, and runs the steps (``warmer.gate.steps.default_steps``: preflight → warm →
settle → verify). A step that raises a ``WarmerError`` stops the run (its exit code: 3
for a dead target or observer); SIGINT, SIGTERM and SIGHUP stop it too (exit 130). In
every case :func:`warmer.gate.conclude.conclude` then measures what was sent, judges every
check and writes the reports, so a run directory always ends with a report.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from warmer.errors import WarmerError
from warmer.gate.conclude import GateResult, conclude
from warmer.gate.preparation import GateOptions, Prepared, prepare, replay_plan
from warmer.gate.rundir import RunDir, config_document, new_run_id, write_sample
from warmer.gate.steps import PhaseStarted, RunState, Step, StepResult, default_steps
from warmer.model.run import StepReport, mask_url

if TYPE_CHECKING:
    from warmer.gate.observation import Observation
    from warmer.gate.steps.base import EventHandler

__all__ = [
    "GateOptions",
    "GateResult",
    "PhaseStarted",
    "Prepared",
    "prepare",
    "replay_plan",
    "run_gate",
]

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
"""Signals that stop a run cleanly: it concludes and reports what it sent (exit 130)."""


def run_gate(
    prepared: Prepared,
    observation: Observation | None = None,
    *,
    on_event: EventHandler | None = None,
    stop: threading.Event | None = None,
    steps: Sequence[Step] | None = None,
) -> GateResult:
    """Run the gate for ``prepared``; the result's ``exit_code`` is the verdict's.

    ``observation`` defaults to the observers the config names (``build_observation``);
    ``steps`` to :func:`~warmer.gate.steps.default_steps`. Setting ``stop`` (from another
    thread) interrupts the run as a signal would. A run directory that could not be
    created raises ``InputError``; every later failure ends in a report, and the returned
    result carries its exit code.
    """
    if observation is None:
        from warmer.gate.build import build_observation

        observation = build_observation(prepared.options.config)
    config = prepared.options.config
    base = Path(config.gate.run_dir)
    run_id = new_run_id()
    run_dir = RunDir(prepared.options.run_dir or base / run_id)
    state = RunState(prepared, observation, run_dir, run_id, on_event)
    with _stop_on_signals(state), _forward(stop, state):
        run_dir.create()
        records, results = _execute(state, steps or default_steps(config))
        return conclude(state, records, results)


def _execute(
    state: RunState, steps: Sequence[Step]
) -> tuple[list[StepReport], dict[str, StepResult]]:
    """Write the run's inputs, then run ``steps`` in order until one fails or a signal stops it."""
    records: list[StepReport] = []
    results: dict[str, StepResult] = {}
    try:
        _write_inputs(state)
    except WarmerError as exc:
        state.fail(exc)
    for step in steps:
        if state.halt.is_set():
            records.append(StepReport(step.name, "not_run", error=_why_not_run(state)))
            continue
        started = state.elapsed()
        try:
            result = step.run(state)
        except WarmerError as exc:
            state.fail(exc)
            records.append(_record(state, step.name, started, "error", error=exc.message))
            continue
        results[step.name] = result
        status = "interrupted" if state.interrupted is not None else "ok"
        records.append(_record(state, step.name, started, status, summary=result.summary))
    return records, results


def _record(state: RunState, name: str, started: float, status: Any, **fields: Any) -> StepReport:
    duration = round(state.elapsed() - started, 3)
    return StepReport(name, status, round(started, 3), duration, **fields)


def _why_not_run(state: RunState) -> str:
    if state.fault is not None:
        return "an earlier step failed"
    return f"interrupted by {state.interrupted or 'a stop request'}"


def _write_inputs(state: RunState) -> None:
    options = state.options
    document = config_document(options.config, list(options.checks))
    document["replay"]["target"] = mask_url(options.target)
    state.dir.write_json(state.dir.config, document)
    split = state.prepared.split
    write_sample(state.dir, options.sample, split.warm, split.verify, split.cutoff_ts)


@contextmanager
def _stop_on_signals(state: RunState) -> Iterator[None]:
    """SIGINT/SIGTERM/SIGHUP interrupt the run instead of killing it: it still reports."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.getsignal(sig) for sig in STOP_SIGNALS}

    def handler(signum: int, frame: Any) -> None:
        state.interrupt(signal.Signals(signum).name)

    for sig in previous:
        signal.signal(sig, handler)
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


@contextmanager
def _forward(stop: threading.Event | None, state: RunState) -> Iterator[None]:
    """Interrupt the run when the caller's ``stop`` event is set (polled by a small thread)."""
    if stop is None:
        yield
        return
    done = threading.Event()

    def watch() -> None:
        while not done.wait(0.1):
            if stop.is_set():
                state.interrupt("a stop request")
                return

    thread = threading.Thread(target=watch, name="warmer-gate-stop", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()
