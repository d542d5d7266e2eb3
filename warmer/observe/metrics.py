"""Turn per-tier counts into the figures a gate judges: hit rates, offload, consistency.

Pure functions, no I/O. Definitions (PRODUCT.md, "hit rates compound")::

    conditional hit rate(tier) = hits / (hits + misses)        lookups that reached the tier
    effective hit rate         = 1 − Π over tiers (1 − conditional hit rate)
    offload                    = 1 − backend requests / client requests

In a read-through chain (each tier looked up exactly on the previous tier's misses, the
backend on the last tier's misses) Π(miss ratios) *is* the share of requests that reach the
backend, so the effective hit rate equals the offload. The consistency check compares the
two: a gap beyond ``tolerance`` means the chain is not what the config says — a tier is
shared with other traffic, not observed, bypassed, or the backend counter counts more than
this run.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from warmer.model.run import BackendMetrics, TierMetrics
from warmer.observe.counters import SnapshotDelta


@dataclass(frozen=True)
class Consistency:
    """Offload implied by tier counts against the backend counter's."""

    implied: float | None
    measured: float | None
    gap: float | None
    """``|implied − measured|`` in offload points; None when either is missing."""
    consistent: bool | None
    message: str | None


def hit_rate(hits: float | None, misses: float | None) -> float | None:
    """hits / (hits + misses); None without data or without a lookup."""
    if hits is None or misses is None or hits + misses <= 0:
        return None
    return hits / (hits + misses)


def tier_metrics(
    name: str,
    source: str,
    delta: SnapshotDelta,
    *,
    shared: bool = False,
    client_requests: int | None = None,
    malformed: int = 0,
) -> TierMetrics:
    """One tier's phase figures from its counter delta (missing stays missing, never zero).

    ``malformed`` counts responses (or source lines) skipped as garbage; it becomes a note.
    """
    if delta.missing and delta.end is None:
        return TierMetrics(name, source, shared=shared, missing_data=True, note="no data")
    hits, misses = _count(delta.hits), _count(delta.misses)
    lookups = hits + misses if hits is not None and misses is not None else None
    notes = [f"{malformed} unparseable values skipped"] if malformed else []
    if delta.reset:
        notes.append("counter reset seen (the process restarted); counts since the restart")
    if delta.missing:
        notes.append("some samples missing (the source dropped out for a while)")
    if lookups is not None and client_requests is not None and lookups > client_requests:
        shared = True
        notes.append(f"{lookups} lookups for {client_requests} requests: other traffic shares it")
    end = delta.end
    return TierMetrics(
        name=name,
        source=source,
        hits=hits,
        misses=misses,
        lookups=lookups,
        hit_rate=hit_rate(hits, misses),
        evictions=_count(delta.evictions),
        expirations=_count(delta.expirations),
        restarted=restart_note(delta),
        keys=end.keys if end else None,
        memory_bytes=end.memory_bytes if end else None,
        shared=shared,
        missing_data=hits is None or misses is None,
        note="; ".join(notes) or None,
    )


def restart_note(delta: SnapshotDelta) -> str | None:
    """How a restart of the source showed in ``delta``, or None when none did."""
    if delta.new_instance:
        return "its process changed (Redis run_id / Memcached pid) during the phase"
    if delta.reset:
        return "its counters went back to zero during the phase"
    return None


def effective_hit_rate(tiers: Sequence[TierMetrics]) -> float | None:
    """1 − Π(1 − hit rate) over the tiers in lookup order; None when any tier has no rate."""
    if not tiers or any(t.hit_rate is None for t in tiers):
        return None
    return 1.0 - math.prod(1.0 - (t.hit_rate or 0.0) for t in tiers)


def offload(backend_requests: float | None, client_requests: int | None) -> float | None:
    """1 − backend requests / client requests (may be negative: the backend got more)."""
    if backend_requests is None or not client_requests:
        return None
    return 1.0 - backend_requests / client_requests


def consistency(implied: float | None, measured: float | None, tolerance: float) -> Consistency:
    """Whether the tier-implied offload and the backend counter's agree within ``tolerance``."""
    if implied is None or measured is None:
        return Consistency(implied, measured, None, None, None)
    gap = abs(implied - measured)
    if gap <= tolerance:
        return Consistency(implied, measured, gap, True, None)
    message = (
        f"tier counts imply offload {implied:.1%} but the backend counter gives {measured:.1%} "
        f"(gap {gap:.1%} > {tolerance:.1%}): a tier may be shared, unobserved or bypassed"
    )
    return Consistency(implied, measured, gap, False, message)


def backend_metrics(
    source: str | None,
    delta: SnapshotDelta | None,
    client_requests: int,
    *,
    implied_offload: float | None,
    tolerance: float,
    rps_peak: float | None = None,
) -> tuple[BackendMetrics, Consistency]:
    """The backend's phase figures and the consistency verdict against the tiers."""
    if delta is None or delta.requests is None:
        check = consistency(implied_offload, None, tolerance)
        return BackendMetrics(source=source, missing_data=source is not None), check
    requests = round(delta.requests)
    measured = offload(requests, client_requests)
    check = consistency(implied_offload, measured, tolerance)
    seconds = delta.seconds or 0.0
    return BackendMetrics(
        source=source,
        requests=requests,
        rps_mean=requests / seconds if seconds > 0 else None,
        rps_peak=rps_peak,
        offload=measured,
        consistent=check.consistent,
        consistency_message=check.message,
        missing_data=delta.missing,
    ), check


def _count(value: float | None) -> int | None:
    return None if value is None else round(value)
