"""One-line diagnoses for failing checks, read from the evidence a run gathered.

The rules, in the order they are tried for a hit-rate, offload or backend-load check:

1. the verify part's warmable ceiling is below the threshold → unreachable with this sample;
   then, for ``hit_rate.<tier>``, what the tier's size and TTL explain (too small,
   TTL-limited, not warmed: ``warmer.gate.capacity``, which also explains ``predicted.*``
   and ``warm.converged.*`` checks);
2. a tier evicted or expired keys during verify (else during warm) → capacity (evictions)
   or TTL (expirations), whichever is larger, naming the tier that lost most;
3. the backend counter and the last tier's misses disagree → shared backend or missing tier;
4. requests failed → errors;
5. otherwise the caches were simply not warm yet → warm longer.

A ``no_data`` outcome names the observer that did not report. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from warmer.checks.grammar import Check
from warmer.gate import capacity
from warmer.gate.evaluate import CheckOutcome


@dataclass(frozen=True)
class Evidence:
    """What a run knows beyond the checked values."""

    metrics: Mapping[str, float | None]
    """Every computed metric (verify names and ``warm.`` names)."""
    tiers: Sequence[str] = ()
    """Configured tiers, nearest first (``l0``, ``l1``, ``l2``)."""
    missing: Mapping[str, str] = field(default_factory=dict)
    """Source (tier name, ``backend``, ``results``, ``sample``) → why it gave no data."""
    backend_gap: float | None = None
    """Relative disagreement between the backend counter and the last tier's misses."""
    tolerance: float = 0.05
    """Gap above which counters are said to disagree (``observe.consistency_tolerance``)."""
    error_kinds: Mapping[str, int] = field(default_factory=dict)
    """Failed requests by kind (``timeout``, ``refused``, ``5xx`` ...) during verify."""
    skipped: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    """Phase → sample records it did not send, by reason (``method``, ``invalid`` ...)."""


def diagnose(outcomes: Sequence[CheckOutcome], evidence: Evidence) -> list[CheckOutcome]:
    """The outcomes with a diagnosis attached to every one that did not pass."""
    return [
        outcome if outcome.passed and outcome.status == "pass" else _attach(outcome, evidence)
        for outcome in outcomes
    ]


def _attach(outcome: CheckOutcome, evidence: Evidence) -> CheckOutcome:
    if outcome.status == "no_data":
        return outcome.with_diagnosis(no_data_reason(outcome.check, evidence))
    return outcome.with_diagnosis(explain_failure(outcome.check, outcome.value, evidence))


def tier_label(tier: str) -> str:
    """``l0`` → ``L0``; other names as configured."""
    return tier.upper() if len(tier) <= 3 else tier


def source_of(check: Check) -> str:
    """The evidence source a check's metric depends on."""
    if check.tier is not None:
        return check.tier
    root = check.metric.removeprefix("warm.").split(".")[0]
    return {
        "backend": "backend",
        "latency": "results",
        "errors": "results",
        "ceiling": "sample",
        "skipped": "results",
        "requests_to_target": "results",
        "seconds_to_target": "results",
    }.get(root, "tiers")


def no_data_reason(check: Check, evidence: Evidence) -> str:
    """Why ``check.metric`` has no value: the missing observer, or what never happened."""
    source = source_of(check)
    if source in evidence.missing:
        return f"no data: {evidence.missing[source]}"
    if "_to_target" in check.metric:
        return "no data: the rolling hit rate never reached its threshold during warm"
    if source == "tiers" and evidence.missing:
        return "no data: " + "; ".join(evidence.missing.values())
    if source == "backend":
        return "no data: no [backend] source is configured or it reported nothing"
    if check.tier is not None:
        return f"no data: the {tier_label(check.tier)} observer reported no {check.metric}"
    return f"no data: nothing reported {check.metric}"


def explain_failure(check: Check, value: float | None, evidence: Evidence) -> str:
    """One line on why ``check`` failed (the observed value is shown next to it elsewhere)."""
    root = check.metric.removeprefix("warm.").split(".")[0]
    if root in capacity.OWN_ROOTS:  # predicted.*, warm.converged.*: warmer/gate/capacity.py
        return capacity.explain(check, evidence.metrics) or "see the report's predictions"
    if root == "skipped":
        return _skipped_reason(check, evidence)
    if root == "latency":
        return _latency_reason(evidence)
    if root == "errors":
        return _errors_reason(evidence) or "requests failed: errors"
    if root.endswith("_to_target"):
        return f"warmed too slowly: {_cache_reason(check, evidence)}"
    if check.tier is not None and root != "hit_rate":
        return _tier_state_reason(check, evidence)
    return _cache_reason(check, evidence)


