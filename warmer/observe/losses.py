"""Infer what a header-observed tier lost, from the responses alone (diagnosis evidence).

An in-process tier (L0) has no INFO command to ask how many keys it evicted or expired.
Its ``Cache-Status`` member still tells: when a tier misses a key it reported ``stored``
earlier in the run, the entry was dropped before it was reused. It **expired** when the
member says ``fwd=stale`` (found past its TTL), or when the key was stored longer ago than
the longest remaining ``ttl`` the tier ever reported on a hit (its TTL, as far as the
responses show; expired entries may be purged before they are found stale). Otherwise it
was **evicted** (capacity). Counted per phase; each such miss counts once.

The accounting runs on whole columns (a gate's results hold tens of thousands of rows and
a per-row Python loop cost over a second): each distinct header is parsed once, and per
tier "when was this key last stored before this row" comes from one stable sort by key.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
    import pyarrow as pa

    from warmer.observe.parsers.cache_status import CacheEntry

    Floats = npt.NDArray[np.float64]
    Bools = npt.NDArray[np.bool_]
    Ints = npt.NDArray[np.intp]

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

    stored_at: dict[Any, float] = field(default_factory=dict)
    """Key → when (run seconds) the tier last reported it ``stored``."""
    max_ttl_s: float | None = None
    """Longest remaining ``ttl`` seen on a hit (at least 0): a lower bound of the tier's TTL."""


def header_losses(
    results: pa.Table,
    tiers: Mapping[str, str],
    memory: dict[str, TierMemory] | None = None,
) -> dict[str, dict[str, Losses]]:
    """Phase → tier → :class:`Losses`, for tiers read from ``Cache-Status``.

    ``tiers`` maps tier name → cache name in the header. ``results`` holds rows in send
    order (columns ``phase``, ``key``, ``sent_s``, ``cache_status``). ``memory`` carries
    what was learnt between calls, so the verify phase knows what warm stored. A phase
    appears once a row of it carries a non-empty header.
    """
    memory = {} if memory is None else memory
    rows = _Rows.read(results)
    losses = {phase: {t: Losses() for t in tiers} for phase in rows.phases}
    for tier, cache in tiers.items():
        evicted, expired = _tier_losses(rows, _Members.of(rows.headers, cache), memory, tier)
        for index, phase in enumerate(rows.phases):
            losses[phase][tier] = Losses(int(evicted[index]), int(expired[index]))
    return losses


class _Rows(NamedTuple):
    """The rows that carry a header, as integer codes into their distinct values."""

    phase: Ints
    phases: list[str]
    """Phase names in order of first appearance (the codes in ``phase`` index this)."""
    key: Ints
    keys: list[Any]
    sent: Floats
    header: Ints
    headers: list[str]

    @classmethod
    def read(cls, results: pa.Table) -> _Rows:
        import numpy as np
        import pyarrow.compute as pc

        header, headers = _codes(results.column("cache_status"))
        # A null or empty header says nothing about any tier: those rows are left out.
        carries = np.array([bool(h) for h in headers] + [False], dtype=bool)[header]
        phase, names = _codes(pc.fill_null(results.column("phase"), ""))
        phase = phase[carries]
        phases, first, phase = np.unique(phase, return_index=True, return_inverse=True)
        order = np.argsort(first, kind="stable")  # renumber phases by first appearance
        rank = np.empty_like(order)
        rank[order] = np.arange(len(order))
        key, keys = _codes(results.column("key"), nulls_too=True)
        sent = results.column("sent_s").to_numpy().astype(np.float64)
        return cls(
            phase=rank[phase],
            phases=[names[phases[i]] for i in order],
            key=key[carries],
            keys=keys,
            sent=sent[carries],
            header=header[carries],
            headers=headers,
        )


def _codes(column: Any, nulls_too: bool = False) -> tuple[Ints, list[Any]]:
    """(index of each row's value, distinct values); a null is -1 unless ``nulls_too``."""
    from warmer.observe._arrays import value_codes

    return value_codes(column, nulls_too=nulls_too)


