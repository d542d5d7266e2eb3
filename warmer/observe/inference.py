"""What a header tier's responses show beyond hits and misses: losses, stale hits, restarts,
how many keys it held, and its hit rate at the traffic's recorded pace.

Every response carries its freshness (RFC 9111, ``freshness.py``): a key whose object was
in the tier (a hit, or a storable miss that filled it) and that misses again **while it
should still have been fresh** was **evicted** (capacity); one that misses after its
freshness ran out **expired** (TTL); a tier that said ``fwd=stale`` or revalidated it
expired too. A re-miss whose object carried no freshness at all is counted as
``unexplained``. A hit whose ``Age`` exceeds its freshness lifetime, and every response the
header itself calls stale or revalidated, is **stale** (grace, stale-while-revalidate).

**Keys held**: under LRU a key misses again exactly when more distinct keys were used since
its last use than the tier holds, so the reuse distance that best separates re-lookups that
hit from those evicted estimates the tier's size in keys.

**Restart**: a cache that restarts loses everything at once, so right after it most
lookups are re-misses of keys that should still be fresh. A window of ``RESTART_WINDOW``
lookups where such re-misses are at least ``RESTART_SHARE`` of the lookups, and five times
their share over the whole run, is reported as a restart at that time (a cache that is
merely too small loses keys all along, never in one burst).

**Recorded pace**: replayed faster than recorded, objects have no time to expire. Per key,
in send order, the simulation keeps when (in recorded time) the object was last filled and
how long it stays fresh; a hit whose recorded time since that fill exceeds the object's
lifetime would have been a miss and a refill in production. Only observed hits can become
misses, so the recorded-pace hit rate never exceeds the observed one.

Everything runs on whole columns; the simulation steps over the n-th lookup of every key
at once, and loops per key only over the hottest keys' long tails.
"""

from __future__ import annotations

import bisect
import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from warmer.observe.headers import (
    OUTCOME_HIT,
    OUTCOME_MISS,
    OUTCOME_REVALIDATED,
    OUTCOME_STALE,
    HeaderRule,
    outcomes,
)

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
    import pyarrow as pa

    Floats = npt.NDArray[np.float64]
    Ints = npt.NDArray[np.intp]
    Bools = npt.NDArray[np.bool_]

SLACK_S = 1.0
"""``Age``, ``max-age`` and ``Date`` are whole seconds; a response takes time to arrive."""
RESTART_SHARE = 0.3
RESTART_WINDOW = 100
"""Lookups per window in which a restart burst is looked for."""
_SIZE_SAMPLES = 256
_SIZE_WINDOW = 10_000
_STEP_KEYS = 64
"""Simulation steps done for every key at once; longer tails are walked per key."""

FRESHNESS_COLUMNS = ("cache_control", "expires", "date", "age")


@functools.cache
def _by_code(*codes: int) -> Any:
    """A lookup table over outcome codes (faster than ``np.isin`` on a million rows)."""
    import numpy as np

    table = np.zeros(8, dtype=bool)
    table[list(codes)] = True
    return table


@dataclass(frozen=True)
class TierFindings:
    """What one header tier's responses showed during one phase."""

    lookups: int = 0
    evictions: int = 0
    """Re-misses of keys that should still have been fresh: capacity."""
    expirations: int = 0
    """Re-misses after the object's freshness ran out (or revalidations): TTL."""
    unexplained: int = 0
    """Re-misses of keys whose responses gave no freshness to tell."""
    stale: int = 0
    """Stale hits (Age beyond the lifetime, or the header says so) and revalidations."""
    recorded_hits: int | None = None
    recorded_lookups: int | None = None
    """Hits and lookups of the recorded-pace simulation (None without recorded times)."""
    keys_held: int | None = None
    """Estimated number of keys the tier held (from where evictions begin)."""
    restart_at_s: float | None = None
    """Run seconds at which a burst of fresh re-misses showed a restart."""
    restart_misses: int = 0

    @property
    def stale_rate(self) -> float | None:
        return self.stale / self.lookups if self.lookups else None

    @property
    def recorded_pace_hit_rate(self) -> float | None:
        if not self.recorded_lookups or self.recorded_hits is None:
            return None
        return self.recorded_hits / self.recorded_lookups


