"""The candidate against the running release: the same traffic to both at once, compared.

:func:`replay_both` sends the verify part of the sample to the baseline and to the
candidate in pairs: each record's two requests leave together from one event loop, so
both sides see the same requests in the same order under the same conditions (a stall of
the client, the machine or the network lands on both requests of a pair, not on one side;
two engines in two threads of one process measured each other's GIL waits). Each side's
responses go to a results file of its own in the results schema
(``compare-baseline.parquet``, ``compare-candidate.parquet`` in the run directory).

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

import dataclasses
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from warmer.gate.stats import mann_whitney, min_windows, proportion_delta, window_sign_test

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
    sent_at: np.ndarray[Any, Any] = field(default_factory=lambda: np.zeros(0), repr=False)
    """When each of ``latencies`` was sent (seconds on the side's results clock)."""


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
    sent = np.asarray(table.column("sent_s"), dtype=np.float64)
    return Side(
        table.num_rows,
        int(answered.sum()),
        int(failed.sum()),
        hits,
        lookups,
        latency[good],
        sent[good],
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
    windows = window_sign_test(
        baseline.latencies, baseline.sent_at, candidate.latencies, candidate.sent_at,
        config.window_s,
    )  # fmt: skip
    metrics["compare.latency.mwu_p"] = test.p_value
    metrics["compare.latency.cliffs_delta"] = test.cliffs_delta
    needed = min_windows(config.alpha)
    counts = (
        f"{len(candidate.latencies):,} vs {len(baseline.latencies):,} latencies; slower in "
        f"{windows.slower} of {windows.windows} windows of {config.window_s:g}s "
        f"(sign test p {windows.p_value:.2g})"
    )
    # Worse (or better) only when U finds it, the effect is not negligible, and it held
    # across the run (the windows' sign test): see warmer.gate.stats.
    if windows.windows < needed:
        verdict = (
            f"no data: {windows.windows} windows of {config.window_s:g}s, at least {needed} "
            "needed to judge latency (send more requests, or pace them: [compare] rate)"
        )
    elif (
        test.p_value < config.alpha
        and abs(test.cliffs_delta) >= NEGLIGIBLE_EFFECT
        and windows.p_value < config.alpha
    ):
        verdict = "worse" if test.cliffs_delta > 0 else "better"
    else:
        verdict = "same"
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
    """Send each of ``records()`` to both sides at the same instant; (baseline, candidate)
    results files.

    One event loop sends the pair of each record together (``asyncio.gather``) with at
    most ``[compare] concurrency`` pairs in flight, at ``[compare] rate`` pairs a second
    or as fast as the sides answer: whatever
    slows the client or the network slows both requests of a pair alike, and each side
    sees the same requests in the same order (which of a pair leaves first alternates).
    Requests are prepared by the replay's own
    safety rules (methods, headers, protected hosts: a protected baseline is refused).
    At most ``[compare] requests`` records are sent; ``stop`` ends it early.
    """
    from warmer.gate.preparation import replay_plan
    from warmer.replay._driver import run_loop
    from warmer.replay.results import ResultsWriter

    paths = (directory / "compare-baseline.parquet", directory / "compare-candidate.parquet")
    sides = []
    for url, socket in ((baseline, None), (candidate, config.replay.unix_socket)):
        plan = replay_plan(config, url, order="recorded")
        plan = dataclasses.replace(plan, unix_socket=socket)
        sides.append(_PairSide(plan.parsed_target(), _policy(plan)))
    with (
        ResultsWriter(paths[0], meta={"target": _masked(baseline)}) as base_out,
        ResultsWriter(paths[1], meta={"target": _masked(candidate)}) as cand_out,
    ):
        sides[0].writer, sides[1].writer = base_out, cand_out
        run_loop(lambda: _pairs(config, records(), sides, stop))
    for name, side, path in zip(("baseline", "candidate"), sides, paths, strict=True):
        if side.failed_in_row >= max(config.replay.fail_after, 1):
            from warmer.errors import TargetFailedError

            raise TargetFailedError(
                f"the {name} at {side.target.address} stopped answering during compare: "
                f"{side.failed_in_row} requests in a row got no response",
                f"is the {name} up? its responses until then are in {path.name}",
            )
    return paths


@dataclass
class _PairSide:
    """One side of the paired replay: its target, request rules, idle connections, rows."""

    target: Any
    policy: Any
    writer: Any = None
    rows: list[Any] = field(default_factory=list)
    idle: list[Any] = field(default_factory=list)
    failed_in_row: int = 0
    """Requests in a row that got no response (the side looks dead past ``fail_after``)."""

    def flush(self, at_least: int = 1) -> None:
        if len(self.rows) >= at_least:
            self.writer.write_rows(self.rows)
            self.rows = []


def _policy(plan: Any) -> Any:
    from warmer.replay.safety import RequestPolicy, check_methods, parse_header

    return RequestPolicy(
        target=plan.parsed_target(),
        allow_methods=check_methods(plan.allow_methods),
        add_headers=dict(parse_header(h) for h in plan.headers),
        drop_headers=plan.drop_headers,
        preserve_host=plan.preserve_host,
    )


async def _pairs(
    config: Config, records: SampleSource, sides: Sequence[_PairSide], stop: threading.Event
) -> None:
    import asyncio

    from warmer.observe.build import extra_headers
    from warmer.replay.fast import header_slots, make_ssl_context, watch_timeouts

    replay = config.replay
    limit = config.compare.requests
    gate = asyncio.Semaphore(config.compare.concurrency)
    conns: set[Any] = set()
    slots = header_slots(extra_headers(config))
    tls = make_ssl_context(not replay.insecure, replay.ca_cert)
    sweeper = asyncio.ensure_future(watch_timeouts(conns, replay.timeout_s))

    async def pair(seq: int, record: Any) -> None:
        # Which side's request goes first alternates: the one sent (and read) first in a
        # pair has a head start of a few microseconds, which thousands of pairs would
        # otherwise add up into a difference between identical sides.
        order = sides if seq % 2 == 0 else sides[::-1]
        try:
            await asyncio.gather(
                *(_send(seq, record, side, replay.timeout_s, tls, conns, slots) for side in order)
            )
        finally:
            gate.release()

    tasks = []
    loop = asyncio.get_running_loop()
    began = loop.time()
    rate = config.compare.rate
    try:
        for seq, record in enumerate(_sendable(records, sides[1].policy)):
            if stop.is_set() or (limit is not None and seq >= limit):
                break
            if any(side.failed_in_row >= max(replay.fail_after, 1) for side in sides):
                break  # a side stopped answering: replay_both names it
            if rate is not None:
                await asyncio.sleep(max(0.0, began + seq / rate - loop.time()))
            await gate.acquire()
            tasks.append(asyncio.ensure_future(pair(seq, record)))
            for side in sides:
                side.flush(1024)
        await asyncio.gather(*tasks)
    finally:
        sweeper.cancel()
        for conn in list(conns):
            conn.close()
    for side in sides:
        side.flush()


def _sendable(records: SampleSource, policy: Any) -> Any:
    from warmer.model.sample import SampleRecord

    for batch in records.batches():
        for row in batch.to_pylist():
            record = SampleRecord.from_row(row)
            if policy.skip_reason(record) is None:
                yield record


async def _send(
    seq: int, record: Any, side: _PairSide, timeout_s: float, tls: Any, conns: Any, slots: Any
) -> None:
    """One request of a pair over the fast engine's HTTP/1.1 connections (kept alive)."""
    import time

    from warmer.model.results import RESPONSE_HEADERS, header_column
    from warmer.replay.engine import ConnectFailed, Response
    from warmer.replay.fast import open_connection
    from warmer.replay.results import make_row

    request = side.policy.prepare(record)
    writer = side.writer
    sent = time.perf_counter()
    context = tls if side.target.tls else None
    response = Response(None, 0, "other")
    for _ in range(2):  # a kept-alive connection the server closed: once more on a new one
        try:
            conn = side.idle.pop() if side.idle else None
            conn = conn or await open_connection(side.target, timeout_s, context, conns, slots)
        except ConnectFailed as exc:
            response = Response(None, 0, exc.kind)
            break
        response = await conn.request(request)
        if not conn.closed:
            side.idle.append(conn)
        if response.error != "stale":
            break
    latency = (time.perf_counter() - sent) * 1000 if response.error is None else None
    headers = {header_column(n): v for n, v in zip(RESPONSE_HEADERS, response.headers, strict=True)}
    side.failed_in_row = side.failed_in_row + 1 if response.status is None else 0
    side.rows.append(
        make_row(
            seq=seq, phase="compare", method=request.method, target=request.path,
            key=request.key, recorded_s=record.ts, sent_s=sent - writer.origin,
            latency_ms=latency, status=response.status, response_bytes=response.nbytes,
            body_digest=response.digest, error=response.error, headers=response.extra,
            **headers,
        )
    )  # fmt: skip


def _masked(url: str) -> str:
    from warmer.credentials import mask_url

    return mask_url(url)


def read_side(path: Path, rules: Sequence[HeaderRule]) -> Side:
    """Count a side's results file."""
    from warmer.replay.results import open_results

    return side_of(open_results(path).to_table(), rules)
