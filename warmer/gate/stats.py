"""Two-sample statistics for judging a candidate against a baseline, pure numpy (no scipy).

- :func:`proportion_delta`: the difference of two proportions (candidate − baseline) with
  Newcombe's hybrid score interval (Newcombe 1998, method 10), built from the two Wilson
  score intervals; it keeps its coverage at rates near 0 or 1, where the normal (Wald)
  interval of a hit rate of 99 % or an error rate of 0.1 % does not.
- :func:`mann_whitney`: the Mann–Whitney U test of two samples (normal approximation with
  the tie correction and a continuity correction; exact enough from about 20 values a
  side) and Cliff's delta, its effect size: P(candidate > baseline) − P(candidate <
  baseline), from −1 to 1, 0 when neither side tends to be larger. With thousands of
  requests a side, U finds differences too small to matter; the effect size says whether
  one does (|δ| < 0.147 is "negligible", < 0.33 "small", Romano et al. 2006).
- :func:`window_sign_test`: U assumes independent values, and the latencies of
  neighbouring requests are not (a stall of one side slows a run of them, and U then finds
  a "significant" difference in half a second of bad luck). Cutting the run into
  consecutive time windows and asking in how many the candidate was slower (a sign test
  over the windows' Cliff's deltas) asks whether the difference held across the run; a
  run too short for enough windows cannot judge latency at all.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

import numpy as np


@dataclass(frozen=True)
class ProportionDelta:
    """Candidate's proportion minus the baseline's, with a confidence interval."""

    baseline: float
    candidate: float
    delta: float
    low: float
    high: float
    p_value: float
    """Two-sided p of the pooled two-proportion z test (1.0 when both are 0 or 1)."""


@dataclass(frozen=True)
class MannWhitney:
    """The U test of candidate against baseline and Cliff's delta."""

    u: float
    """U of the candidate sample: pairs where the candidate value is larger (ties: half)."""
    p_value: float
    """Two-sided."""
    cliffs_delta: float
    """P(candidate > baseline) − P(candidate < baseline); > 0: the candidate is larger."""


def z_value(confidence: float) -> float:
    """The two-sided normal quantile for ``confidence`` (0.95 → 1.96)."""
    return NormalDist().inv_cdf(0.5 + confidence / 2)


def wilson(successes: int, trials: int, confidence: float = 0.95) -> tuple[float, float]:
    """The Wilson score interval of ``successes / trials`` (trials > 0)."""
    z = z_value(confidence)
    p = successes / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def proportion_delta(
    base_k: int, base_n: int, cand_k: int, cand_n: int, confidence: float = 0.95
) -> ProportionDelta:
    """``cand_k/cand_n − base_k/base_n`` with Newcombe's interval; both ``n`` must be > 0."""
    p1, p2 = base_k / base_n, cand_k / cand_n
    l1, u1 = wilson(base_k, base_n, confidence)
    l2, u2 = wilson(cand_k, cand_n, confidence)
    delta = p2 - p1
    low = delta - math.sqrt((p2 - l2) ** 2 + (u1 - p1) ** 2)
    high = delta + math.sqrt((u2 - p2) ** 2 + (p1 - l1) ** 2)
    return ProportionDelta(p1, p2, delta, low, high, _pooled_p(base_k, base_n, cand_k, cand_n))


def _pooled_p(k1: int, n1: int, k2: int, n2: int) -> float:
    pooled = (k1 + k2) / (n1 + n2)
    spread = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if spread == 0:
        return 1.0
    z = abs(k2 / n2 - k1 / n1) / spread
    return math.erfc(z / math.sqrt(2))


def mann_whitney(baseline: Any, candidate: Any) -> MannWhitney:
    """The U test and Cliff's delta of two non-empty samples (array-likes of numbers)."""
    a = np.asarray(baseline, dtype=np.float64)
    b = np.asarray(candidate, dtype=np.float64)
    n1, n2 = len(a), len(b)
    ranks, tie_term = _ranks(np.concatenate([a, b]))
    u = float(ranks[n1:].sum() - n2 * (n2 + 1) / 2)  # candidate's U
    mean = n1 * n2 / 2
    n = n1 + n2
    variance = n1 * n2 / 12 * ((n + 1) - tie_term / (n * (n - 1)))
    if variance <= 0:
        return MannWhitney(u, 1.0, 0.0)
    z = (abs(u - mean) - 0.5) / math.sqrt(variance)
    p = min(1.0, math.erfc(max(z, 0.0) / math.sqrt(2)))
    return MannWhitney(u, p, 2 * u / (n1 * n2) - 1)


def _ranks(values: np.ndarray[Any, Any]) -> tuple[np.ndarray[Any, Any], float]:
    """Average ranks (1-based, ties share their mean rank) and Σ(t³ − t) over tie groups."""
    order = np.argsort(values, kind="mergesort")
    _, inverse, counts = np.unique(values[order], return_inverse=True, return_counts=True)
    ends = np.cumsum(counts)
    mean_rank = ends - (counts - 1) / 2.0
    ranks = np.empty(len(values), dtype=np.float64)
    ranks[order] = mean_rank[inverse]
    tie_term = float(np.sum(counts.astype(np.float64) ** 3 - counts))
    return ranks, tie_term


@dataclass(frozen=True)
class WindowTest:
    """Per-window Cliff's deltas of two timed series, and their sign test."""

    windows: int
    """Windows with at least ``MIN_PER_WINDOW`` values on each side."""
    slower: int
    """Windows where the candidate was slower (delta > 0)."""
    faster: int
    p_value: float
    """Two-sided sign test over the windows whose delta is not 0."""


MIN_PER_WINDOW = 5


def min_windows(alpha: float) -> int:
    """The fewest windows a sign test needs to reach ``alpha`` at all (6 for 0.05)."""
    n = 1
    while 2 / 2**n >= alpha:
        n += 1
    return n


def window_sign_test(
    baseline: Any, baseline_at: Any, candidate: Any, candidate_at: Any, window_s: float
) -> WindowTest:
    """Cut both series into consecutive windows of ``window_s`` seconds of their send times
    (``*_at``) and sign-test the windows' Cliff's deltas."""
    a, b = np.asarray(baseline, dtype=np.float64), np.asarray(candidate, dtype=np.float64)
    ta, tb = np.asarray(baseline_at, dtype=np.float64), np.asarray(candidate_at, dtype=np.float64)
    if not len(a) or not len(b):
        return WindowTest(0, 0, 0, 1.0)
    start = min(ta.min(), tb.min())
    wa, wb = (
        ((ta - start) // window_s).astype(np.int64),
        ((tb - start) // window_s).astype(np.int64),
    )
    deltas = []
    for window in np.union1d(wa, wb):
        x, y = a[wa == window], b[wb == window]
        if len(x) >= MIN_PER_WINDOW and len(y) >= MIN_PER_WINDOW:
            deltas.append(mann_whitney(x, y).cliffs_delta)
    slower = sum(1 for d in deltas if d > 0)
    faster = sum(1 for d in deltas if d < 0)
    return WindowTest(len(deltas), slower, faster, _sign_p(slower, slower + faster))


def _sign_p(k: int, n: int) -> float:
    """Two-sided exact binomial p of ``k`` successes in ``n`` at one half."""
    if n == 0:
        return 1.0
    tail = min(k, n - k)
    p: float = sum(math.comb(n, i) for i in range(tail + 1)) / float(2**n)
    return min(1.0, 2 * p)
