"""The candidate against the running release: the same traffic to both at once, compared.

:func:`replay_both` sends the verify part of the sample to the baseline and to the
candidate at the same time — two replays with the run's pacing and engine settings, one
per side, started together — so both see the same requests under the same conditions
(a slow minute of the machine or the network lands on both). Each side's responses go
to a results file of its own (``compare-baseline.parquet``, ``compare-candidate.parquet``
in the run directory).

:func:`compare_tables` then judges the two, Kayenta style: per-tier and effective hit
rates and the error rate as differences of proportions with Newcombe intervals,
latency distributions with the Mann–Whitney U test and Cliff's delta, and the latency
percentiles as ratios (``warmer.gate.stats``). Hit rates are read from each response's
headers with the tiers' rules (a Redis tier: the ``Cache-Status`` member named like it),
since the baseline's own cache servers are not the candidate's observers. With fewer
than ``[compare] min_requests`` answered requests a side, or ``min_lookups`` lookups of a
tier, the comparison says so and its metrics have no data: too little data is
inconclusive, never a pass.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from warmer.gate.stats import mann_whitney, proportion_delta

if TYPE_CHECKING:
    import pyarrow as pa

    from warmer.config.schema import CompareConfig, Config
    from warmer.model.run import Comparison, ComparisonRow
    from warmer.observe.headers import HeaderRule
    from warmer.sample.source import SampleSource

NEGLIGIBLE_EFFECT = 0.147
"""|Cliff's delta| below this is a negligible difference (Romano et al. 2006)."""

PERCENTILES = (50, 95, 99)
Metrics = dict[str, float | None]


@dataclass(frozen=True)
class Side:
    """What one side answered: counts per tier and the latencies of its good responses."""

    sent: int
    answered: int
    failed: int
    hits: Mapping[str, int] = field(default_factory=dict)
    lookups: Mapping[str, int] = field(default_factory=dict)
    latencies: np.ndarray[Any, Any] = field(default_factory=lambda: np.zeros(0), repr=False)


def side_of(table: pa.Table, rules: Sequence[HeaderRule]) -> Side:
    """Count one side's results table (rows of one replay)."""
    import pyarrow.compute as pc

    from warmer.observe.headers import hits_and_lookups, outcomes

    answered = np.asarray(pc.is_valid(table.column("status")), dtype=bool)
    status = np.asarray(pc.fill_null(table.column("status"), 0), dtype=np.int64)
    failed = ~answered | (status >= 500)
    hits: dict[str, int] = {}
    lookups: dict[str, int] = {}
    any_hit = np.zeros(table.num_rows, dtype=bool)
    any_lookup = np.zeros(table.num_rows, dtype=bool)
    for rule in rules:
        hit, looked = hits_and_lookups(outcomes(table, rule))
        hits[rule.tier], lookups[rule.tier] = int(hit.sum()), int(looked.sum())
        any_hit |= hit
        any_lookup |= looked
    hits["effective"], lookups["effective"] = int(any_hit.sum()), int(any_lookup.sum())
    latency = np.asarray(pc.fill_null(table.column("latency_ms"), np.nan), dtype=np.float64)
    good = ~failed & ~np.isnan(latency)
    return Side(
        table.num_rows, int(answered.sum()), int(failed.sum()), hits, lookups, latency[good]
    )


def compare_tables(
    baseline: Side, candidate: Side, config: CompareConfig, url: str
) -> tuple[Comparison, Metrics]:
    """The report section and the ``compare.*`` metrics (None: inconclusive)."""
    from warmer.model.run import Comparison

    tiers = [t for t in candidate.lookups if t in baseline.lookups]
    metrics: Metrics = {name: None for name in metric_names(tiers)}
    requests = min(baseline.sent, candidate.sent)
    answered = min(baseline.answered, candidate.answered)
    empty = Comparison(baseline=url, requests=requests, confidence=config.confidence)
    if answered < config.min_requests:
        reason = (
            f"inconclusive: {answered:,} answered requests on the weaker side, at least "
            f"{config.min_requests:,} needed ([compare] min_requests)"
        )
        return _replace(empty, reason=reason), metrics
    rows = [_hit_row(t, baseline, candidate, config, metrics) for t in tiers]
    rows.append(_error_row(baseline, candidate, config, metrics))
    rows.extend(_latency_rows(baseline, candidate, metrics))
    test = _distribution(baseline, candidate, config, metrics)
    rows.append(test)
    worse = sum(1 for row in rows if row.verdict == "worse")
    metrics["compare.requests"] = float(answered)
    metrics["compare.regressions"] = float(worse)
    return (
        _replace(
            empty,
            rows=tuple(rows),
            mwu_p=metrics["compare.latency.mwu_p"],
            cliffs_delta=metrics["compare.latency.cliffs_delta"],
        ),
        metrics,
    )


def metric_names(tiers: Sequence[str]) -> list[str]:
    """Every ``compare.*`` metric a comparison of ``tiers`` (``effective`` included) sets."""
    names = ["compare.requests", "compare.regressions"]
    for tier in tiers:
        names += [f"compare.hit_rate.{tier}.{p}" for p in ("delta", "delta_low", "delta_high")]
    names += [f"compare.error_rate.{p}" for p in ("delta", "delta_low", "delta_high")]
    names += [f"compare.latency.p{q}_ms.ratio" for q in PERCENTILES]
    names += ["compare.latency.mwu_p", "compare.latency.cliffs_delta"]
    return names


