"""Compare a baseline tier with a candidate tier: configuration, TTLs, key prefixes, memory per key.

:func:`compare` is pure: two :class:`~warmer.observe.tierconfig.TierReading` and the
``[drift]`` tolerances in, one :class:`~warmer.model.run.DriftRow` per aspect out, each
``ok``, ``drift`` (beyond tolerance), ``no_data`` (a side could not say, or too few keys
to compare) or ``info`` (shown, never judged). :func:`ks_2samp` is the two-sample
Kolmogorov–Smirnov test the TTL distributions are compared with (exact statistic,
asymptotic p-value; scipy is not a dependency).
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from warmer.checks.vocabulary import MetricValue
from warmer.model.run import DriftReport, DriftRow, DriftStatus
from warmer.observe.tierconfig import TierReading

if TYPE_CHECKING:
    from warmer.config.schema import Config, DriftConfig

INFO_SETTINGS = ("version", "io_threads", "threads")
"""Settings shown side by side but never judged unless ``[drift] must_match`` names them."""


def ks_2samp(a: Sequence[float], b: Sequence[float]) -> tuple[float, float]:
    """Two-sample Kolmogorov–Smirnov test: (statistic D, asymptotic two-sided p-value).

    D is the largest distance between the two empirical CDFs, computed exactly over the
    pooled values (ties handled: both CDFs step past a tied value together). The p-value is
    the Kolmogorov distribution's tail at ``(sqrt(ne) + 0.12 + 0.11 / sqrt(ne)) * D`` with
    ``ne = n m / (n + m)`` (Stephens' correction, as in Numerical Recipes' ``kstwo``);
    good for ``ne`` above about 4. Raises ValueError for an empty sample.
    """
    if not a or not b:
        raise ValueError("both samples need at least one value")
    xs, ys = sorted(a), sorted(b)
    n, m = len(xs), len(ys)
    statistic = 0.0
    for value in sorted(set(xs) | set(ys)):
        fx = bisect.bisect_right(xs, value) / n
        fy = bisect.bisect_right(ys, value) / m
        statistic = max(statistic, abs(fx - fy))
    effective = math.sqrt(n * m / (n + m))
    return statistic, kolmogorov_tail((effective + 0.12 + 0.11 / effective) * statistic)


def kolmogorov_tail(lam: float) -> float:
    """P(K > lam) of the Kolmogorov distribution: 2 Σ (-1)^(k-1) exp(-2 k² lam²)."""
    if lam < 1e-3:
        return 1.0
    total, sign = 0.0, 1.0
    for k in range(1, 101):
        term = sign * math.exp(-2.0 * k * k * lam * lam)
        total += term
        if abs(term) < 1e-12:
            break
        sign = -sign
    return min(max(2.0 * total, 0.0), 1.0)


@dataclass(frozen=True)
class DriftPair:
    """One tier to compare: where its baseline and its candidate answer."""

    tier: str
    source: str
    """``redis`` or ``memcached``."""
    baseline_url: str
    candidate_url: str
    baseline_setting: str = "baseline_url"
    """The setting or flag an unreachable baseline's hint names."""
    candidate_setting: str = "url"


def config_pairs(config: Config, names: Sequence[str] = ()) -> list[DriftPair]:
    """Every Redis/Memcached tier with a ``baseline_url`` (only ``names`` when given)."""
    return [
        DriftPair(name, tier.source, tier.baseline_url, tier.url)
        for name, tier in config.tiers.items()
        if tier.source in ("redis", "memcached") and tier.baseline_url and tier.url
        if not names or name in names
    ]


def measure(
    config: Config,
    pairs: Sequence[DriftPair],
    known: Mapping[str, TierReading] | None = None,
    stop: Callable[[], bool] | None = None,
) -> DriftReport:
    """Read both sides of every pair and compare them under ``config.drift``.

    ``known`` holds candidate readings already taken (the gate's ``tiers`` step). An
    unreachable side is an ``ObserverUnreachableError`` (exit 3) naming the tier and the
    setting to check.
    """
    from warmer.observe.tierconfig import read_configured

    rows: list[DriftRow] = []
    for pair in pairs:
        if stop is not None and stop():
            break
        candidate = (known or {}).get(pair.tier) or read_configured(
            config, pair.tier, pair.source, pair.candidate_url, pair.candidate_setting
        )
        baseline = read_configured(
            config, pair.tier, pair.source, pair.baseline_url, pair.baseline_setting
        )
        rows += compare(baseline, candidate, config.drift)
    return drift_report(rows)


def compare(baseline: TierReading, candidate: TierReading, config: DriftConfig) -> list[DriftRow]:
    """Every aspect of one tier, baseline beside candidate, judged against ``config``."""
    rows = _settings(baseline, candidate, config)
    rows += _ttls(baseline, candidate, config)
    rows.append(_memory(baseline, candidate, config))
    rows += _prefixes(baseline, candidate, config)
    return rows