def analyse(results: pa.Table, rule: HeaderRule) -> dict[str, TierFindings]:
    """Phase → :class:`TierFindings` of ``rule``'s tier, ``results`` in send order."""
    return analyse_all(results, {rule.tier: rule}).get(rule.tier, {})


def analyse_all(
    results: pa.Table, rules: Mapping[str, HeaderRule]
) -> dict[str, dict[str, TierFindings]]:
    """Source name → phase → :class:`TierFindings`, the table's columns read once for all."""
    if not rules or not {"key", "sent_s"} <= set(results.column_names):
        return {}
    columns = _Columns.read(results)
    found = {}
    for name, rule in rules.items():
        rows = _Rows.of(columns, results, rule)
        if len(rows.code):
            found[name] = _findings(rows)
    return found


def _findings(rows: _Rows) -> dict[str, TierFindings]:
    lost = _losses(rows)
    stale = _stale(rows)
    simulated = simulate_recorded_pace(
        rows.key, rows.recorded, rows.code, rows.lifetime, rows.age, rows.order
    )
    restart = _restart(rows, lost)
    held = _keys_held(rows, lost, restart)
    found = {}
    for index, phase in enumerate(rows.phases):
        mine = rows.phase == index
        found[phase] = TierFindings(
            lookups=int(mine.sum()),
            evictions=int((lost.evicted & mine).sum()),
            expirations=int((lost.expired & mine).sum()),
            unexplained=int((lost.unexplained & mine).sum()),
            stale=int((stale & mine).sum()),
            recorded_hits=None if simulated is None else int((simulated & mine).sum()),
            recorded_lookups=None if simulated is None else _timed(rows, mine),
            keys_held=held,
            **_restart_in(restart, rows, mine),
        )
    return found


def _timed(rows: _Rows, mine: Bools) -> int:
    import numpy as np

    return int((mine & ~np.isnan(rows.recorded)).sum())


class _Columns:
    """What every tier's inference reads from the table, decoded once (rows in table order)."""

    def __init__(self, **arrays: Any) -> None:
        self.__dict__.update(arrays)

    key: Ints
    order: Ints
    """Stable argsort of ``key``: every tier's key order is a subset of it."""
    phase: Ints
    phases: list[str]
    sent: Floats
    received: Floats
    recorded: Floats
    lifetime: Floats
    storable: Bools
    age: Floats

    @classmethod
    def read(cls, table: pa.Table) -> _Columns:
        import numpy as np

        lifetime, storable, age = freshness_arrays(table)
        phase, phases = _phases(table)
        sent = _floats(table, "sent_s")
        latency = np.nan_to_num(_floats(table, "latency_ms")) / 1000.0
        key = _codes(table.column("key"))
        return cls(
            key=key,
            order=np.argsort(key, kind="stable"),
            phase=phase,
            phases=phases,
            sent=sent,
            received=sent + latency,
            recorded=_floats(table, "recorded_s"),
            lifetime=lifetime,
            storable=storable,
            age=age,
        )


