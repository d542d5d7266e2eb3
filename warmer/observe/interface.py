"""The observer interface: what every source of tier or backend figures promises.

An observer reads one source (a Redis server, a Memcached, a ``/metrics`` endpoint, a PromQL
query) and turns it into a :class:`TierSnapshot` of cumulative counters and gauges. Deltas
between two snapshots (``counters.py``) give what happened in between; a timeline of
snapshots taken by the ``Sampler`` gives the warmup curve. Header-based tiers are not
observers: they are computed from the replay results afterwards (``headers.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

COUNTERS: tuple[str, ...] = ("hits", "misses", "evictions", "expirations", "requests")
"""Cumulative fields of a snapshot: monotonic while the process lives, reset on restart."""


@dataclass(frozen=True, slots=True)
class TierSnapshot:
    """Cumulative counters and current gauges of one source at one instant.

    A field is None when the source does not expose it. Counters only grow while the
    process behind them lives; ``instance`` identifies that process (Redis ``run_id``,
    Memcached pid and start time) so a restart is detected even when a counter did not drop.
    """

    at: float
    """``time.monotonic()`` when the snapshot was taken."""
    hits: float | None = None
    misses: float | None = None
    evictions: float | None = None
    expirations: float | None = None
    requests: float | None = None
    """Backend sources: requests that reached the backend."""
    keys: int | None = None
    memory_bytes: int | None = None
    max_memory_bytes: int | None = None
    eviction_policy: str | None = None
    instance: str | None = None
    malformed: int = 0
    """Lines or series of the source's answer that were skipped as garbage."""


class Observer(Protocol):
    """Reads one tier's (or the backend's) source on demand.

    ``name`` is the tier name (``l1``, or ``backend``); ``address`` is where it reads from,
    with any password masked, safe to print. Implementations are used from one thread at a
    time (the ``Sampler`` serialises calls).
    """

    name: str
    source: str
    address: str

    def preflight(self) -> None:
        """Check the source answers; raise ``ObserverUnreachableError`` naming tier and address."""

    def snapshot(self) -> TierSnapshot | None:
        """Read the source now; None when it does not answer (missing data, never zeros)."""

    def close(self) -> None:
        """Release connections; the observer may not be used afterwards."""