def drift_report(rows: Sequence[DriftRow]) -> DriftReport:
    """The rows of every tier with their count of differences beyond tolerance."""
    return DriftReport(rows=tuple(rows), failures=sum(r.status == "drift" for r in rows))


def drift_metrics(report: DriftReport, tiers: Sequence[str]) -> dict[str, MetricValue]:
    """``drift.failures`` and ``drift.<tier>.failures`` for the checks."""
    metrics: dict[str, MetricValue] = {"drift.failures": float(report.failures)}
    for tier in tiers:
        count = sum(r.status == "drift" for r in report.rows if r.tier == tier)
        metrics[f"drift.{tier}.failures"] = float(count)
    return metrics


# --------------------------------------------------------------------------- aspects


def _settings(base: TierReading, cand: TierReading, config: DriftConfig) -> list[DriftRow]:
    rows = []
    names = list(dict.fromkeys([*base.settings, *cand.settings]))
    for name in names:
        b, c = base.settings.get(name), cand.settings.get(name)
        aspect = f"config.{name}"
        if name == "maxmemory":
            rows.append(_maxmemory(base, cand, config))
            continue
        shown_b, shown_c = _shown(b, name), _shown(c, name)
        if name not in config.must_match:
            rows.append(DriftRow(base.tier, aspect, shown_b, shown_c, "info"))
        elif b is None or c is None:
            why = base.no_data.get(name) if b is None else cand.no_data.get(name)
            rows.append(DriftRow(base.tier, aspect, shown_b, shown_c, "no_data", why or ""))
        else:
            same = b == c
            detail = "" if same else "must match ([drift] must_match)"
            rows.append(DriftRow(base.tier, aspect, shown_b, shown_c, _status(same), detail))
    return rows


def _maxmemory(base: TierReading, cand: TierReading, config: DriftConfig) -> DriftRow:
    b, c = base.settings.get("maxmemory"), cand.settings.get("maxmemory")
    shown_b, shown_c = _shown(b, "maxmemory"), _shown(c, "maxmemory")
    if not isinstance(b, float | int) or not isinstance(c, float | int):
        why = base.no_data.get("maxmemory") or cand.no_data.get("maxmemory") or ""
        return DriftRow(base.tier, "config.maxmemory", shown_b, shown_c, "no_data", why)
    if b == c:
        return DriftRow(base.tier, "config.maxmemory", shown_b, shown_c, "ok")
    if b == 0 or c == 0:  # 0 is "no limit" in Redis: unbounded against bounded always drifts
        detail = "one side has no memory limit (0)"
        return DriftRow(base.tier, "config.maxmemory", shown_b, shown_c, "drift", detail)
    ratio = c / b
    ok = abs(ratio - 1.0) <= config.maxmemory_ratio
    detail = f"candidate/baseline {ratio:.2f} (tolerance ±{config.maxmemory_ratio:g})"
    return DriftRow(base.tier, "config.maxmemory", shown_b, shown_c, _status(ok), detail)


def _ttls(base: TierReading, cand: TierReading, config: DriftConfig) -> list[DriftRow]:
    tier = base.tier
    rows = [
        DriftRow(tier, "ttl.p50_s", _seconds(base.ttl_quantile(0.5)),
                 _seconds(cand.ttl_quantile(0.5)), "info"),
        DriftRow(tier, "ttl.p90_s", _seconds(base.ttl_quantile(0.9)),
                 _seconds(cand.ttl_quantile(0.9)), "info"),
    ]  # fmt: skip
    rows.append(_no_expiry(base, cand, config))
    few = min(len(base.ttls_s), len(cand.ttls_s))
    if few < config.min_keys:
        detail = (
            f"{len(base.ttls_s)} and {len(cand.ttls_s)} sampled keys with a TTL; "
            f"the test needs {config.min_keys} on each side ([drift] min_keys)"
        )
        rows.append(DriftRow(tier, "ttl.distribution", "–", "–", "no_data", detail))
        return rows
    rows.append(_upper(base, cand, config))
    statistic, p_value = ks_2samp(base.ttls_s, cand.ttls_s)
    differs = p_value < config.ttl_p_value and statistic > config.ttl_max_statistic
    detail = f"Kolmogorov–Smirnov D = {statistic:.3f}, p = {p_value:.3g}"
    if config.ttl_compare == "distribution":
        detail += f" (drift when p < {config.ttl_p_value:g} and D > {config.ttl_max_statistic:g})"
        status = _status(not differs)
    else:
        detail += ' (shown, not judged: [drift] ttl_compare = "upper")'
        status = "info"
    shown_b, shown_c = f"{len(base.ttls_s)} keys", f"{len(cand.ttls_s)} keys"
    rows.append(DriftRow(tier, "ttl.distribution", shown_b, shown_c, status, detail))
    return rows


