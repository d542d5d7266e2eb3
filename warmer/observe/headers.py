"""Tier hits and misses computed from the response headers recorded in a replay results table.

A header tier is not sampled: every recorded response says how each cache handled it, so
the tier's counts and its warmup curve (rolling hit rate by request index) come straight
from the results file, phase by phase. Each distinct header value is parsed once (values
repeat heavily), then mapped back onto the rows with numpy.

Outcome per response (``OUTCOME_*`` codes; STALE counts as a hit, REVALIDATED as a miss)::

    cache-status  the member named ``cache``: hit → HIT (STALE when its ttl < 0),
                  fwd=stale → REVALIDATED, fwd=bypass|method → NONE (not a lookup), other
                  fwd → MISS, neither → UNKNOWN; no such member → NONE (the request never
                  reached this tier, e.g. a closer tier answered)
    words         hop ``hop`` of a comma chain (``any``: a hit anywhere), its status word
                  looked up in the tier's words (``presets.py``): hit, stale,
                  revalidated, miss, bypass (NONE); an absent header or hop → NONE
    x-cache       without words: hop ``hop`` read by ``parse_x_cache``
    x-cache-status without words: nginx's ``$upstream_cache_status`` words
    x-varnish     two transaction ids → HIT, one → MISS (varnishd's own header)
    age           present → HIT, absent → MISS (RFC 9111 §5.1)
    any tier      a request without a response (transport error) → NONE
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from warmer.model.results import RESPONSE_HEADERS, header_column
from warmer.model.run import CurvePoint, TierCurve
from warmer.observe.parsers.cache_status import BYPASS, HIT, MISS, parse_cache_status
from warmer.observe.parsers.legacy import age_outcome, parse_x_cache
from warmer.observe.presets import BY_NAME, Kind, Word

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa

OUTCOME_NONE, OUTCOME_HIT, OUTCOME_MISS, OUTCOME_UNKNOWN = 0, 1, 2, 3
OUTCOME_STALE, OUTCOME_REVALIDATED = 4, 5
"""A hit served past its freshness; a stale copy revalidated with the origin (a miss)."""
_CODES = {HIT: OUTCOME_HIT, MISS: OUTCOME_MISS, BYPASS: OUTCOME_NONE}
_WORD_CODES: dict[Word, int] = {
    "hit": OUTCOME_HIT,
    "stale": OUTCOME_STALE,
    "revalidated": OUTCOME_REVALIDATED,
    "miss": OUTCOME_MISS,
    "bypass": OUTCOME_NONE,
}

COLUMNS = {name: header_column(name) for name in RESPONSE_HEADERS}
"""Recorded header → results column holding its raw value (others: the ``headers`` map)."""


@dataclass(frozen=True)
class HeaderRule:
    """How one tier is read from a response header."""

    tier: str
    header: str
    """The response header, lower case (``cache-status``, ``x-cache``, ``x-varnish`` ...)."""
    cache: str | None = None
    """``cache-status``: the cache name of this tier's member."""
    hop: int | Literal["any"] = -1
    """Which hop of a comma chain; ``any``: a hit at any hop is a hit."""
    words: Mapping[str, Word] | None = None
    """Status word (upper case) → meaning; None: the header's built-in reading."""
    kind: Kind | Literal["cache-status"] | None = None
    """How the value is read; None: from ``header`` (``x-varnish``, ``age``, else words)."""

    @property
    def column(self) -> str:
        """The results column of the header (the ``headers`` map for the others)."""
        return COLUMNS.get(self.header, "headers")

    @property
    def reading(self) -> str:
        """``cache-status``, ``x-varnish``, ``age`` or ``words``."""
        if self.kind is not None:
            return self.kind
        if self.header in ("cache-status", "x-varnish", "age"):
            return self.header
        return "words"

    def values(self, table: pa.Table) -> pa.Array:
        """The raw header value of every row (null where it was not sent)."""
        import pyarrow as pa
        import pyarrow.compute as pc

        column = self.column
        if column not in table.column_names:
            return pa.nulls(table.num_rows, pa.string())
        values = table.column(column).combine_chunks()
        if column == "headers":
            return pc.map_lookup(values, pa.scalar(self.header), "first")
        return values

    def classifier(self) -> Callable[[str | None], int]:
        """Outcome code of one raw header value (None: the header was absent)."""
        reading = self.reading
        if reading == "cache-status":
            return self._cache_status
        if reading == "x-varnish":
            return lambda v: OUTCOME_NONE if v is None else _x_varnish(v, self.hop)
        if reading == "age":
            return lambda v: _code(age_outcome(v))
        words = self.words
        if words is None and self.header == "x-cache-status":
            words = BY_NAME["nginx"].words
        if words is None:
            return self._x_cache
        table = _WordTable(words)
        return lambda v: OUTCOME_NONE if v is None else table.outcome(v, self.hop)

    def _cache_status(self, value: str | None) -> int:
        if value is None:
            return OUTCOME_NONE
        entry = parse_cache_status(value).find(self.cache or "")
        if entry is None:
            return OUTCOME_NONE
        if entry.hit and entry.ttl is not None and entry.ttl < 0:
            return OUTCOME_STALE
        if not entry.hit and entry.fwd == "stale":
            return OUTCOME_REVALIDATED
        return _code(entry.outcome)

    def _x_cache(self, value: str | None) -> int:
        hops = parse_x_cache(value) if value is not None else ()
        if not hops:
            return OUTCOME_NONE
        if self.hop == "any":
            codes = [_code(h) for h in hops]
            return OUTCOME_HIT if OUTCOME_HIT in codes else _worst(codes)
        if not -len(hops) <= self.hop < len(hops):
            return OUTCOME_NONE
        return _code(hops[self.hop])


