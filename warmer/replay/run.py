"""The replay library entry: ``replay(records, plan, sink)`` and the target preflight.

``replay`` validates the plan (protected hosts, methods), arranges and paces the records,
hands the jobs to an engine and tallies what the engine records into a results writer.
It emits typed events for progress and never prints; the caller owns signal handling
and sets ``stop`` to end a replay early (in-flight requests drain, results flush).
"""

from __future__ import annotations

import contextlib
import gc
import http.client
import socket
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from warmer.errors import TargetFailedError, TargetUnreachableError, UsageError
from warmer.model.sample import SampleRecord
from warmer.replay.engine import Engine, EngineSettings, Job
from warmer.replay.faults import FailurePolicy, FailureWatch, Tripped
from warmer.replay.locust_engine.options import LocustOptions
from warmer.replay.order import TimeSlice, arrange, arrange_source
from warmer.replay.pacing import Pacer, make_pacer
from warmer.replay.recorder import Recorder
from warmer.replay.results import ResultsWriter
from warmer.replay.safety import (
    SAFE_METHODS,
    RequestPolicy,
    check_methods,
    check_protected,
    parse_header,
)
from warmer.replay.summary import encode, percentiles_ms
from warmer.replay.target import Target, parse_target
from warmer.sample.source import SampleSource

ENGINES = ("fast", "httpx", "locust")
"""Engine names accepted by ``--engine``."""


@dataclass(frozen=True)
class ReplayPlan:
    """Everything that decides what a replay sends, where, in what order and how fast."""

    target: str
    unix_socket: str | None = None
    engine: str = "fast"
    pacing: str = "max"
    speed: float = 1.0
    max_gap_s: float | None = None
    rate: float | None = None
    ramp_s: float = 0.0
    ramp_from: float = 0.0
    order: str = "recorded"
    repeat: int = 1
    limit: int | None = None
    window: TimeSlice | None = None
    duration_s: float | None = None
    concurrency: int = 64
    timeout_s: float = 10.0
    retries: int = 2
    allow_methods: tuple[str, ...] = SAFE_METHODS
    headers: tuple[str, ...] = ()
    """``"Name: value"`` strings added to (and overriding) recorded headers."""
    drop_headers: tuple[str, ...] = ()
    preserve_host: bool = False
    protected_hosts: tuple[str, ...] = ()
    verify_tls: bool = True
    ca_file: str | None = None
    http2: bool = False
    locust: LocustOptions = field(default_factory=LocustOptions)
    """Locust engine: local workers, workers to wait for, where the master listens."""
    shard: tuple[int, int] | None = None
    """``(i, n)``: send only the records whose position is ``i`` modulo ``n`` (rate / n)."""
    fail_after: int = 100
    """End the replay after this many failed requests in a row (0: never)."""
    fail_share: float = 0.5
    """End the replay when more than this share of the last ``fail_window`` failed."""
    fail_window: int = 1000

    def failure_policy(self) -> FailurePolicy:
        """When this replay gives up on its target (see :mod:`warmer.replay.faults`)."""
        try:
            return FailurePolicy(self.fail_after, self.fail_share, self.fail_window)
        except ValueError as exc:
            raise UsageError(str(exc), "e.g. --fail-after 100 --fail-share 0.5") from exc

    capture_headers: tuple[str, ...] = ()
    """Response headers to record beyond the standard ones (those configured tiers read)."""

    def parsed_target(self) -> Target:
        """The target, parsed and checked against the protected hosts."""
        target = parse_target(self.target, self.unix_socket)
        check_protected(target, self.protected_hosts)
        return target

    def validate(self) -> None:
        """Raise the usage or safety error this plan would meet, before anything is sent."""
        target = self.parsed_target()
        _policy(self, target)
        _pacer(self)
        self.failure_policy()
        get_engine(self.engine, self.locust)
        self.engine_settings(target)

    def engine_settings(self, target: Target) -> EngineSettings:
        """What the engine needs to know of this plan."""
        if self.concurrency < 1 or not self.timeout_s > 0 or self.retries < 0:
            raise UsageError("--concurrency and --timeout must be positive, --retries >= 0")
        if self.limit is not None and self.limit < 0:
            raise UsageError("--limit must not be negative")
        return EngineSettings(
            target=target,
            concurrency=self.concurrency,
            timeout_s=self.timeout_s,
            retries=self.retries,
            duration_s=self.duration_s,
            verify_tls=self.verify_tls,
            ca_file=self.ca_file,
            http2=self.http2,
            extra_headers=self.capture_headers,
        )