def _upper(base: TierReading, cand: TierReading, config: DriftConfig) -> DriftRow:
    """The 99th percentile remaining TTL: about the TTL set, however long a cache has served."""
    b, c = base.ttl_quantile(0.99), cand.ttl_quantile(0.99)
    shown_b, shown_c = _seconds(b), _seconds(c)
    if config.ttl_compare != "upper" or b is None or c is None or b <= 0:
        return DriftRow(base.tier, "ttl.p99_s", shown_b, shown_c, "info")
    ratio = c / b
    ok = abs(ratio - 1.0) <= config.ttl_ratio
    detail = f"candidate/baseline {ratio:.2f} (tolerance ±{config.ttl_ratio:g})"
    return DriftRow(base.tier, "ttl.p99_s", shown_b, shown_c, _status(ok), detail)


def _no_expiry(base: TierReading, cand: TierReading, config: DriftConfig) -> DriftRow:
    b, c = base.no_expiry_rate, cand.no_expiry_rate
    shown_b, shown_c = _pct(b), _pct(c)
    if b is None or c is None or min(base.sampled, cand.sampled) < config.min_keys:
        detail = f"{base.sampled} and {cand.sampled} sampled keys (needs {config.min_keys} each)"
        return DriftRow(base.tier, "ttl.no_expiry_rate", shown_b, shown_c, "no_data", detail)
    ok = abs(c - b) <= config.no_expiry_tolerance
    detail = f"difference {abs(c - b):.1%} (tolerance {config.no_expiry_tolerance:.1%})"
    return DriftRow(base.tier, "ttl.no_expiry_rate", shown_b, shown_c, _status(ok), detail)


def _memory(base: TierReading, cand: TierReading, config: DriftConfig) -> DriftRow:
    b, c = base.memory_per_key_bytes, cand.memory_per_key_bytes
    shown_b, shown_c = _bytes(b), _bytes(c)
    if b is None or c is None or b <= 0:
        why = base.no_data.get("memory_per_key") or cand.no_data.get("memory_per_key") or ""
        return DriftRow(base.tier, "memory_per_key_bytes", shown_b, shown_c, "no_data", why)
    ratio = c / b
    ok = abs(ratio - 1.0) <= config.memory_per_key_ratio
    detail = f"candidate/baseline {ratio:.2f} (tolerance ±{config.memory_per_key_ratio:g})"
    return DriftRow(base.tier, "memory_per_key_bytes", shown_b, shown_c, _status(ok), detail)


def _prefixes(base: TierReading, cand: TierReading, config: DriftConfig) -> list[DriftRow]:
    """Each prefix's share of the sample on both sides (the largest first, at most 10 rows)."""
    if min(base.sampled, cand.sampled) < config.min_keys:
        detail = f"{base.sampled} and {cand.sampled} sampled keys (needs {config.min_keys} each)"
        return [DriftRow(base.tier, "prefix mix", "–", "–", "no_data", detail)]
    b_total, c_total = sum(base.prefixes.values()), sum(cand.prefixes.values())
    shares = {
        p: (base.prefixes.get(p, 0) / b_total, cand.prefixes.get(p, 0) / c_total)
        for p in set(base.prefixes) | set(cand.prefixes)
    }
    ranked = sorted(shares.items(), key=lambda item: (-max(item[1]), item[0]))
    rows = []
    for prefix, (b, c) in ranked[: config.max_prefix_rows]:
        ok = abs(c - b) <= config.prefix_share_tolerance
        detail = "" if ok else f"share differs by {abs(c - b):.1%}"
        rows.append(DriftRow(base.tier, f"prefix {prefix}", _pct(b), _pct(c), _status(ok), detail))
    hidden = [abs(c - b) > config.prefix_share_tolerance for b, c in shares.values()]
    extra = sum(hidden) - sum(r.status == "drift" for r in rows)
    if extra > 0:
        detail = f"{extra} more prefixes beyond tolerance"
        rows.append(DriftRow(base.tier, "prefix (others)", "", "", "drift", detail))
    return rows


# --------------------------------------------------------------------------- display


def _status(ok: bool) -> DriftStatus:
    return "ok" if ok else "drift"


def _shown(value: MetricValue, name: str) -> str:
    if value is None:
        return "no data"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if name in ("maxmemory", "item_size_max"):
        return _bytes(value)
    return f"{value:g}"


def _bytes(value: float | None) -> str:
    if value is None:
        return "no data"
    for unit, size in (("GB", 1024.0**3), ("MB", 1024.0**2), ("KB", 1024.0)):
        if value >= size:
            return f"{value / size:.1f} {unit}"
    return f"{value:.0f} B"


def _seconds(value: float | None) -> str:
    return "no data" if value is None else f"{value:,.0f} s"


def _pct(value: float | None) -> str:
    return "no data" if value is None else f"{value:.1%}"