class _WordTable:
    """Status words of one tier, matched whole then as a ``_WORD`` suffix (longest first)."""

    def __init__(self, words: Mapping[str, Word]) -> None:
        self.exact = {w.upper(): _WORD_CODES[m] for w, m in words.items()}
        self.suffixes = sorted(self.exact.items(), key=lambda item: -len(item[0]))

    def word(self, hop: str) -> int:
        token = hop.strip().split(" ", 1)[0].split("/", 1)[0].upper()
        if not token:
            return OUTCOME_NONE
        code = self.exact.get(token)
        if code is not None:
            return code
        for word, code in self.suffixes:
            if token.endswith("_" + word):
                return code
        return OUTCOME_UNKNOWN

    def outcome(self, value: str, hop: int | Literal["any"]) -> int:
        codes = [self.word(part) for part in value.split(",")]
        if hop == "any":
            for best in (OUTCOME_HIT, OUTCOME_STALE):
                if best in codes:
                    return best
            return _worst(codes)
        if not -len(codes) <= hop < len(codes):
            return OUTCOME_NONE
        return codes[hop]


def _worst(codes: Sequence[int]) -> int:
    """The outcome of a chain none of whose hops served it: a miss beats a bypass."""
    for code in (OUTCOME_REVALIDATED, OUTCOME_MISS, OUTCOME_UNKNOWN):
        if code in codes:
            return code
    return OUTCOME_NONE


def _x_varnish(value: str, hop: int | Literal["any"]) -> int:
    """One vxid: a miss or pass; two (request, object): a hit; several layers comma-joined."""
    layers = [part.split() for part in value.split(",")]
    codes = [
        OUTCOME_UNKNOWN
        if not ids or len(ids) > 2 or not all(i.isdigit() for i in ids)
        else (OUTCOME_HIT if len(ids) == 2 else OUTCOME_MISS)
        for ids in layers
    ]
    if hop == "any":
        return OUTCOME_HIT if OUTCOME_HIT in codes else _worst(codes)
    return codes[hop] if -len(codes) <= hop < len(codes) else OUTCOME_NONE


def _code(outcome: str) -> int:
    return _CODES.get(outcome, OUTCOME_UNKNOWN)


