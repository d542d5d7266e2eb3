"""Tier hits and misses computed from the response headers recorded in a replay results table.

A header tier is not sampled: every recorded response says how each cache handled it, so
the tier's counts and its warmup curve (rolling hit rate by request index) come straight
from the results file, phase by phase. Each distinct header value is parsed once (values
repeat heavily), then mapped back onto the rows with numpy.

Outcome per response (``OUTCOME_*`` codes)::

    cache-status  the member named ``cache``: hit → HIT, fwd=bypass|method → NONE (not a
                  lookup), other fwd → MISS, neither → UNKNOWN; no such member → NONE
                  (the request never reached this tier, e.g. a closer tier answered)
    x-cache       hop ``hop`` of the chain (default the last); absent header or hop → NONE
    x-cache-status nginx value: HIT/STALE/UPDATING → HIT, MISS/EXPIRED/REVALIDATED → MISS,
                  BYPASS → NONE
    age           present → HIT, absent → MISS (RFC 9111 §5.1)
    any tier      a request without a response (transport error) → NONE
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from warmer.model.run import CurvePoint, TierCurve
from warmer.observe.parsers.cache_status import BYPASS, HIT, MISS, parse_cache_status
from warmer.observe.parsers.legacy import age_outcome, parse_x_cache, parse_x_cache_status

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa

OUTCOME_NONE, OUTCOME_HIT, OUTCOME_MISS, OUTCOME_UNKNOWN = 0, 1, 2, 3
_CODES = {HIT: OUTCOME_HIT, MISS: OUTCOME_MISS, BYPASS: OUTCOME_NONE}

COLUMNS = {
    "cache-status": "cache_status",
    "x-cache": "x_cache",
    "x-cache-status": "x_cache_status",
    "age": "age",
}
"""Header → results column holding its raw value."""


@dataclass(frozen=True)
class HeaderRule:
    """How one tier is read from a response header."""

    tier: str
    header: str
    """``cache-status``, ``x-cache``, ``x-cache-status`` or ``age``."""
    cache: str | None = None
    """``cache-status``: the cache name of this tier's member."""
    hop: int = -1
    """``x-cache``: which hop of the chain."""

    @property
    def column(self) -> str:
        return COLUMNS[self.header]

    def classifier(self) -> Callable[[str | None], int]:
        """Outcome code of one raw header value (None: the header was absent)."""
        if self.header == "cache-status":
            return self._cache_status
        if self.header == "x-cache":
            return self._x_cache
        if self.header == "x-cache-status":
            return lambda v: OUTCOME_NONE if v is None else _code(parse_x_cache_status(v))
        return lambda v: _code(age_outcome(v))

    def _cache_status(self, value: str | None) -> int:
        if value is None:
            return OUTCOME_NONE
        entry = parse_cache_status(value).find(self.cache or "")
        return OUTCOME_NONE if entry is None else _code(entry.outcome)

    def _x_cache(self, value: str | None) -> int:
        hops = parse_x_cache(value) if value is not None else ()
        if not hops or not -len(hops) <= self.hop < len(hops):
            return OUTCOME_NONE
        return _code(hops[self.hop])


def _code(outcome: str) -> int:
    return _CODES.get(outcome, OUTCOME_UNKNOWN)


@dataclass(frozen=True)
class HeaderCounts:
    """What one header tier saw over some rows of a results table."""

    hits: int
    misses: int
    not_looked_up: int
    """Responses that never reached this tier (or had no response at all)."""
    unknown: int
    """Responses whose header for this tier was garbage (skipped and counted)."""
    malformed_members: int = 0
    """Cache-Status members skipped as malformed, over every response."""

    @property
    def lookups(self) -> int:
        return self.hits + self.misses

    @property
    def hit_rate(self) -> float | None:
        """hits / lookups that reached this tier; None when none did."""
        return self.hits / self.lookups if self.lookups else None


