"""One replay on a Locust cluster: jobs sharded by cache key to the workers, rows back.

A feeder thread reads the jobs, gives each to the worker its cache key belongs to
(``sharding.py``: a key's requests stay on one worker, in order) and sends them in chunks
of ``CHUNK``, never more than ``WINDOW`` unanswered per worker, so memory stays flat
however large the sample. The calling thread turns the workers' row batches into results
rows. Due times travel relative to a shared start ``LEAD_S`` ahead, which each worker
converts to its own clock, so recorded pacing stays aligned across machines and the
workers' rates add up to the requested one.
"""

from __future__ import annotations

import contextlib
import itertools
import threading
import time
from collections.abc import Iterator
from typing import Any

from warmer.errors import RunError
from warmer.replay.engine import Job, Sink, header_values
from warmer.replay.locust_engine import wire
from warmer.replay.locust_engine.cluster import Cluster, WorkerInfo
from warmer.replay.locust_engine.sharding import KeyShards

CHUNK = 500
"""Jobs per message to a worker."""
WINDOW = 16_384
"""Jobs sent to a worker and not yet answered, at most."""
FLUSH_S = 0.05
"""Partial chunks go out at least this often (a due job must not wait for a full chunk)."""
LEAD_S = 0.5
"""The shared start is this far ahead of the first job, so every worker has it in time."""
_STOP_GRACE_S = 15.0
_COUNT_FOR_S = 10.0


class _Book:
    """What was handed to each worker and what came back; shared by the feeder and the reader."""

    def __init__(self, workers: list[WorkerInfo]) -> None:
        count = len(workers)
        self.workers = workers
        self.credit = threading.Condition()
        self.outstanding = [0] * count
        self.assigned = [0] * count
        self.received = [0] * count
        self.reported: list[int | None] = [None] * count
        """Rows each worker said it sent in all (its DONE), None before that."""
        self.pending: dict[int, tuple[str, str, str, float | None, float | None]] = {}
        self.lost: dict[int, str] = {}

    def assign(
        self, worker: int, seq: int, job: tuple[str, str, str, float | None, float | None]
    ) -> None:
        self.pending[seq] = job
        self.assigned[worker] += 1
        with self.credit:
            self.outstanding[worker] += 1

    def wait_credit(self, worker: int, halted: threading.Event) -> bool:
        """Block while ``worker`` has a full window; False when the phase is halted."""
        with self.credit:
            while self.outstanding[worker] >= WINDOW:
                if halted.is_set():
                    return False
                self.credit.wait(0.1)
        return True

    def answered(self, worker: int, count: int) -> None:
        with self.credit:
            self.outstanding[worker] -= count
            self.credit.notify_all()

    def finished(self) -> bool:
        """Every worker is lost, or reported done and all its rows are in."""
        return all(
            w in self.lost or (sent is not None and self.received[w] >= sent)
            for w, sent in enumerate(self.reported)
        )


class _Chunk:
    """Jobs for one worker, the header lists they share sent once per chunk."""

    def __init__(self) -> None:
        self.tables: dict[tuple[tuple[str, str], ...], int] = {}
        self.jobs: list[list[Any]] = []

    def add(self, job: Job, due: float | None) -> None:
        request = job.request
        index = self.tables.setdefault(request.headers, len(self.tables))
        self.jobs.append([job.seq, due, request.method, request.path, index, request.body])

    def take(self) -> bytes:
        data = wire.pack({"h": list(self.tables), "j": self.jobs})
        self.tables, self.jobs = {}, []
        return data


class _Feeder(threading.Thread):
    """Sends the jobs to the workers; stops early when halted, and never raises."""

    def __init__(
        self, owner: PhaseRun, jobs: Iterator[Job], first_due: float | None, origin: float
    ) -> None:
        super().__init__(name="warmer-locust-feeder", daemon=True)
        self.owner = owner
        self.jobs = jobs
        self.first_due = first_due
        self.origin = origin
        self.halted = threading.Event()
        self.error: BaseException | None = None
        self.shards = KeyShards(len(owner.book.workers))
        self.after_halt: list[int] = [0] * len(owner.book.workers)
        """Jobs per worker that were still to come when the phase halted for a lost worker."""

    def halt(self) -> None:
        self.halted.set()

    def run(self) -> None:
        try:
            self._feed()
        except BaseException as exc:  # handed to the reader thread, which raises it
            self.error = exc
        finally:
            with contextlib.suppress(OSError):
                self.owner.cluster.channel.send(wire.END)

    def _feed(self) -> None:
        book, channel = self.owner.book, self.owner.cluster.channel
        chunks = [_Chunk() for _ in book.workers]
        shards = self.shards
        last_flush = time.perf_counter()

        def flush(worker: int) -> None:
            if chunks[worker].jobs:
                channel.send(wire.JOBS, {"w": worker, "b": chunks[worker].take()})

        for job in self.jobs:
            due = None if job.due is None or self.first_due is None else job.due - self.first_due
            if self.halted.is_set():
                self._count_rest(shards.worker(job.request.key))
                return
            if self._over_time(due):
                break
            worker = shards.worker(job.request.key)
            if book.outstanding[worker] >= WINDOW:
                flush(worker)
                if not book.wait_credit(worker, self.halted):
                    self._count_rest(worker)
                    return
            request = job.request
            entry = (request.method, request.path, request.key, due, job.recorded)
            book.assign(worker, job.seq, entry)
            chunks[worker].add(job, due)
            if len(chunks[worker].jobs) >= CHUNK:
                flush(worker)
            if (now := time.perf_counter()) - last_flush >= FLUSH_S:
                for worker in range(len(chunks)):
                    flush(worker)
                last_flush = now
        for worker in range(len(chunks)):
            flush(worker)

    def _over_time(self, due: float | None) -> bool:
        duration = self.owner.duration_s
        if duration is None:
            return False
        if due is not None:
            return due >= duration
        return time.perf_counter() - self.origin >= self.owner.t0 + duration

    def _count_rest(self, worker: int) -> None:
        """After a worker was lost: whose the job in hand (``worker``'s) and the jobs still
        to come were (time-boxed), for the message that says what it never sent."""
        if not self.owner.book.lost:
            return
        self.after_halt[worker] += 1
        until = time.monotonic() + _COUNT_FOR_S
        for later in self.jobs:
            self.after_halt[self.shards.worker(later.request.key)] += 1
            if time.monotonic() > until:
                self.owner.counted_all = False
                return