@dataclass(frozen=True)
class HeaderCounts:
    """What one header tier saw over some rows of a results table."""

    hits: int
    """Served from the tier, stale ones included."""
    misses: int
    """Forwarded past the tier, revalidations of stale copies included."""
    not_looked_up: int
    """Responses that never reached this tier (or had no response at all)."""
    unknown: int
    """Responses whose header for this tier was garbage (skipped and counted)."""
    malformed_members: int = 0
    """Cache-Status members skipped as malformed, over every response."""
    stale: int = 0
    """Hits served stale plus revalidated stale copies, as the header says (the freshness
    headers can show more: ``inference.py``)."""

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

    encoded = pc.dictionary_encode(rule.values(table))
    classify = rule.classifier()
    codes = np.array([classify(v) for v in encoded.dictionary.to_pylist()] + [classify(None)])
    indices = encoded.indices.fill_null(len(codes) - 1)
    result: np.ndarray = codes[np.asarray(indices, dtype=np.int64)].astype(np.int8)
    if "status" in table.column_names:
        answered = np.asarray(pc.is_valid(table.column("status")), dtype=bool)
        result[~answered] = OUTCOME_NONE
    return result


def hits_and_lookups(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(served from the tier, looked up in it) per row of outcome codes."""
    hit = (codes == OUTCOME_HIT) | (codes == OUTCOME_STALE)
    return hit, hit | (codes == OUTCOME_MISS) | (codes == OUTCOME_REVALIDATED)


def header_counts(table: pa.Table, rule: HeaderRule) -> HeaderCounts:
    """Hits, misses and skipped responses of ``rule``'s tier over every row of ``table``."""
    import numpy as np

    codes = outcomes(table, rule)
    counts = np.bincount(codes, minlength=6)
    return HeaderCounts(
        hits=int(counts[OUTCOME_HIT] + counts[OUTCOME_STALE]),
        misses=int(counts[OUTCOME_MISS] + counts[OUTCOME_REVALIDATED]),
        not_looked_up=int(counts[OUTCOME_NONE]),
        unknown=int(counts[OUTCOME_UNKNOWN]),
        malformed_members=_malformed_members(table) if rule.reading == "cache-status" else 0,
        stale=int(counts[OUTCOME_STALE] + counts[OUTCOME_REVALIDATED]),
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
    in completion order; ``seq`` runs on from one phase to the next in a results file).

    A table already in that order is returned as it is: sorting copies every column, and
    a long run's results are the largest thing a gate holds.
    """
    import pyarrow.compute as pc

    if "seq" not in table.column_names or _ascending(table.column("seq")):
        return table
    order = pc.sort_indices(table, [("seq", "ascending")])
    # Column by column, each replacing its unsorted self: the whole table is never held
    # twice (rows are stored in completion order, so a run's file is never sorted). A
    # column of nulls only has no order to keep, and taking from it would fill it in.
    for index, name in enumerate(table.column_names):
        column = table.column(index)
        if column.null_count < len(column):
            table = table.set_column(index, name, column.take(order))
    return table


def _ascending(column: pa.ChunkedArray) -> bool:
    import numpy as np

    values = column.to_numpy()
    return bool(values.size < 2 or np.all(values[1:] >= values[:-1]))


def phase_rows(table: pa.Table, name: str) -> pa.Table:
    """The rows of phase ``name``: a zero-copy slice when they are contiguous (a table in
    send order holds each phase in one run of rows), else a filtered copy."""
    import numpy as np
    import pyarrow.compute as pc

    mask = pc.fill_null(pc.equal(table.column("phase"), name), False)
    where = np.flatnonzero(np.asarray(mask.to_numpy(zero_copy_only=False), dtype=bool))
    if where.size == 0:
        return table.slice(0, 0)
    if where[-1] - where[0] + 1 == where.size:
        return table.slice(int(where[0]), int(where.size))
    return table.filter(mask)


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
        hit, lookups = hits_and_lookups(outcomes(table, rule))
        any_hit |= hit
        curves.append(rolling_curve(rule.tier, hit, lookups, seconds, window=window))
    answered = np.asarray(pc.is_valid(table.column("status")), dtype=bool)
    curves.append(rolling_curve("effective", any_hit, answered, seconds, window=window))
    return tuple(curves)