@dataclass(frozen=True)
class ReplayStarted:
    """Emitted once before the first request."""

    phase: str | None
    target: str
    engine: str
    pacing: str
    expected: int | None


@dataclass(frozen=True)
class ReplayProgress:
    """Emitted about twice a second while requests flow."""

    phase: str | None
    elapsed_s: float
    sent: int
    errors: int
    rate: float
    expected: int | None
    eta_s: float | None


@dataclass(frozen=True)
class ReplaySummary:
    """What one replay did; ``to_dict`` is what goes into reports and the results file."""

    phase: str | None
    engine: str
    target: str
    sent: int
    responses: int
    status_classes: dict[str, int]
    errors: dict[str, int]
    skipped: dict[str, int]
    duration_s: float
    rate: float
    latency_ms: dict[str, float]
    latency_from_schedule_ms: dict[str, float]
    send_lag_ms: dict[str, float]
    interrupted: bool = False
    failure: str | None = None
    """Why the replay gave up on its target (see :mod:`warmer.replay.faults`), if it did."""
    histograms: dict[str, str] = field(default_factory=dict, repr=False)
    """HdrHistogram encodings (µs) of latency, from_schedule, send_lag: merge across shards."""

    @property
    def error_rate(self) -> float:
        """Share of sent requests that got no response."""
        return sum(self.errors.values()) / self.sent if self.sent else 0.0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of every field."""
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


@dataclass(frozen=True)
class ReplayFinished:
    """Emitted once after the results are flushed."""

    summary: ReplaySummary


ReplayEvent = ReplayStarted | ReplayProgress | ReplayFinished
EventHandler = Callable[[ReplayEvent], None]


def replay(
    records: Iterable[SampleRecord] | SampleSource,
    plan: ReplayPlan,
    sink: ResultsWriter,
    *,
    phase: str | None = None,
    on_event: EventHandler | None = None,
    stop: threading.Event | None = None,
    expected: int | None = None,
    engine: Engine | None = None,
    pacer: Pacer | None = None,
) -> ReplaySummary:
    """Replay ``records`` against ``plan.target``, recording every response into ``sink``.

    ``records`` is an iterable of sample records, or a
    :class:`~warmer.sample.source.SampleSource`, which orders hot-first in far less memory.

    ``sink`` is not closed, so a gate can run a warm and a verify phase into one file;
    ``phase`` labels the rows. ``expected`` (number of requests, if known) feeds the ETA.
    Raises ``UnsafeTargetError`` for a protected target or an unreplayable method, and
    ``UsageError`` for a bad plan, before sending. Failed requests are counted, not raised,
    until the target looks dead (``plan.fail_after`` failures in a row, or more than
    ``plan.fail_share`` of a window): then the replay stops, records its summary and
    raises :class:`TargetFailedError` (exit 3) saying when and what failed. Call
    :func:`check_target` first to fail fast on a target that is dead from the start.
    ``engine`` replaces the one ``plan.engine`` names (a custom engine, or a fake in tests);
    ``pacer`` the one its pacing names (a gate's backend-protection controller drives an
    :class:`~warmer.replay.pacing.AdaptivePacer`).
    """
    target = plan.parsed_target()
    policy = _policy(plan, target)
    pacer = pacer or _pacer(plan)
    engine = engine or get_engine(plan.engine, plan.locust)
    settings = plan.engine_settings(target)
    stop = stop or threading.Event()
    if expected is not None and plan.limit is not None:
        expected = min(expected, plan.limit)
    watch = FailureWatch(plan.failure_policy())
    recorder = Recorder(
        sink,
        phase,
        on_event,
        _shard_share(expected, plan.shard),
        plan.rate,
        _progress_event,
        stop=stop,
        watch=watch,
    )
    skipped: Counter[str] = Counter()
    arrangement = arrange_source if isinstance(records, SampleSource) else arrange
    arranged = arrangement(
        records,  # type: ignore[arg-type]
        order=plan.order,
        repeat=plan.repeat,
        window=plan.window,
    )
    # --limit counts requests sent, so it applies after the skips.
    jobs = _jobs(arranged, policy, pacer, sink.origin, skipped, plan.shard, plan.limit)
    if on_event is not None:
        on_event(ReplayStarted(phase, target.address, engine.name, plan.pacing, recorder.expected))
    with _quiet_gc():
        try:
            engine.run(jobs, settings, recorder, recorder.halt)
        finally:
            recorder.close()
    tripped = watch.tripped
    summary = _summarize(recorder, plan, target, skipped, stop.is_set(), tripped)
    sink.add_run(summary.to_dict())
    if on_event is not None:
        on_event(ReplayFinished(summary))
    if tripped is not None:
        raise target_failed(target, phase, tripped)
    return summary


def target_failed(target: Target, phase: str | None, tripped: Tripped) -> TargetFailedError:
    """The exit-3 error of a replay that gave up on its target."""
    where = f" into {phase}" if phase else ""
    return TargetFailedError(
        f"the target at {target.address} stopped working {tripped.at_s:.1f}s{where}: "
        f"{tripped.describe()}; the replay stopped there",
        "is the candidate still up? every request sent is in the results file; "
        "--fail-after/--fail-share set when a replay gives up",
    )


@contextlib.contextmanager
def _quiet_gc() -> Iterator[None]:
    """Move everything alive now out of the collector's sight for the run.

    A full collection walks every object pandas/pyarrow left behind and can stall the
    event loop for tens of milliseconds, which a paced replay would show as late sends.
    """
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def _progress_event(
    phase: str | None,
    elapsed: float,
    sent: int,
    errors: int,
    expected: int | None,
    rate: float | None,
) -> ReplayProgress:
    achieved = sent / elapsed if elapsed > 0 else 0.0
    eta = None
    if expected is not None:
        pace = rate or achieved
        eta = max(expected - sent, 0) / pace if pace > 0 else None
    return ReplayProgress(phase, elapsed, sent, errors, achieved, expected, eta)


def _policy(plan: ReplayPlan, target: Target) -> RequestPolicy:
    return RequestPolicy(
        target=target,
        allow_methods=check_methods(plan.allow_methods),
        add_headers=dict(parse_header(h) for h in plan.headers),
        drop_headers=plan.drop_headers,
        preserve_host=plan.preserve_host,
    )


def _pacer(plan: ReplayPlan) -> Pacer:
    rate = plan.rate
    if rate is not None and plan.shard is not None:
        rate = rate / plan.shard[1]
    if plan.order == "hot-first" and plan.pacing == "recorded":
        raise UsageError(
            "--order hot-first has no recorded timing to follow",
            "use --pacing rate or --pacing max with hot-first",
        )
    return make_pacer(
        plan.pacing,
        speed=plan.speed,
        max_gap_s=plan.max_gap_s,
        rate=rate,
        ramp_s=plan.ramp_s,
        ramp_from=plan.ramp_from,
    )


def _shard_share(expected: int | None, shard: tuple[int, int] | None) -> int | None:
    if expected is None or shard is None:
        return expected
    i, n = shard
    return expected // n + (1 if i < expected % n else 0)


def _jobs(
    records: Iterable[SampleRecord],
    policy: RequestPolicy,
    pacer: Pacer,
    origin: float,
    skipped: Counter[str],
    shard: tuple[int, int] | None,
    limit: int | None = None,
) -> Iterator[Job]:
    def kept() -> Iterator[tuple[int, SampleRecord]]:
        position = 0
        for record in records:
            if limit is not None and position >= limit:
                return
            reason = policy.skip_reason(record)
            if reason is not None:
                if shard is None or shard[0] == 0:  # each shard sees every record
                    skipped[reason] += 1
                continue
            if shard is None or position % shard[1] == shard[0]:
                yield position, record
            position += 1

    positions: deque[int] = deque()

    def tagged() -> Iterator[SampleRecord]:
        for position, record in kept():
            positions.append(position)
            yield record

    start: float | None = None
    for offset, record in pacer.schedule(tagged()):
        if start is None:
            # The schedule's zero is when the first record is in hand, so engine start-up
            # and the first read of the sample do not make the first requests late.
            start = time.perf_counter() - origin
        seq = positions.popleft()
        due = None if offset is None else start + offset
        yield Job(seq, due, policy.prepare(record), record.ts)


def _summarize(
    recorder: Recorder,
    plan: ReplayPlan,
    target: Target,
    skipped: Counter[str],
    interrupted: bool,
    tripped: Tripped | None = None,
) -> ReplaySummary:
    tally = recorder.tally
    duration = time.perf_counter() - recorder.started
    return ReplaySummary(
        phase=recorder.phase,
        engine=plan.engine,
        target=target.address,
        sent=tally.sent,
        responses=tally.sent - tally.error_count,
        status_classes=dict(sorted(tally.status_classes.items())),
        errors=dict(sorted(tally.errors.items())),
        skipped=dict(sorted(skipped.items())),
        duration_s=round(duration, 3),
        rate=round(tally.sent / duration, 1) if duration > 0 else 0.0,
        latency_ms=percentiles_ms(tally.latency),
        latency_from_schedule_ms=percentiles_ms(tally.from_schedule),
        send_lag_ms=percentiles_ms(tally.send_lag),
        interrupted=interrupted,
        failure=tripped.describe() if tripped is not None else None,
        histograms={
            "latency": encode(tally.latency),
            "from_schedule": encode(tally.from_schedule),
            "send_lag": encode(tally.send_lag),
        },
    )


def get_engine(name: str, locust: LocustOptions | None = None) -> Engine:
    """The engine called ``name`` (imported on demand: each pulls in its HTTP stack)."""
    if name == "fast":
        from warmer.replay.fast import FastEngine

        return FastEngine()
    if name == "httpx":
        from warmer.replay.httpx_engine import HttpxEngine

        return HttpxEngine()
    if name == "locust":
        from warmer.replay.locust_engine.engine import LocustEngine

        return LocustEngine(locust)
    raise UsageError(f"unknown engine {name!r}", f"choose one of {', '.join(ENGINES)}")


@contextlib.contextmanager
def replay_engine(plan: ReplayPlan) -> Iterator[Engine]:
    """``plan``'s engine, ready for several ``replay(..., engine=)`` calls (a gate's phases).

    An engine with processes to start (Locust's master and workers) starts them here and
    waits for its workers, so a missing worker fails (``RunError``, exit 3) before any
    request; they serve every replay in the block and stop at its end.
    """
    engine = get_engine(plan.engine, plan.locust)
    opener = getattr(engine, "open", None)
    if opener is None:
        yield engine
        return
    opener(plan.engine_settings(plan.parsed_target()))
    try:
        yield engine
    finally:
        getattr(engine, "close")()  # noqa: B009


def check_target(url: str, timeout_s: float = 3.0, *, unix_socket: str | None = None) -> None:
    """Fail fast when nothing accepts connections at the target.

    Raises :class:`TargetUnreachableError` (exit 3) naming the address within
    ``timeout_s`` when the connection is refused, times out or the name does not resolve.
    """
    target = parse_target(url, unix_socket)
    try:
        if target.unix_socket:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                sock.settimeout(timeout_s)
                sock.connect(target.unix_socket)
        else:
            socket.create_connection((target.host, target.port), timeout=timeout_s).close()
    except OSError as exc:
        reason = "timed out" if isinstance(exc, TimeoutError) else (exc.strerror or str(exc))
        raise TargetUnreachableError(
            f"cannot reach the target at {target.address}: {reason.lower()}",
            "is the candidate running and listening there? check --target",
        ) from exc


def probe_target(url: str, timeout_s: float = 2.0, *, unix_socket: str | None = None) -> None:
    """Ask the target for ``HEAD /`` once: any HTTP answer (404 too) means it is alive.

    Raises :class:`TargetUnreachableError` when it refuses the connection or accepts it
    but answers nothing within ``timeout_s`` (a frozen or wedged process). Used when
    something else already looks wrong, to tell a dead target from a dead observer; it
    sends no recorded header, no credential, and does not verify TLS certificates (it
    reads only the status line).
    """
    import ssl

    target = parse_target(url, unix_socket)
    connection: http.client.HTTPConnection
    if target.unix_socket:
        connection = _UnixHTTPConnection(target.unix_socket, timeout_s)
    elif target.tls:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        connection = http.client.HTTPSConnection(
            target.host, target.port, timeout=timeout_s, context=context
        )
    else:
        connection = http.client.HTTPConnection(target.host, target.port, timeout=timeout_s)
    try:
        connection.request("HEAD", target.prefix + "/", headers={"Host": target.authority})
        connection.getresponse().close()
    except (OSError, http.client.HTTPException) as exc:
        reason = (
            f"no answer within {timeout_s:g}s"
            if isinstance(exc, TimeoutError)
            else getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        )
        raise TargetUnreachableError(
            f"the target at {target.address} does not answer: {reason.lower()}",
            "is the candidate running and listening there? check --target",
        ) from exc
    finally:
        connection.close()


class _UnixHTTPConnection(http.client.HTTPConnection):
    """HTTP over a Unix socket (``--unix-socket``, ``http+unix://``) for :func:`probe_target`."""

    def __init__(self, path: str, timeout_s: float) -> None:
        super().__init__("localhost", timeout=timeout_s)
        self._path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self._path)