class PhaseRun:
    """Replays one phase's jobs on ``cluster``, reporting rows to ``sink``."""

    def __init__(
        self, cluster: Cluster, sink: Sink, stop: threading.Event, duration_s: float | None
    ) -> None:
        self.cluster = cluster
        self.sink = sink
        self.stop = stop
        self.duration_s = duration_s
        self.name = sink.phase or "replay"
        self.book = _Book([])
        self.t0 = 0.0
        """The shared start, in seconds after ``sink.origin``."""
        self.counted_all = True
        self._halted_at: float | None = None

    def run(self, jobs: Iterator[Job]) -> None:
        """Send every job (or until stopped); ``RunError`` when a worker is lost."""
        first = next(jobs, None)
        if first is None:
            return
        self.book = _Book(self._workers())
        self._start(first)
        feeder = _Feeder(self, itertools.chain([first], jobs), first.due, self.sink.origin)
        feeder.start()
        try:
            self._collect(feeder)
        finally:
            feeder.halt()
            feeder.join()
        self._raise_failure(feeder)

    def _workers(self) -> list[WorkerInfo]:
        """Ask the master for this phase's workers (it waits for missing ones)."""
        self.cluster.channel.send(wire.PHASE, {"name": self.name})
        deadline = time.monotonic() + self.cluster.options.wait_s + 30.0
        while time.monotonic() < deadline:
            got = self.cluster.expect_frame(0.5)
            if got is not None and got[0] == wire.WORKERS:
                return [WorkerInfo.from_wire(w) for w in got[1]["workers"]]
        raise self.cluster.failure(f"the Locust master did not start the {self.name} phase")

    def _start(self, first: Job) -> None:
        now = time.perf_counter() - self.sink.origin
        self.t0 = max(now, first.due if first.due is not None else now) + LEAD_S
        t0_epoch = time.time() + (self.t0 - now)
        start = {"t0": t0_epoch, "duration": self.duration_s, "paced": first.due is not None}
        self.cluster.channel.send(wire.START, start)

    def _collect(self, feeder: _Feeder) -> None:
        """Take rows until every worker is done (or lost); halt everyone on stop or failure."""
        while not self.book.finished():
            got = self.cluster.expect_frame(0.1)
            if got is not None:
                self._on_frame(*got, feeder)
            self.sink.tick()
            if self._halted_at is None and (self.stop.is_set() or feeder.error is not None):
                self._halt(feeder)
            if self._halted_at is not None and time.monotonic() - self._halted_at > _STOP_GRACE_S:
                return  # a worker that does not answer a stop: what came back is kept

    def _halt(self, feeder: _Feeder) -> None:
        feeder.halt()
        self._halted_at = time.monotonic()
        self.cluster.channel.send(wire.STOP)

    def _on_frame(self, kind: str, data: dict[str, Any], feeder: _Feeder) -> None:
        worker = int(data.get("w", -1))
        if kind == wire.ROWS:
            self._rows(worker, wire.unpack(data["b"]))
            self.book.answered(worker, data["n"] + data["d"])
        elif kind == wire.DONE:
            self.book.reported[worker] = data["sent"]
        elif kind == wire.LOST:
            self.book.lost[worker] = data.get("why", "it was lost")
            if self._halted_at is None:
                self._halt(feeder)

    def _rows(self, worker: int, rows: list[list[Any]]) -> None:
        pending, phase, t0, add = self.book.pending, self.sink.phase, self.t0, self.sink.add
        extra = self.cluster.settings.extra_headers
        for seq, sent, latency, status, nbytes, error, digest, lines in rows:
            job = pending.pop(seq, None)
            if job is None:
                continue  # not ours (cannot happen unless a worker repeats a batch)
            method, path, key, due, recorded = job
            scheduled = None if due is None else t0 + due
            from_schedule = None
            if due is not None and latency is not None:
                from_schedule = (sent - due) * 1000.0 + latency
            headers, others = header_values([(n, v) for n, v in lines], extra)
            add((seq, phase, method, path, key, recorded, scheduled, t0 + sent, latency,
                 from_schedule, status, nbytes, digest, error, *headers, others))  # fmt: skip
        self.book.received[worker] += len(rows)

    def _raise_failure(self, feeder: _Feeder) -> None:
        book = self.book
        if book.lost:
            raise _lost_error(self, feeder)
        if feeder.error is not None:
            raise feeder.error


def _lost_error(run: PhaseRun, feeder: _Feeder) -> RunError:
    book = run.book
    parts = []
    for worker, why in sorted(book.lost.items()):
        unanswered = book.outstanding[worker] + feeder.after_halt[worker]
        total = book.assigned[worker] + feeder.after_halt[worker]
        more = "" if run.counted_all else " at least"
        parts.append(
            f"worker {book.workers[worker].label} was lost during {run.name} ({why}):{more} "
            f"{unanswered:,} of its {total:,} requests were never sent or never reported"
        )
    return RunError(
        "; ".join(parts),
        "check that load machine and its `warmer locust-worker` log; "
        "the results file holds every response that came back",
    )