def outcomes(table: pa.Table, rule: HeaderRule) -> np.ndarray:
    """Outcome code per row of ``table`` (rows in table order)."""
    import numpy as np
    import pyarrow.compute as pc

    if rule.column not in table.column_names:
        return np.zeros(table.num_rows, dtype=np.int8)
    column = table.column(rule.column).combine_chunks()
    encoded = pc.dictionary_encode(column)
    classify = rule.classifier()
    codes = np.array([classify(v) for v in encoded.dictionary.to_pylist()] + [classify(None)])
    indices = encoded.indices.fill_null(len(codes) - 1)
    result: np.ndarray = codes[np.asarray(indices, dtype=np.int64)].astype(np.int8)
    if "status" in table.column_names:
        answered = np.asarray(pc.is_valid(table.column("status")), dtype=bool)
        result[~answered] = OUTCOME_NONE
    return result


def header_counts(table: pa.Table, rule: HeaderRule) -> HeaderCounts:
    """Hits, misses and skipped responses of ``rule``'s tier over every row of ``table``."""
    import numpy as np

    codes = outcomes(table, rule)
    counts = np.bincount(codes, minlength=4)
    return HeaderCounts(
        hits=int(counts[OUTCOME_HIT]),
        misses=int(counts[OUTCOME_MISS]),
        not_looked_up=int(counts[OUTCOME_NONE]),
        unknown=int(counts[OUTCOME_UNKNOWN]),
        malformed_members=_malformed_members(table) if rule.header == "cache-status" else 0,
    )


def _malformed_members(table: pa.Table) -> int:
    import pyarrow.compute as pc

    if "cache_status" not in table.column_names:
        return 0
    counts = pc.value_counts(table.column("cache_status").drop_null())
    return sum(
        parse_cache_status(str(item["values"])).malformed * int(item["counts"])
        for item in counts.to_pylist()
    )


def rolling_curve(
    name: str,
    hits: np.ndarray,
    lookups: np.ndarray,
    seconds: np.ndarray,
    *,
    window: int = 1000,
    max_points: int = 500,
) -> TierCurve:
    """Rolling hit rate over the last ``window`` requests, at most ``max_points`` points.

    ``hits`` and ``lookups`` are 0/1 per request in send order; a point whose window holds
    no lookup has ``hit_rate`` None.
    """
    import numpy as np

    n = len(hits)
    if n == 0:
        return TierCurve(name)
    cum_hits = np.concatenate(([0], np.cumsum(hits)))
    cum_lookups = np.concatenate(([0], np.cumsum(lookups)))
    step = max(1, n // max_points)
    points = []
    for end in [*range(step, n, step), n]:
        start = max(0, end - window)
        seen = int(cum_lookups[end] - cum_lookups[start])
        rate = float(cum_hits[end] - cum_hits[start]) / seen if seen else None
        points.append(CurvePoint(end, float(seconds[end - 1]), rate))
    return TierCurve(name, tuple(points))


def in_send_order(table: pa.Table) -> pa.Table:
    """``table`` sorted by ``seq``: the run's send order, across phases (rows are stored
    in completion order; ``seq`` runs on from one phase to the next in a results file)."""
    import pyarrow.compute as pc

    if "seq" not in table.column_names:
        return table
    return table.take(pc.sort_indices(table, [("seq", "ascending")]))


def header_curves(
    table: pa.Table, rules: Sequence[HeaderRule], *, window: int = 1000
) -> tuple[TierCurve, ...]:
    """Warmup curve per header tier, plus ``effective`` (share of responses any tier hit).

    Rows are taken in send order (:func:`in_send_order`); ``effective`` needs at least
    one rule.
    """
    import numpy as np
    import pyarrow.compute as pc

    if not rules or table.num_rows == 0:
        return ()
    table = in_send_order(table)
    seconds = np.asarray(table.column("sent_s").to_numpy(zero_copy_only=False), dtype=float)
    curves, any_hit = [], np.zeros(table.num_rows, dtype=bool)
    for rule in rules:
        codes = outcomes(table, rule)
        hit = codes == OUTCOME_HIT
        any_hit |= hit
        lookups = (codes == OUTCOME_HIT) | (codes == OUTCOME_MISS)
        curves.append(rolling_curve(rule.tier, hit, lookups, seconds, window=window))
    answered = np.asarray(pc.is_valid(table.column("status")), dtype=bool)
    curves.append(rolling_curve("effective", any_hit, answered, seconds, window=window))
    return tuple(curves)