class _Members(NamedTuple):
    """One tier's member of each distinct header, as flags indexed by header code.

    Each array has one extra trailing entry (no member) so that code -1 indexes it.
    """

    hit_ttl: Floats
    """Remaining ttl, at least 0, of a hit that reports one; NaN otherwise."""
    lost: Bools
    """A miss or a stale answer: the key was looked up and not served fresh."""
    stale: Bools
    stored: Bools
    """Stored by this response (a hit's ``stored`` changes nothing)."""

    @classmethod
    def of(cls, headers: list[str], cache: str) -> _Members:
        import numpy as np

        from warmer.observe.parsers.cache_status import parse_cache_status

        entries = [parse_cache_status(h).find(cache) if h else None for h in headers]
        flags = [_flags(entry) for entry in entries] + [(np.nan, False, False, False)]
        hit_ttl, lost, stale, stored = zip(*flags, strict=True)
        return cls(
            hit_ttl=np.array(hit_ttl, dtype=np.float64),
            lost=np.array(lost, dtype=bool),
            stale=np.array(stale, dtype=bool),
            stored=np.array(stored, dtype=bool),
        )


def _flags(entry: CacheEntry | None) -> tuple[float, bool, bool, bool]:
    """(hit ttl, lost, stale, stored) of one member, as :class:`_Members` defines them."""
    if entry is None:
        return (float("nan"), False, False, False)
    if entry.hit:  # a hit only teaches the TTL; never negative (a stale hit says 0)
        return (
            float("nan") if entry.ttl is None else max(float(entry.ttl), 0.0),
            False,
            False,
            False,
        )
    stale = entry.fwd == "stale"
    return (float("nan"), entry.outcome == "miss" or stale, stale, entry.stored)


def _tier_losses(
    rows: _Rows, members: _Members, memory: dict[str, TierMemory], tier: str
) -> tuple[Ints, Ints]:
    """(evictions, expirations) per phase code for one tier; updates its memory."""
    import numpy as np

    seen = memory.setdefault(tier, TierMemory())
    ttl = _ttl_known(members.hit_ttl[rows.header], seen.max_ttl_s)
    stored_before = _stored_before(rows, members.stored[rows.header], seen)
    lost = members.lost[rows.header]
    stale = members.stale[rows.header] & lost
    with np.errstate(invalid="ignore"):
        outlived = rows.sent - stored_before > ttl + _TTL_SLACK_S  # NaN compares False
    expired = stale | (lost & outlived)
    evicted = lost & ~expired & ~np.isnan(stored_before)
    if len(ttl) and not np.isnan(ttl[-1]):
        seen.max_ttl_s = float(ttl[-1])
    phases = len(rows.phases)
    return (
        np.bincount(rows.phase[evicted], minlength=phases),
        np.bincount(rows.phase[expired], minlength=phases),
    )


def _ttl_known(hit_ttl: Floats, before: float | None) -> Floats:
    """Longest hit ttl seen up to each row (a row's own is no hit when it matters), or NaN."""
    import numpy as np

    seed = np.array([np.nan if before is None else before])
    return np.fmax.accumulate(np.concatenate([seed, hit_ttl]))[1:]


def _stored_before(rows: _Rows, stored: Bools, seen: TierMemory) -> Floats:
    """When each row's key was last stored by an earlier row (or an earlier call), or NaN.

    Rows are sorted stably by key, so an earlier store of the same key is the latest
    stored position before a row within its key's run. ``seen.stored_at`` is updated.
    """
    import numpy as np

    order = np.argsort(rows.key, kind="stable")
    key, sent, was_stored = rows.key[order], rows.sent[order], stored[order]
    positions = np.arange(len(order))
    latest = np.maximum.accumulate(np.where(was_stored, positions, -1))
    previous = np.concatenate([[-1], latest[:-1]]).astype(np.intp)[: len(order)]
    same_key = (previous >= 0) & (key[previous] == key)
    before = np.empty(len(order))
    before[order] = np.where(same_key, sent[previous], np.nan)
    if seen.stored_at:  # stores from an earlier call count for keys not stored since
        earlier = np.array([seen.stored_at.get(k, np.nan) for k in rows.keys] + [np.nan])
        before = np.where(np.isnan(before), earlier[rows.key], before)
    _remember_stores(key[was_stored], sent[was_stored], rows.keys, seen)
    return before


def _remember_stores(key: Ints, sent: Floats, keys: list[Any], seen: TierMemory) -> None:
    """Record each key's last store (``key`` sorted, stores of one key in send order)."""
    import numpy as np

    last = np.append(key[1:] != key[:-1], True) if len(key) else np.zeros(0, dtype=bool)
    seen.stored_at.update(zip([keys[k] for k in key[last]], sent[last].tolist(), strict=True))
