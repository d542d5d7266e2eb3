"""The worker side of warmer's Locust engine: the locustfile of ``locust --worker``.

Never imported by warmer (Locust's gevent patching would take over its process): Locust
loads it by path in worker processes, and the master (``master.py``) loads it for the
user class. The master sends each phase's start, its jobs in chunks and its end as Locust
custom messages (layouts in ``wire.py``); results go back in row batches.

The users take jobs from a ready queue in arrival order (which is each key's recorded
order: a key's requests all come to one worker). Closed model: jobs are ready when they
arrive. Open model: one dispatcher greenlet per phase moves each job there when it is
due, and when every user is busy it waits in the queue, late, which its row shows. A user
holds a job only while its request is in flight, so Locust may stop or move users (when a
worker joins late) without losing one. Times are ``perf_counter`` seconds after the
phase's shared start, converted from the master's clock with an offset measured at
start-up (NTP-style pings).
"""

from __future__ import annotations

import json
import os
import socket
import ssl
import time
import zlib
from collections import deque
from typing import TYPE_CHECKING, Any

import gevent
from gevent.event import Event
from locust import constant, events, task
from locust.contrib.fasthttp import FastHttpUser
from locust.env import Environment
from locust.runners import WorkerRunner

if TYPE_CHECKING or __package__:
    from warmer.replay.locust_engine import wire
else:  # loaded by path: Locust put this file's directory on sys.path
    import wire

_PINGS = 5
_REPORT_EVERY_S = 0.1
_POLL_S = 0.25
_KINDS = (
    ("refused", "refused"),
    ("reset", "reset"),
    ("broken pipe", "reset"),
    ("closed", "reset"),
    ("timed out", "timeout"),
    ("timeout", "timeout"),
    ("ssl", "tls"),
    ("certificate", "tls"),
    ("parse", "protocol"),
)

Job = list[Any]
"""``[seq, due, method, path, headers, body]`` (``wire.py``; the header index resolved)."""


class _Phase:
    """One phase on this worker: its jobs, its clock, its counts and rows not yet sent."""

    def __init__(self, number: int, start: float, duration: float | None, paced: bool) -> None:
        self.number = number
        self.start = start
        self.deadline = None if duration is None else start + duration
        self.paced = paced
        self.waiting: deque[Job] = deque()
        """Open model: jobs not due yet (the dispatcher moves them to ``ready``)."""
        self.ready: deque[Job] = deque()
        self.arrived = Event()
        self.halted = Event()
        self.ended = False
        self.closed = False
        """The phase is over here: jobs that still arrive are dropped."""
        self.inflight = 0
        self.sent = 0
        self.dropped = 0
        self.unreported_drops = 0
        self.rows: list[list[Any]] = []

    def add(self, chunk: dict[str, Any]) -> None:
        if self.closed or self.halted.is_set():
            self.drop(len(chunk["j"]))
            return
        tables = [_headers(pairs) for pairs in chunk["h"]]
        for job in chunk["j"]:
            job[4] = tables[job[4]]
        (self.waiting if self.paced else self.ready).extend(chunk["j"])
        self.arrived.set()
        if not self.paced:
            WORKER.wakeup.set()

    def take(self) -> Job | None:
        """The next ready job for a user (None: none, or the phase is stopping)."""
        if not self.ready or self.halted.is_set() or self.past_deadline():
            return None
        self.inflight += 1
        return self.ready.popleft()

    def drop(self, count: int) -> None:
        self.dropped += count
        self.unreported_drops += count

    def past_deadline(self) -> bool:
        return self.deadline is not None and time.perf_counter() >= self.deadline

    def exhausted(self) -> bool:
        """Nothing more will be sent: stopped, out of time, or ended with every job taken."""
        if self.halted.is_set() or self.past_deadline():
            return True
        return self.ended and not self.waiting and not self.ready


def _headers(pairs: list[list[str]]) -> dict[str, str]:
    headers = dict(pairs)
    # FastHttpSession would ask for compressed bodies; warmer records the body bytes as
    # they come, and asks only for what the recorded request asked for.
    if not any(name.lower() == "accept-encoding" for name in headers):
        headers["Accept-Encoding"] = "identity"
    return headers