class _Rows:
    """One tier's lookups in send order, with everything the inference reads per row."""

    def __init__(self, **arrays: Any) -> None:
        self.__dict__.update(arrays)

    code: Ints
    key: Ints
    order: Ints
    """Stable argsort of ``key``."""
    phase: Ints
    phases: list[str]
    sent: Floats
    received: Floats
    recorded: Floats
    lifetime: Floats
    age: Floats
    left: Floats
    """Freshness left when the response arrived (lifetime − Age, or a member's ttl)."""
    storable: Bools

    @classmethod
    def of(cls, columns: _Columns, table: pa.Table, rule: HeaderRule) -> _Rows:
        import numpy as np

        codes = outcomes(table, rule)
        mask = _by_code(OUTCOME_HIT, OUTCOME_STALE, OUTCOME_MISS, OUTCOME_REVALIDATED)[codes]
        looked = np.flatnonzero(mask)
        if looked.size == mask.size:
            # Every response was a lookup of this tier (the usual case): the columns as
            # they are, no copies — a long run's arrays are the gate's largest.
            def pick(values: Any) -> Any:
                return values

            order = columns.order
        else:

            def pick(values: Any) -> Any:
                return values[looked]

            position = np.cumsum(mask) - 1  # row → its index among the lookups
            order = position[columns.order[mask[columns.order]]]
        lifetime, age = pick(columns.lifetime), pick(columns.age)
        left = lifetime - np.nan_to_num(age)
        if rule.reading == "cache-status":
            ttl = pick(_member_ttl(table, rule))
            left = np.where(np.isnan(ttl), left, ttl)
        return cls(
            code=pick(codes),
            key=pick(columns.key),
            order=order,
            phase=pick(columns.phase),
            phases=columns.phases,
            sent=pick(columns.sent),
            received=pick(columns.received),
            recorded=pick(columns.recorded),
            lifetime=lifetime,
            age=age,
            left=left,
            storable=pick(columns.storable),
        )


def freshness_arrays(table: pa.Table) -> tuple[Floats, Bools, Floats]:
    """(freshness lifetime, storable, Age) per row; NaN where the headers do not tell.

    Each distinct ``Cache-Control`` is parsed once; ``Expires − Date`` is only worked out
    for the rows whose ``Cache-Control`` gives no lifetime and that carry ``Expires``.
    """
    import numpy as np

    from warmer.observe.freshness import freshness_lifetime, parse_cache_control
    from warmer.observe.parsers.legacy import parse_age

    cc_index, cc_values = _distinct(table, "cache_control")
    directives = [parse_cache_control(v) for v in cc_values] + [parse_cache_control(None)]
    cc_life = np.array([np.nan if d.lifetime_s is None else d.lifetime_s for d in directives])
    storable = np.array([d.storable for d in directives], dtype=bool)[cc_index]
    lifetime = np.where(storable, cc_life[cc_index], 0.0)
    pending = np.flatnonzero(np.isnan(lifetime) & _present(table, "expires"))
    if len(pending):
        rest = table.take(pending)
        pairs = zip(*(_text(rest, c).to_pylist() for c in ("expires", "date")), strict=True)
        lifetime[pending] = [
            np.nan if (life := freshness_lifetime(None, e, d)) is None else life for e, d in pairs
        ]
    age_index, age_values = _distinct(table, "age")
    parsed = [parse_age(v) for v in age_values] + [None]
    ages = np.array([np.nan if a is None else float(a) for a in parsed], dtype=np.float64)
    return lifetime, storable, ages[age_index]


def _distinct(table: pa.Table, name: str) -> tuple[Ints, list[Any]]:
    """(index of each row's value, distinct values); a null (or missing column) indexes the
    entry just past the values."""
    import numpy as np
    import pyarrow.compute as pc

    encoded = pc.dictionary_encode(_text(table, name))
    values = encoded.dictionary.to_pylist()
    return np.asarray(encoded.indices.fill_null(len(values)), dtype=np.intp), values


def _present(table: pa.Table, name: str) -> Bools:
    import numpy as np
    import pyarrow.compute as pc

    return np.asarray(pc.is_valid(_text(table, name)), dtype=bool)


def _text(table: pa.Table, name: str) -> pa.Array:
    import pyarrow as pa

    if name not in table.column_names:
        return pa.nulls(table.num_rows, pa.string())
    return table.column(name).combine_chunks()


