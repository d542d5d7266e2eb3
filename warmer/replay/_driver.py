"""The async driver shared by the asyncio engines: workers, open-model dispatch, retries.

Closed model (no due times): ``concurrency`` workers pull jobs straight from the
iterator. Open model: one dispatcher waits until each job is due and hands it to the
next free worker; when every worker is busy the job waits, and because rows carry the
scheduled time as well as the actual one, that queueing shows in the latency from
schedule instead of being hidden (coordinated omission).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Awaitable, Callable, Iterator

from warmer.replay.engine import ConnectFailed, Connection, EngineSettings, Job, Response, Sink

Connect = Callable[[], Awaitable[Connection]]

_TICK_S = 0.25
_MAX_SLEEP_S = 0.1  # the dispatcher re-checks stop at least this often
_BACKOFF_S = (0.05, 0.2, 0.5, 1.0)


def run_loop(main: Callable[[], Awaitable[None]]) -> None:
    """Run ``main`` on uvloop when it is installed, else on the default asyncio loop."""
    try:
        import uvloop

        factory: Callable[[], asyncio.AbstractEventLoop] | None = uvloop.new_event_loop
    except ImportError:  # pragma: no cover - uvloop is a dependency on POSIX
        factory = None
    with asyncio.Runner(loop_factory=factory) as runner:
        runner.run(main())  # type: ignore[arg-type]


class Driver:
    """Sends jobs over connections made by ``connect``; one instance per replay."""

    def __init__(
        self,
        jobs: Iterator[Job],
        settings: EngineSettings,
        sink: Sink,
        stop: threading.Event,
        connect: Connect,
    ) -> None:
        self.jobs = jobs
        self.settings = settings
        self.sink = sink
        self.stop = stop
        self.connect = connect
        self.origin = sink.origin
        self.deadline: float | None = None
        self._finished = False

    async def run(self) -> None:
        """Send everything, then return once the last response (or timeout) is in."""
        ticker = asyncio.ensure_future(self._tick())
        try:
            first = next(self.jobs, None)
            if first is None:
                return
            if self.settings.duration_s is not None:
                # Open model: the duration counts from the first scheduled send.
                zero = time.perf_counter() if first.due is None else self.origin + first.due
                self.deadline = zero + self.settings.duration_s
            if first.due is None:
                await self._closed_model(first)
            else:
                await self._open_model(first)
        finally:
            self._finished = True
            ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ticker
            self.sink.tick()

    async def _tick(self) -> None:
        while not self._finished:
            await asyncio.sleep(_TICK_S)
            self.sink.tick()

    def _may_send(self) -> bool:
        if self.stop.is_set():
            return False
        return self.deadline is None or time.perf_counter() < self.deadline

    # ----------------------------------------------------------------- closed model

    async def _closed_model(self, first: Job) -> None:
        pending = [first]

        def take() -> Job | None:
            if not self._may_send():
                return None
            if pending:
                return pending.pop()
            return next(self.jobs, None)

        workers = [self._closed_worker(take) for _ in range(self.settings.concurrency)]
        await asyncio.gather(*workers)

    async def _closed_worker(self, take: Callable[[], Job | None]) -> None:
        lane = _Lane(self)
        try:
            while (job := take()) is not None:
                await lane.send(job)
        finally:
            lane.close()

    # ----------------------------------------------------------------- open model

    async def _open_model(self, first: Job) -> None:
        queue: asyncio.Queue[Job | None] = asyncio.Queue(maxsize=self.settings.concurrency)
        workers = [
            asyncio.ensure_future(self._open_worker(queue))
            for _ in range(self.settings.concurrency)
        ]
        try:
            await self._dispatch(first, queue)
        finally:
            for _ in workers:
                await queue.put(None)
            await asyncio.gather(*workers)

    async def _dispatch(self, first: Job, queue: asyncio.Queue[Job | None]) -> None:
        job: Job | None = first
        origin = self.origin
        while job is not None:
            due = origin + (job.due or 0.0)
            if self.deadline is not None and due >= self.deadline:
                return
            while (delay := due - time.perf_counter()) > 0:
                if self.stop.is_set():
                    return
                await asyncio.sleep(min(delay, _MAX_SLEEP_S))
            if self.stop.is_set():
                return
            await queue.put(job)
            job = next(self.jobs, None)

    async def _open_worker(self, queue: asyncio.Queue[Job | None]) -> None:
        lane = _Lane(self)
        try:
            while (job := await queue.get()) is not None:
                await lane.send(job)
        finally:
            lane.close()


class _Lane:
    """One worker's connection: sends a job, retries connection errors, records the row."""

    def __init__(self, driver: Driver) -> None:
        self.driver = driver
        self.conn: Connection | None = None
        self.used = False

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()

    async def send(self, job: Job) -> None:
        perf = time.perf_counter
        origin = self.driver.origin
        sent = perf()
        response = await self._exchange(job)
        end = perf()
        request = job.request
        scheduled = job.due
        latency = (end - sent) * 1000.0 if response.error is None else None
        from_schedule = None
        if scheduled is not None and response.error is None:
            from_schedule = (end - origin - scheduled) * 1000.0
        self.driver.sink.add(
            (
                job.seq,
                self.driver.sink.phase,
                request.method,
                request.path,
                request.key,
                job.recorded,
                scheduled,
                sent - origin,
                latency,
                from_schedule,
                response.status,
                response.nbytes if response.error is None else None,
                response.digest if response.error is None else None,
                response.error,
                *response.headers,
                response.extra,
            )
        )

    async def _exchange(self, job: Job) -> Response:
        retries = self.driver.settings.retries
        attempt = 0
        while True:
            try:
                conn = await self._connection()
            except ConnectFailed as exc:
                if attempt >= retries or self.driver.stop.is_set():
                    return Response(None, 0, exc.kind)
                await asyncio.sleep(_BACKOFF_S[min(attempt, len(_BACKOFF_S) - 1)])
                attempt += 1
                continue
            reused = self.used
            self.used = True
            response = await conn.request(job.request)
            if response.error == "stale":
                # A keep-alive connection the server had already closed: nothing of this
                # request was processed, so one more attempt on a new connection is safe.
                self.conn = None
                if reused and attempt < retries:
                    attempt += 1
                    continue
                return response._replace(error="reset")
            if conn.closed:
                self.conn = None
            return response

    async def _connection(self) -> Connection:
        conn = self.conn
        if conn is None or conn.closed:
            self.conn = None
            conn = await self.driver.connect()
            self.conn = conn
            self.used = False
        return conn