class _Worker:
    """This worker process's side of the protocol (one instance, ``WORKER``)."""

    def __init__(self) -> None:
        self.runner: WorkerRunner | None = None
        self.offset = 0.0
        """The master's clock minus this one, in seconds."""
        self.phase: _Phase | None = None
        self.wakeup = Event()
        """Set when jobs become ready; idle users wait on it."""
        self._pong = Event()
        self._best_rtt = float("inf")

    def attach(self, runner: WorkerRunner) -> None:
        self.runner = runner
        handlers = {
            wire.TO_WORKER_PONG: self._on_pong,
            wire.TO_WORKER_START: self._on_start,
            wire.TO_WORKER_JOBS: self._on_jobs,
            wire.TO_WORKER_END: self._on_end,
            wire.TO_WORKER_STOP: self._on_stop,
        }
        for kind, handler in handlers.items():
            runner.register_message(kind, handler)
        gevent.spawn(self._introduce)
        gevent.spawn(self._report_rows)

    def send(self, kind: str, data: dict[str, Any]) -> None:
        assert self.runner is not None
        self.runner.send_message(kind, data)

    # ----------------------------------------------------------- joining the master

    def _introduce(self) -> None:
        """Measure the clock offset to the master, then say who this worker is."""
        for _ in range(_PINGS):
            self._pong.clear()
            self.send(wire.FROM_WORKER_PING, {"t": time.time()})
            self._pong.wait(2.0)
        assert self.runner is not None
        hello = {
            "host": socket.gethostname(),
            "address": _address_towards(self.runner.master_host, self.runner.master_port),
            "pid": os.getpid(),
            "rtt_ms": round(self._best_rtt * 1000, 3),
        }
        self.send(wire.FROM_WORKER_HELLO, hello)

    def _on_pong(self, environment: Environment, msg: Any) -> None:
        received = time.time()
        sent, master = msg.data["t"], msg.data["m"]
        rtt = received - sent
        if rtt < self._best_rtt:
            # The master read its clock about halfway through the round trip.
            self._best_rtt = rtt
            self.offset = master - (sent + received) / 2
        self._pong.set()

    # ----------------------------------------------------------- a phase

    def _on_start(self, environment: Environment, msg: Any) -> None:
        data = msg.data
        if self.phase is not None:
            self.phase.halted.set()
        local_t0 = data["t0"] - self.offset
        start = time.perf_counter() + (local_t0 - time.time())
        self.phase = _Phase(data["p"], start, data["duration"], data["paced"])
        gevent.spawn(self._run_phase, self.phase)

    def _current(self, data: dict[str, Any]) -> _Phase | None:
        phase = self.phase
        return phase if phase is not None and phase.number == data["p"] else None

    def _on_jobs(self, environment: Environment, msg: Any) -> None:
        phase = self._current(msg.data)
        if phase is not None:
            phase.add(wire.unpack(msg.data["b"]))

    def _on_end(self, environment: Environment, msg: Any) -> None:
        phase = self._current(msg.data)
        if phase is not None:
            phase.ended = True
            phase.arrived.set()

    def _on_stop(self, environment: Environment, msg: Any) -> None:
        phase = self._current(msg.data)
        if phase is not None:
            phase.halted.set()
            phase.arrived.set()

    def _run_phase(self, phase: _Phase) -> None:
        """Release the jobs as they fall due (open model), then report the phase done."""
        if phase.paced:
            self._dispatch(phase)
        while not phase.exhausted():
            phase.arrived.clear()
            phase.arrived.wait(_POLL_S)
        phase.closed = True
        phase.drop(len(phase.waiting) + len(phase.ready))
        phase.waiting.clear()
        phase.ready.clear()
        while phase.inflight:
            gevent.sleep(0.01)
        while not (phase.ended or phase.halted.is_set()):
            phase.arrived.clear()
            phase.arrived.wait(_POLL_S)  # warmer still has to send END after a deadline
        self._flush(phase)
        done = {"p": phase.number, "sent": phase.sent, "dropped": phase.dropped}
        self.send(wire.FROM_WORKER_DONE, done)

    def _dispatch(self, phase: _Phase) -> None:
        """Move each waiting job to the ready queue at its due time, in order."""
        while not phase.exhausted():
            if not phase.waiting:
                phase.arrived.clear()
                phase.arrived.wait(_POLL_S)
                continue
            delay = phase.start + phase.waiting[0][1] - time.perf_counter()
            if delay > 0:
                phase.halted.wait(delay)
                continue
            phase.ready.append(phase.waiting.popleft())
            self.wakeup.set()

    def next_job(self) -> tuple[_Phase, Job] | None:
        """A job for a user, waiting a little for one; None if there is none yet."""
        phase = self.phase
        job = phase.take() if phase is not None else None
        if job is None:
            self.wakeup.clear()
            self.wakeup.wait(_POLL_S)
            return None
        assert phase is not None
        return phase, job

    def _report_rows(self) -> None:
        while True:
            gevent.sleep(_REPORT_EVERY_S)
            if self.phase is not None:
                self._flush(self.phase)

    def _flush(self, phase: _Phase) -> None:
        rows, phase.rows = phase.rows, []
        drops, phase.unreported_drops = phase.unreported_drops, 0
        if rows or drops:
            batch = {"p": phase.number, "b": wire.pack(rows), "n": len(rows), "d": drops}
            self.send(wire.FROM_WORKER_ROWS, batch)


