"""The engine interface: what every replay engine (fast, httpx, Locust) promises.

An engine takes scheduled :class:`Job` s and reports one row per request to a
:class:`Sink`; pacing, order and safety are decided before a job reaches it, so an engine
only sends. Async engines share one driver (``_driver.py``) and differ only in how they
open a :class:`Connection`.
"""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Iterator, Sequence
from dataclasses import dataclass
from typing import NamedTuple, Protocol

from warmer.model.results import RESPONSE_HEADERS, SINGLE_VALUED
from warmer.replay.results import Row
from warmer.replay.safety import PreparedRequest
from warmer.replay.target import Target


@dataclass(frozen=True, slots=True)
class Job:
    """One request to send: ``due`` is seconds after the sink's origin, ``None`` = now."""

    seq: int
    due: float | None
    request: PreparedRequest
    recorded: float | None = None
    """The sample row's recorded time (epoch seconds), carried into the results."""


NO_HEADERS: tuple[str | None, ...] = (None,) * len(RESPONSE_HEADERS)


class Response(NamedTuple):
    """What came back for one request; ``error`` is one of ``ERROR_KINDS`` or ``None``.

    ``stale`` is internal: a reused keep-alive connection closed before any byte of the
    response arrived, which is safe to retry once on a fresh connection.
    """

    status: int | None
    nbytes: int
    error: str | None
    headers: tuple[str | None, ...] = NO_HEADERS
    """Values of ``RESPONSE_HEADERS``, in that order (None: not sent)."""
    digest: int | None = None
    """CRC-32 of the body (None without a body)."""
    extra: list[tuple[str, str]] | None = None
    """Other headers named in ``EngineSettings.extra_headers`` that were sent."""


def header_values(
    lines: Sequence[tuple[str, str]], extra: Sequence[str]
) -> tuple[tuple[str | None, ...], list[tuple[str, str]] | None]:
    """(``RESPONSE_HEADERS`` values, sent ``extra`` headers) from a response's header lines.

    List headers sent on several lines are comma-joined, single-valued ones keep the first
    (``SINGLE_VALUED``), as the fast engine records them.
    """
    seen: dict[str, str] = {}
    for name, value in lines:
        lower = name.lower()
        if lower not in seen:
            seen[lower] = value
        elif lower not in SINGLE_VALUED:
            seen[lower] = f"{seen[lower]}, {value}"
    values = tuple(seen.get(name) for name in RESPONSE_HEADERS)
    found = [(name, seen[name]) for name in extra if name in seen]
    return values, found or None


@dataclass(frozen=True)
class EngineSettings:
    """How an engine connects and how hard it pushes."""

    target: Target
    concurrency: int = 64
    """Requests in flight at most (= keep-alive connections for HTTP/1.1 engines)."""
    timeout_s: float = 10.0
    """Per request (and per connection attempt)."""
    retries: int = 2
    """Extra attempts after a *connection* error; responses are never retried."""
    duration_s: float | None = None
    """Stop sending this long after the replay started."""
    verify_tls: bool = True
    ca_file: str | None = None
    http2: bool = False
    """httpx engine only."""
    extra_headers: tuple[str, ...] = ()
    """Response headers to record beyond ``RESPONSE_HEADERS`` (lower case), e.g. the
    ``x-served-by`` a Fastly tier reads; they land in the results' ``headers`` column."""


class Sink(Protocol):
    """Where engines report: rows in ``RESULTS_ARROW_SCHEMA`` order, and a heartbeat."""

    origin: float
    """``time.perf_counter()`` value that ``due``/``sent_s`` are relative to."""
    phase: str | None

    def add(self, row: Row) -> None:
        """Record one request."""
        ...

    def tick(self) -> None:
        """Called a few times a second while the engine runs (flushes, progress events)."""
        ...


class Connection(Protocol):
    """One connection carrying one request at a time (HTTP/1.1 keep-alive)."""

    @property
    def closed(self) -> bool:
        """No more requests can go over this connection."""
        ...

    def request(self, request: PreparedRequest) -> Awaitable[Response]:
        """Send ``request`` and wait for the whole response (or an error)."""
        ...

    def close(self) -> None:
        """Close the connection now."""
        ...


class Engine(Protocol):
    """A replay engine: sends ``jobs`` until they run out, ``stop`` is set or the duration ends.

    ``run`` blocks; it drains requests in flight before returning, and reports every job
    it took to ``sink`` (jobs not taken are not reported).
    """

    name: str

    def run(
        self, jobs: Iterator[Job], settings: EngineSettings, sink: Sink, stop: threading.Event
    ) -> None:
        """Send the jobs; see the class docstring."""
        ...


class ConnectFailed(Exception):
    """A connection attempt failed; ``kind`` is an error kind (refused, timeout, tls ...)."""

    def __init__(self, kind: str, detail: str = "") -> None:
        super().__init__(detail or kind)
        self.kind = kind
