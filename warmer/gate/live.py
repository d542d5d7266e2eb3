"""Live figures of the phase being replayed, from the results batches as they are written.

The gate listens to the run's results writer (:meth:`ResultsWriter.listen`): every batch
the recorder flushes (about twice a second) is tallied here — responses, failures (no
response or a 5xx), latencies, and per tier the hits and lookups its response header
shows (the tier's own rule for a header tier; for a tier read from its server, the
``Cache-Status`` member named like the tier, as the reference candidate emits). From those
tallies come the windowed hit rate that ``warm_until`` reads and the error rate and
latency that backend protection reads — while the phase runs, not afterwards.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pyarrow as pa

    from warmer.config.schema import SourceConfig
    from warmer.observe.headers import HeaderRule

EFFECTIVE = "effective"
KEEP_S = 30.0
"""Seconds of tallies kept (the windows read from the newest ones)."""


@dataclass(frozen=True)
class _Tally:
    """One results batch."""

    at: float
    """``sent_s`` of the batch's last request."""
    responses: int
    failed: int
    latencies: np.ndarray[Any, Any] = field(repr=False)
    hits: Mapping[str, int] = field(default_factory=dict)
    lookups: Mapping[str, int] = field(default_factory=dict)


class LiveWindow:
    """A results-writer listener keeping the last ``KEEP_S`` seconds of tallies."""

    def __init__(self, rules: Sequence[HeaderRule], *, window: int = 1000) -> None:
        self.rules = tuple(rules)
        self.window = window
        """Lookups a windowed hit rate is computed over."""
        self._tallies: deque[_Tally] = deque()

    def __call__(self, batch: pa.RecordBatch) -> None:
        import pyarrow as pa
        import pyarrow.compute as pc

        from warmer.observe.headers import OUTCOME_HIT, OUTCOME_MISS, outcomes

        if batch.num_rows == 0:
            return
        table = pa.Table.from_batches([batch])
        answered = np.asarray(pc.is_valid(table.column("status")), dtype=bool)
        status = np.asarray(pc.fill_null(table.column("status"), 0), dtype=np.int64)
        latency = table.column("latency_ms").drop_null().to_numpy()
        hits: dict[str, int] = {}
        lookups: dict[str, int] = {}
        any_hit = np.zeros(table.num_rows, dtype=bool)
        for rule in self.rules:
            codes = outcomes(table, rule)
            hit = codes == OUTCOME_HIT
            any_hit |= hit
            hits[rule.tier] = int(hit.sum())
            lookups[rule.tier] = int((hit | (codes == OUTCOME_MISS)).sum())
        hits[EFFECTIVE], lookups[EFFECTIVE] = int(any_hit.sum()), int(answered.sum())
        at = float(np.nanmax(table.column("sent_s").to_numpy(zero_copy_only=False)))
        failed = int((~answered).sum() + (status >= 500).sum())
        self._tallies.append(_Tally(at, table.num_rows, failed, latency, hits, lookups))
        while self._tallies and self._tallies[0].at < at - KEEP_S:
            self._tallies.popleft()

    @property
    def latest(self) -> float | None:
        """``sent_s`` of the newest tallied request (None before the first batch)."""
        return self._tallies[-1].at if self._tallies else None

    def hit_rate(self, tier: str) -> float | None:
        """Hits / lookups of ``tier`` (or ``effective``) over its last ``window`` lookups.

        None until that many lookups were seen: a rate over a handful of requests is noise.
        """
        hits = lookups = 0
        for tally in reversed(self._tallies):
            hits += tally.hits.get(tier, 0)
            lookups += tally.lookups.get(tier, 0)
            if lookups >= self.window:
                return hits / lookups
        return None

    def recent(self, span_s: float) -> list[_Tally]:
        """The tallies of the last ``span_s`` seconds of sending (at least the newest one)."""
        if not self._tallies:
            return []
        since = self._tallies[-1].at - span_s
        return [t for t in self._tallies if t.at >= since] or [self._tallies[-1]]

    def send_rate(self, span_s: float = 1.0) -> float | None:
        """Requests recorded per second over the last ``span_s`` seconds (None: too few)."""
        if len(self._tallies) < 2:
            return None
        newest = self._tallies[-1].at
        older = [t for t in self._tallies if t.at <= newest - span_s]
        start = older[-1] if older else self._tallies[0]
        sent = sum(t.responses for t in self._tallies if t.at > start.at)
        return sent / (newest - start.at) if newest > start.at else None

    def error_rate(self, span_s: float = 0.5) -> float | None:
        """Failed / sent over the last ``span_s`` seconds."""
        recent = self.recent(span_s)
        sent = sum(t.responses for t in recent)
        return sum(t.failed for t in recent) / sent if sent else None

    def latency_ms(self, quantile: float, span_s: float = 0.5) -> float | None:
        """A latency percentile (0..100) over the last ``span_s`` seconds."""
        recent = [t.latencies for t in self.recent(span_s) if len(t.latencies)]
        if not recent:
            return None
        return float(np.percentile(np.concatenate(recent), quantile))


def tier_rules(tiers: Mapping[str, SourceConfig]) -> list[HeaderRule]:
    """A rule per tier: its own header rule, else the ``Cache-Status`` member named like it."""
    from warmer.observe.build import header_rule
    from warmer.observe.headers import HeaderRule

    return [
        header_rule(name, source)
        if source.source in ("cache-status", "header")
        else HeaderRule(name, "cache-status", cache=name)
        for name, source in tiers.items()
    ]