def _replace(comparison: Comparison, **changes: Any) -> Comparison:
    import dataclasses

    return dataclasses.replace(comparison, **changes)


def _hit_row(
    tier: str, baseline: Side, candidate: Side, config: CompareConfig, metrics: Metrics
) -> ComparisonRow:
    from warmer.model.run import ComparisonRow

    b_k, b_n = baseline.hits[tier], baseline.lookups[tier]
    c_k, c_n = candidate.hits[tier], candidate.lookups[tier]
    counts = f"{c_k:,}/{c_n:,} vs {b_k:,}/{b_n:,}"
    if min(b_n, c_n) < config.min_lookups:
        why = f"no data: {min(b_n, c_n):,} lookups, at least {config.min_lookups:,} needed"
        return ComparisonRow(f"hit_rate.{tier}", counts=counts, verdict=why)
    d = proportion_delta(b_k, b_n, c_k, c_n, config.confidence)
    prefix = f"compare.hit_rate.{tier}"
    metrics.update({f"{prefix}.delta": d.delta, f"{prefix}.delta_low": d.low})
    metrics[f"{prefix}.delta_high"] = d.high
    verdict = "worse" if d.high < 0 else "better" if d.low > 0 else "same"
    return ComparisonRow(
        f"hit_rate.{tier}", d.baseline, d.candidate, d.delta, d.low, d.high, d.p_value, counts,
        verdict,
    )  # fmt: skip


def _error_row(
    baseline: Side, candidate: Side, config: CompareConfig, metrics: Metrics
) -> ComparisonRow:
    from warmer.model.run import ComparisonRow

    d = proportion_delta(
        baseline.failed, baseline.sent, candidate.failed, candidate.sent, config.confidence
    )
    metrics.update({"compare.error_rate.delta": d.delta, "compare.error_rate.delta_low": d.low})
    metrics["compare.error_rate.delta_high"] = d.high
    counts = f"{candidate.failed:,}/{candidate.sent:,} vs {baseline.failed:,}/{baseline.sent:,}"
    verdict = "worse" if d.low > 0 else "better" if d.high < 0 else "same"
    return ComparisonRow(
        "error_rate", d.baseline, d.candidate, d.delta, d.low, d.high, d.p_value, counts, verdict
    )


def _latency_rows(baseline: Side, candidate: Side, metrics: Metrics) -> list[ComparisonRow]:
    from warmer.model.run import ComparisonRow

    rows = []
    for q in PERCENTILES:
        b = float(np.percentile(baseline.latencies, q))
        c = float(np.percentile(candidate.latencies, q))
        ratio = c / b if b > 0 else None
        metrics[f"compare.latency.p{q}_ms.ratio"] = ratio
        rows.append(ComparisonRow(f"latency.p{q}_ms", b, c, ratio, verdict="ratio"))
    return rows


def _distribution(
    baseline: Side, candidate: Side, config: CompareConfig, metrics: Metrics
) -> ComparisonRow:
    from warmer.model.run import ComparisonRow

    test = mann_whitney(baseline.latencies, candidate.latencies)
    metrics["compare.latency.mwu_p"] = test.p_value
    metrics["compare.latency.cliffs_delta"] = test.cliffs_delta
    significant = test.p_value < config.alpha and abs(test.cliffs_delta) >= NEGLIGIBLE_EFFECT
    verdict = "same"
    if significant:
        verdict = "worse" if test.cliffs_delta > 0 else "better"
    counts = f"{len(candidate.latencies):,} vs {len(baseline.latencies):,} latencies"
    return ComparisonRow(
        "latency (Mann–Whitney U)",
        delta=test.cliffs_delta,
        p_value=test.p_value,
        counts=counts,
        verdict=verdict,
    )


def replay_both(
    config: Config,
    records: Callable[[], SampleSource],
    candidate: str,
    baseline: str,
    directory: Path,
    stop: threading.Event,
) -> tuple[Path, Path]:
    """Send ``records()`` to both sides at the same time; (baseline, candidate) results files.

    Raises the first side's ``WarmerError`` (a side that stopped answering: exit 3).
    """
    import dataclasses

    from warmer.errors import WarmerError
    from warmer.gate.preparation import replay_plan
    from warmer.replay.results import ResultsWriter
    from warmer.replay.run import replay

    errors: list[WarmerError] = []
    paths = (directory / "compare-baseline.parquet", directory / "compare-candidate.parquet")
    engine = "fast" if config.replay.engine == "locust" else config.replay.engine

    def side(url: str, path: Path) -> None:
        plan = replay_plan(config, url, order="recorded")
        plan = dataclasses.replace(plan, engine=engine, limit=config.compare.requests)
        try:
            with ResultsWriter(path, meta={"target": _masked(url)}) as writer:
                replay(records(), plan, writer, phase="compare", stop=stop)
        except WarmerError as exc:
            errors.append(exc)
            stop.set()

    threads = [
        threading.Thread(target=side, args=(url, path), name=f"warmer-compare-{i}")
        for i, (url, path) in enumerate(zip((baseline, candidate), paths, strict=True))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return paths


def _masked(url: str) -> str:
    from warmer.credentials import mask_url

    return mask_url(url)


def read_side(path: Path, rules: Sequence[HeaderRule]) -> Side:
    """Count a side's results file."""
    from warmer.replay.results import open_results

    return side_of(open_results(path).to_table(), rules)