def _cache_reason(check: Check, evidence: Evidence) -> str:
    """Rules 1-5 of the module docstring, for hit rates, offload and backend load."""
    return (
        _ceiling(check, evidence)
        or capacity.explain(check, evidence.metrics)
        or _capacity_or_ttl(check, evidence)
        or _disagreement(evidence)
        or _errors_reason(evidence)
        or "no capacity, TTL or ceiling evidence: the caches were not warm yet; warm longer"
    )


def _ceiling(check: Check, evidence: Evidence) -> str | None:
    ceiling = evidence.metrics.get("ceiling.hit_rate")
    if ceiling is None or check.op not in (">", ">=") or check.unit != "ratio":
        return None
    first = evidence.tiers[0] if evidence.tiers else None
    bounded = check.metric.removeprefix("warm.") in ("hit_rate.effective", "backend.offload")
    if not (bounded or (check.tier is not None and check.tier == first)):
        return None
    if ceiling < check.threshold:
        return f"ceiling {ceiling:.2f} < {check.threshold:.2f}: unreachable with this sample"
    return None


_LOSSES = (("evictions", "evicted", "capacity"), ("expirations", "expired", "TTL"))


def _capacity_or_ttl(check: Check, evidence: Evidence) -> str | None:
    """The largest loss of the check's tier (or of any tier), in the check's phase.

    A verify check falls back on warm's losses: what was evicted or expired while warming
    (or during the settle, which no phase counts) is missing from verify as well.
    """
    tiers = [check.tier] if check.tier is not None else list(evidence.tiers)
    phases = ("warm",) if check.phase == "warm" else ("verify", "warm")
    return next(filter(None, (_largest_loss(tiers, p, evidence) for p in phases)), None)


def _largest_loss(tiers: Sequence[str], phase: str, evidence: Evidence) -> str | None:
    prefix = "warm." if phase == "warm" else ""
    worst: tuple[float, str, str] | None = None
    for tier in tiers:
        for kind, verb, cause in _LOSSES:
            count = evidence.metrics.get(f"{prefix}{tier}.{kind}") or 0.0
            if count > 0 and (worst is None or count > worst[0]):
                text = f"{tier_label(tier)} {verb} {count:,.0f} keys during {phase}"
                worst = (count, text, cause)
    if worst is None:
        return None
    return f"{worst[1]}: {worst[2]}"


def _disagreement(evidence: Evidence) -> str | None:
    gap = evidence.backend_gap
    if gap is None or gap <= evidence.tolerance:
        return None
    return (
        f"backend counter and tier counts disagree by {gap:.0%}: "
        "the backend serves other traffic or a tier is not observed"
    )


def _errors_reason(evidence: Evidence) -> str | None:
    rate = evidence.metrics.get("errors.rate") or 0.0
    if rate <= 0:
        return None
    kinds = sorted(evidence.error_kinds.items(), key=lambda kv: -kv[1])
    detail = f" (mostly {kinds[0][0]})" if kinds else ""
    return f"{rate:.1%} of requests failed{detail}: errors"


def _skipped_reason(check: Check, evidence: Evidence) -> str:
    reasons = evidence.skipped.get(check.phase, {})
    if not reasons:
        return f"{check.phase} skipped records: see the report's skip reasons"
    listed = ", ".join(f"{n:,} {r}" for r, n in sorted(reasons.items(), key=lambda kv: -kv[1]))
    return (
        f"{check.phase} did not send {sum(reasons.values()):,} records ({listed}): "
        "method = not an allowed method ([safety] allow_methods), invalid = not a request "
        "warmer may send as recorded; fix the sample or the settings"
    )


def _latency_reason(evidence: Evidence) -> str:
    errors = _errors_reason(evidence)
    if errors:
        return errors
    offload = evidence.metrics.get("backend.offload")
    if offload is not None and offload < 0.9:
        return f"the backend still served {1 - offload:.0%} of requests: caches not warm"
    return "slow with warm caches: the candidate itself is slow"


def _tier_state_reason(check: Check, evidence: Evidence) -> str:
    label = tier_label(check.tier or "")
    if check.tier is not None and check.tier in evidence.missing:
        return evidence.missing[check.tier]
    if check.metric.endswith(".evictions"):
        return f"{label} is too small for this traffic: capacity"
    if check.metric.endswith(".expirations"):
        return f"{label} entries expire before they are reused: TTL"
    if check.metric.endswith(".keys") and check.op in ("<", "<="):
        return f"{label} holds more keys than expected"
    if check.metric.endswith(".keys"):
        # Few keys at the end of a phase: the tier dropped them (TTL or capacity), or was
        # hardly filled. Which one the run's eviction and expiration counts say.
        return (
            _capacity_or_ttl(check, evidence)
            or f"{label} holds fewer keys than expected: is the tier in use and warmed?"
        )
    return f"{label} memory outside the expected range"
