"""Infer what a header-observed tier lost, from the responses alone (diagnosis evidence).

An in-process tier (L0) has no INFO command to ask how many keys it evicted. Its
``Cache-Status`` member still tells: when a tier misses a key it reported ``stored`` earlier
in the run, the entry was dropped before it was reused. ``fwd=stale`` means it was still
there but past its TTL (an **expiration**); any other miss means it was gone (an
**eviction**: capacity). Counted per phase; each such miss counts once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pyarrow as pa


@dataclass
class Losses:
    """Re-misses of one tier in one phase."""

    evictions: int = 0
    expirations: int = 0


def header_losses(
    results: pa.Table,
    tiers: Mapping[str, str],
    stored: dict[str, set[str]] | None = None,
) -> dict[str, dict[str, Losses]]:
    """Phase → tier → :class:`Losses`, for tiers read from ``Cache-Status``.

    ``tiers`` maps tier name → cache name in the header. ``results`` holds rows in send
    order (columns ``phase``, ``key``, ``cache_status``). ``stored`` (tier → keys it
    stored) carries over between calls, so the verify phase knows what warm stored.
    """
    from warmer.observe.parsers.cache_status import parse_cache_status

    stored = {} if stored is None else stored
    for tier in tiers:
        stored.setdefault(tier, set())
    losses: dict[str, dict[str, Losses]] = {}
    columns = results.select(["phase", "key", "cache_status"]).to_pydict()
    rows: Iterable[tuple[str | None, str, str | None]] = zip(
        columns["phase"], columns["key"], columns["cache_status"], strict=True
    )
    for phase, key, header in rows:
        if not header:
            continue
        status = parse_cache_status(header)
        per_phase = losses.setdefault(phase or "", {t: Losses() for t in tiers})
        for tier, cache in tiers.items():
            entry = status.find(cache)
            if entry is None or entry.hit:
                continue
            seen = stored[tier]
            if entry.fwd == "stale":
                per_phase[tier].expirations += 1
            elif key in seen and entry.outcome == "miss":
                per_phase[tier].evictions += 1
            if entry.stored:
                seen.add(key)
    return losses