WORKER = _Worker()


def _on_locust_init(environment: Environment, **kwargs: Any) -> None:
    if isinstance(environment.runner, WorkerRunner):
        WORKER.attach(environment.runner)


events.init.add_listener(_on_locust_init)  # type: ignore[no-untyped-call]


def _address_towards(host: str, port: int) -> str:
    """This machine's address on the route to the master (what the master sees)."""
    try:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        with socket.socket(family, socket.SOCK_DGRAM) as probe:
            probe.connect((host, port))
            address: str = probe.getsockname()[0]
            return address
    except OSError:
        return "unknown"


def _error_kind(error: Any) -> str:
    """The results file's error kind for a failed request."""
    if isinstance(error, ConnectionRefusedError):
        return "refused"
    if isinstance(error, ConnectionResetError | BrokenPipeError):
        return "reset"
    if isinstance(error, TimeoutError | socket.timeout | gevent.Timeout):
        return "timeout"
    if isinstance(error, ssl.SSLError):
        return "tls"
    text = f"{type(error).__name__} {error}".lower()
    return next((kind for needle, kind in _KINDS if needle in text), "other")


def _failed(seq: int, sent: float, error: Any) -> list[Any]:
    """The row of a request that got no response."""
    return [seq, sent, None, None, None, _error_kind(error), None, []]


def _header_lines(headers: Any, capture: frozenset[str]) -> list[list[str]]:
    """The response's header lines warmer records, as [name, value] pairs (every line of a
    repeated header: warmer joins or picks them as the fast engine does)."""
    if not headers:
        return []
    items = headers.items() if hasattr(headers, "items") else headers
    return [[str(n), str(v)] for n, v in items if str(n).lower() in capture]


def _settings(environment: Environment) -> dict[str, Any]:
    """What warmer's master passed in the spawn message (a Locust custom argument)."""
    options = environment.parsed_options
    text = getattr(options, "warmer_settings", None) if options is not None else None
    settings: dict[str, Any] = json.loads(text) if text else {}
    return settings


class Replay(FastHttpUser):
    """Sends the jobs the dispatcher hands over and records one row for each."""

    wait_time = constant(0)

    def __init__(self, environment: Environment) -> None:
        settings = _settings(environment)
        self.network_timeout = self.connection_timeout = settings.get("timeout", 10.0)
        self.capture = frozenset(settings.get("capture", ()))
        self.insecure = not settings.get("verify", True)
        ca = settings.get("ca")
        if ca:
            self.ssl_context_factory = lambda: ssl.create_default_context(cadata=ca)
        super().__init__(environment)

    @task
    def replay(self) -> None:
        taken = WORKER.next_job()
        if taken is None:
            return
        phase, job = taken
        try:
            row = self._send(phase, job)
        except Exception as exc:  # a bug here must still give the job its row
            row = _failed(job[0], time.perf_counter() - phase.start, exc)
        finally:
            phase.inflight -= 1
        phase.rows.append(row)
        phase.sent += 1

    def _send(self, phase: _Phase, job: Job) -> list[Any]:
        seq, _due, method, path, headers, body = job
        sent = time.perf_counter()
        response = self.client.request(
            method, path, headers=headers, data=body, allow_redirects=False, name=method
        )
        latency = (time.perf_counter() - sent) * 1000.0
        error = getattr(response, "error", None)
        if error is not None and not response.status_code:
            return _failed(seq, sent - phase.start, error)
        content = response.content or b""
        digest = zlib.crc32(content) if content else None
        lines = _header_lines(response.headers, self.capture)
        return [seq, sent - phase.start, latency, response.status_code, len(content), None,
                digest, lines]  # fmt: skip