def _member_ttl(table: pa.Table, rule: HeaderRule) -> Floats:
    """The tier member's ``ttl`` per row (RFC 9211 §2.4: freshness left), NaN without one."""
    import numpy as np
    import pyarrow.compute as pc

    from warmer.observe.parsers.cache_status import parse_cache_status

    encoded = pc.dictionary_encode(rule.values(table))
    ttls = []
    for value in encoded.dictionary.to_pylist():
        entry = parse_cache_status(value).find(rule.cache or "") if value else None
        ttls.append(np.nan if entry is None or entry.ttl is None else float(entry.ttl))
    ttls.append(np.nan)
    index = np.asarray(encoded.indices.fill_null(len(ttls) - 1), dtype=np.intp)
    return np.array(ttls, dtype=np.float64)[index]


def _floats(table: pa.Table, name: str) -> Floats:
    import numpy as np

    if name not in table.column_names:
        return np.full(table.num_rows, np.nan)
    column = table.column(name).cast("float64")
    return np.asarray(column.to_numpy(zero_copy_only=False), dtype=np.float64)


def _codes(column: Any) -> Ints:
    from warmer.observe._arrays import value_codes

    return value_codes(column, nulls_too=True)[0]


def _phases(table: pa.Table) -> tuple[Ints, list[str]]:
    """Phase code per row, numbered in order of first appearance."""
    import numpy as np
    import pyarrow.compute as pc

    if "phase" not in table.column_names:
        return np.zeros(table.num_rows, dtype=np.intp), [""]
    names = pc.fill_null(table.column("phase"), "").combine_chunks()
    encoded = pc.dictionary_encode(names)
    return np.asarray(encoded.indices, dtype=np.intp), encoded.dictionary.to_pylist()


# --------------------------------------------------------------------------- losses


@dataclass(frozen=True)
class _Lost:
    evicted: Bools
    expired: Bools
    unexplained: Bools
    previous: Ints
    """Index of the same key's previous lookup (-1: none)."""


def previous_of_key(key: Ints, order: Ints | None = None) -> Ints:
    """For each row, the index of the previous row with the same key, or -1 (``order``:
    ``key``'s stable argsort, when the caller has it)."""
    import numpy as np

    if order is None:
        order = np.argsort(key, kind="stable")
    previous = np.full(len(key), -1, dtype=np.intp)
    same = key[order][1:] == key[order][:-1]
    previous[order[1:][same]] = order[:-1][same]
    return previous


def _losses(rows: _Rows) -> _Lost:
    import numpy as np

    previous = previous_of_key(rows.key, rows.order)
    has = previous >= 0
    p = np.where(has, previous, 0)
    code, prev_code = rows.code, rows.code[p]
    missed = (code == OUTCOME_MISS) | (code == OUTCOME_REVALIDATED)
    served = (prev_code == OUTCOME_HIT) | (prev_code == OUTCOME_STALE)
    # A miss fills the tier unless the response forbade storing it (no-store, private).
    filled = has & (served | rows.storable[p])
    lost = missed & filled
    expiry = rows.received[p] + rows.left[p]
    known = ~np.isnan(expiry)
    revalidated = code == OUTCOME_REVALIDATED
    with np.errstate(invalid="ignore"):
        fresh = rows.sent < expiry - SLACK_S
    evicted = lost & known & fresh & ~revalidated
    expired = lost & ((known & ~fresh) | revalidated)
    unexplained = lost & ~known & ~revalidated
    return _Lost(evicted, expired, unexplained, previous)


def _stale(rows: _Rows) -> Bools:
    import numpy as np

    said = (rows.code == OUTCOME_STALE) | (rows.code == OUTCOME_REVALIDATED)
    with np.errstate(invalid="ignore"):
        aged = (rows.code == OUTCOME_HIT) & (rows.age > rows.lifetime)
    stale: Bools = said | aged
    return stale


# --------------------------------------------------------------------------- restart, size


@dataclass(frozen=True)
class _Restart:
    start: int
    end: int
    """Lookup indices of the burst window."""
    misses: int


