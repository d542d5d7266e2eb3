"""A load machine's side: keep a Locust worker connected to warmer's master, run after run.

A Locust worker quits when its master lets it go (the end of a ``warmer gate`` or
``warmer replay``), so :func:`serve` starts a new one each time, ready for the next run:
a worker Deployment's pods stay up between CI jobs instead of restarting into a backoff.
Locust runs in the child process only; this one never imports it.
"""

from __future__ import annotations

import contextlib
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from warmer.replay.locust_engine.commands import worker_command

_BACKOFF_S = (1.0, 2.0, 5.0, 10.0)
_QUICK_EXIT_S = 10.0
"""A worker that exits sooner than this (nothing to connect to, a crash) backs off."""


@dataclass(frozen=True)
class WorkerStarted:
    """A Locust worker process started; it connects to the master as soon as one listens."""

    pid: int
    master: str


@dataclass(frozen=True)
class WorkerExited:
    """The worker process ended (its master let it go, or it failed); another follows."""

    code: int
    again_in_s: float


WorkerEvent = WorkerStarted | WorkerExited


def serve(
    host: str,
    port: int,
    *,
    processes: int = 1,
    stop: threading.Event | None = None,
    on_event: Callable[[WorkerEvent], None] | None = None,
) -> int:
    """Run Locust workers for the master at ``host:port`` one after another until ``stop``.

    Returns the last worker's exit code; setting ``stop`` ends the current worker with
    SIGTERM (Locust then tells the master it quits).
    """
    stop = stop or threading.Event()
    command = worker_command(host, port, processes)
    quick_exits = 0
    code = 0
    while not stop.is_set():
        started = time.monotonic()
        proc = subprocess.Popen(command, stdin=subprocess.DEVNULL)
        if on_event is not None:
            on_event(WorkerStarted(proc.pid, f"{host}:{port}"))
        code = _wait(proc, stop)
        if stop.is_set():
            break
        quick = time.monotonic() - started < _QUICK_EXIT_S
        quick_exits = quick_exits + 1 if quick else 0
        pause = _BACKOFF_S[min(quick_exits, len(_BACKOFF_S)) - 1] if quick_exits else 0.5
        if on_event is not None:
            on_event(WorkerExited(code, pause))
        stop.wait(pause)
    return code


def _wait(proc: subprocess.Popen[bytes], stop: threading.Event) -> int:
    """Wait for ``proc``; when ``stop`` is set, ask it to end (then make it)."""
    while proc.poll() is None:
        if stop.wait(0.2):
            proc.terminate()
            try:
                return proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(5)
                return proc.returncode if proc.returncode is not None else -9
    return proc.returncode
