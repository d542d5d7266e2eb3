"""Infer what a header-observed tier lost, from the responses alone (diagnosis evidence).

An in-process tier (L0) has no INFO command to ask how many keys it evicted or expired.
Its ``Cache-Status`` member still tells: when a tier misses a key it reported ``stored``
earlier in the run, the entry was dropped before it was reused. It **expired** when the
member says ``fwd=stale`` (found past its TTL), or when the key was stored longer ago than
the longest remaining ``ttl`` the tier ever reported on a hit (its TTL, as far as the
responses show; expired entries may be purged before they are found stale). Otherwise it
was **evicted** (capacity). Counted per phase; each such miss counts once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa

LOSS_COLUMNS = frozenset({"phase", "key", "sent_s", "cache_status"})
"""Results columns the inference reads."""

_TTL_SLACK_S = 1.0
"""``ttl`` is whole seconds and sent times differ from store times by a response time."""


@dataclass
class Losses:
    """Re-misses of one tier in one phase."""

    evictions: int = 0
    expirations: int = 0


@dataclass
class TierMemory:
    """What the responses told so far about one tier (carried from warm into verify)."""

    stored_at: dict[str, float] = field(default_factory=dict)
    """Key → when (run seconds) the tier last reported it ``stored``."""
    max_ttl_s: float | None = None
    """Longest remaining ``ttl`` seen on a hit: a lower bound of the tier's TTL."""

    def lost(self, key: str, now: float, stale: bool) -> str | None:
        """``expirations``, ``evictions`` or None (never stored: a first sight)."""
        if stale:
            return "expirations"
        stored = self.stored_at.get(key)
        if stored is None:
            return None
        if self.max_ttl_s is not None and now - stored > self.max_ttl_s + _TTL_SLACK_S:
            return "expirations"
        return "evictions"


def header_losses(
    results: pa.Table,
    tiers: Mapping[str, str],
    memory: dict[str, TierMemory] | None = None,
) -> dict[str, dict[str, Losses]]:
    """Phase → tier → :class:`Losses`, for tiers read from ``Cache-Status``.

    ``tiers`` maps tier name → cache name in the header. ``results`` holds rows in send
    order (columns ``phase``, ``key``, ``sent_s``, ``cache_status``). ``memory`` carries
    what was learnt between calls, so the verify phase knows what warm stored.
    """
    memory = {} if memory is None else memory
    for tier in tiers:
        memory.setdefault(tier, TierMemory())
    losses: dict[str, dict[str, Losses]] = {}
    columns = results.select(sorted(LOSS_COLUMNS)).to_pydict()
    decoded: dict[str, list[tuple[str, Any]]] = {}
    rows = zip(
        columns["phase"], columns["key"], columns["sent_s"], columns["cache_status"], strict=True
    )
    for phase, key, sent, header in rows:
        if not header:
            continue
        entries = decoded.get(header)
        if entries is None:
            entries = decoded[header] = _entries(header, tiers)
        per_phase = losses.get(phase or "")
        if per_phase is None:
            per_phase = losses[phase or ""] = {t: Losses() for t in tiers}
        for tier, entry in entries:
            _account(memory[tier], per_phase[tier], entry, key, float(sent))
    return losses


def _entries(header: str, tiers: Mapping[str, str]) -> list[tuple[str, Any]]:
    """(tier, Cache-Status entry) for each tier the header names; parsed once per value."""
    from warmer.observe.parsers.cache_status import parse_cache_status

    status = parse_cache_status(header)
    found = ((tier, status.find(cache)) for tier, cache in tiers.items())
    return [(tier, entry) for tier, entry in found if entry is not None]


def _account(seen: TierMemory, losses: Losses, entry: Any, key: str, sent: float) -> None:
    if entry.hit:
        if entry.ttl is not None:
            seen.max_ttl_s = max(seen.max_ttl_s or 0.0, float(entry.ttl))
        return
    if entry.outcome == "miss" or entry.fwd == "stale":
        kind = seen.lost(key, sent, entry.fwd == "stale")
        if kind == "expirations":
            losses.expirations += 1
        elif kind == "evictions":
            losses.evictions += 1
    if entry.stored:
        seen.stored_at[key] = sent