def _restart(rows: _Rows, lost: _Lost) -> _Restart | None:
    import numpy as np

    n = len(rows.code)
    if n < 2 * RESTART_WINDOW:
        return None
    window = np.arange(n) // RESTART_WINDOW
    per_window = np.bincount(window, weights=lost.evicted, minlength=window[-1] + 1)
    share = per_window / np.bincount(window, minlength=window[-1] + 1)
    overall = lost.evicted.sum() / n
    best = int(np.argmax(share))
    if share[best] < RESTART_SHARE or share[best] < 5 * overall or per_window[best] < 20:
        return None
    start = best * RESTART_WINDOW
    return _Restart(start, min(n, start + RESTART_WINDOW), int(per_window[best]))


def _restart_in(restart: _Restart | None, rows: _Rows, mine: Bools) -> dict[str, Any]:
    if restart is None or not mine[restart.start]:
        return {}
    return {"restart_at_s": float(rows.sent[restart.start]), "restart_misses": restart.misses}


def _keys_held(rows: _Rows, lost: _Lost, restart: _Restart | None) -> int | None:
    """The reuse distance (distinct keys between two lookups of a key) that best separates
    re-lookups that hit from those evicted: the tier's size in keys.

    For an exact LRU that is where evictions begin; for the approximate LRUs real caches
    run (Varnish moves an object to the front at most every ``lru_interval``) it is where
    they become the rule. Computed on at most ``_SIZE_SAMPLES`` re-lookups, each window
    capped at ``_SIZE_WINDOW`` lookups (a lower bound beyond it).
    """
    import numpy as np

    again = lost.previous >= 0
    hit = again & ((rows.code == OUTCOME_HIT) | (rows.code == OUTCOME_STALE))
    candidates = np.flatnonzero(hit | lost.evicted)
    if restart is not None:
        candidates = candidates[(candidates < restart.start) | (candidates >= restart.end)]
    if int(lost.evicted[candidates].sum()) < 20 or not hit[candidates].any():
        return None
    picked = candidates[np.linspace(0, len(candidates) - 1, _SIZE_SAMPLES).astype(np.intp)]
    picked = np.unique(picked)
    distances = np.array(
        [len(np.unique(rows.key[max(lost.previous[i] + 1, i - _SIZE_WINDOW) : i])) for i in picked]
    )
    order = np.argsort(distances, kind="stable")
    evicted = lost.evicted[picked][order]
    # Errors of the threshold before position k: evictions below it plus hits from it on.
    below = np.concatenate(([0], np.cumsum(evicted)))
    above = np.concatenate((np.cumsum((~evicted)[::-1])[::-1], [0]))
    best = int(np.argmin(below + above))
    sorted_distances = distances[order]
    if best == len(sorted_distances):
        return int(sorted_distances[-1])
    return int(sorted_distances[best])


# --------------------------------------------------------------------------- recorded pace


def simulate_recorded_pace(
    key: Ints,
    recorded: Floats,
    code: Any,
    lifetime: Floats,
    age: Floats,
    order: Ints | None = None,
) -> Bools | None:
    """Which lookups would still be hits at the recorded pace (rows in send order).

    Per key: a miss fills the object at its recorded time with ``lifetime − age`` left; a
    hit whose recorded time since the fill exceeds what was left is a miss and refills it
    with the full ``lifetime``; a hit on an object not seen filled starts the clock there.
    Unknown lifetimes never turn a hit into a miss. None when no row has a recorded time.
    ``order`` is ``key``'s stable argsort, when the caller has it already.
    """
    import numpy as np

    if len(key) == 0 or np.isnan(recorded).all():
        return None
    if order is None:
        order = np.argsort(key, kind="stable")
    k, r = key[order], recorded[order]
    hit = _by_code(OUTCOME_HIT, OUTCOME_STALE)[code[order]]
    life, got = lifetime[order], np.nan_to_num(age[order])
    starts = np.flatnonzero(np.concatenate(([True], k[1:] != k[:-1])))
    result = np.zeros(len(k), dtype=bool)
    fill = np.full(len(starts), np.nan)
    left = np.full(len(starts), np.nan)
    lengths = np.diff(np.append(starts, len(k)))
    alive = np.arange(len(starts))
    for step in range(_STEP_KEYS):  # the step-th lookup of every key that has one
        alive = alive[lengths[alive] > step]
        if not len(alive):
            break
        rows = starts[alive] + step
        result[rows] = _step(rows, alive, r, hit, life, got, fill, left)
    for key_run in np.flatnonzero(lengths > _STEP_KEYS):  # the hottest keys' long tails
        span = (int(starts[key_run]) + _STEP_KEYS, int(starts[key_run] + lengths[key_run]))
        state = (float(fill[key_run]), float(left[key_run]))
        _walk(span, state, r, hit, life, got, result)
    simulated = np.zeros(len(k), dtype=bool)
    simulated[order] = result
    return simulated


def _step(
    rows: Ints,
    runs: Ints,
    r: Floats,
    hit: Bools,
    life: Floats,
    got: Floats,
    fill: Floats,
    left: Floats,
) -> Bools:
    """One lookup of many keys at once; updates each key's fill time and freshness left."""
    import numpy as np

    since = r[rows] - fill[runs]
    with np.errstate(invalid="ignore"):
        expired = since > left[runs]  # NaN (unknown) compares False: stays a hit
    unseen = np.isnan(fill[runs])
    keeps = hit[rows] & ~expired
    refill = ~keeps | unseen
    fresh = np.where(hit[rows] & ~unseen, life[rows], life[rows] - got[rows])
    fill[runs[refill]] = r[rows[refill]]
    left[runs[refill]] = fresh[refill]
    kept: Bools = keeps
    return kept


def _walk(
    span: tuple[int, int],
    state: tuple[float, float],
    r: Floats,
    hit: Bools,
    life: Floats,
    got: Floats,
    result: Bools,
) -> None:
    """The rest of one hot key's lookups (``span`` of the sorted rows).

    Between two refills every hit stays a hit until its recorded time passes the fill's
    freshness, so with recorded times in order the walk jumps from refill to refill
    (``searchsorted``) instead of visiting every row; out of order, it goes row by row.
    """
    import numpy as np

    begin, end = span
    times = r[begin:end]
    if len(times) > 1 and (np.diff(times) < 0).any():
        _walk_rows(span, state, r, hit, life, got, result)
        return
    hits, lives, ages = hit[begin:end], life[begin:end], got[begin:end]
    misses = np.flatnonzero(~hits).tolist()
    at_times = times.tolist()
    count = len(at_times)
    fill, left = state
    keeps = np.ones(count, dtype=bool)
    at = 0
    while at < count:  # scalar bisect: numpy's per-call overhead dominates here
        following = bisect.bisect_left(misses, at)
        next_miss = misses[following] if following < len(misses) else count
        expiry = count if left != left else bisect.bisect_right(at_times, fill + left)
        stop = min(next_miss, max(expiry, at))
        if stop >= count:
            break
        keeps[stop] = False
        fill = at_times[stop]
        left = float(lives[stop] if hits[stop] else lives[stop] - ages[stop])
        at = stop + 1
    result[begin:end] = keeps & hits


def _walk_rows(
    span: tuple[int, int],
    state: tuple[float, float],
    r: Floats,
    hit: Bools,
    life: Floats,
    got: Floats,
    result: Bools,
) -> None:
    """The same walk one row at a time (recorded times out of order: hot-first warm)."""
    begin, end = span
    fill, left = state
    times, hits = r[begin:end].tolist(), hit[begin:end].tolist()
    lives, ages = life[begin:end].tolist(), got[begin:end].tolist()
    keeps = []
    for at, was_hit, lifetime, age in zip(times, hits, lives, ages, strict=True):
        unseen = fill != fill  # NaN: nothing filled yet
        keep = was_hit and (unseen or not at - fill > left)  # NaN left: stays a hit
        if not keep or unseen:
            fill, left = at, (lifetime if was_hit and not unseen else lifetime - age)
        keeps.append(keep)
    result[begin:end] = keeps
