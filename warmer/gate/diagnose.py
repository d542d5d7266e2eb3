"""One-line diagnoses for failing checks, read from the evidence a run gathered.

Every diagnosis is a kind from :data:`CATALOG`: a stable id, a title and one line of
advice (a troubleshooting page is generated from the catalog). The rules, in the order
they are tried for a hit-rate, offload or backend-load check:

1. ``ceiling``: the verify part's warmable ceiling is below the threshold;
2. ``restart``: the check's tier (or any tier) restarted during the phase or warm;
3. ``stale-hits``: stale hits explain why the backend saw more than the tiers' misses;
4. ``ttl-recorded-pace``: a ``.recorded_pace`` check — objects expire between repeats;
5. for ``hit_rate.<tier>``, what the tier's size and TTL explain when the predict step
   knows them (``warmer.gate.capacity``, which also explains ``predicted.*`` and
   ``warm.converged.*`` checks): ``ttl`` (TTL-limited), ``capacity`` (too small),
   ``not-warmed``;
6. ``capacity`` / ``ttl``: a tier evicted or expired keys during verify (else warm),
   whichever is larger, naming the tier that lost most;
7. ``unsettled``: the backend's Prometheus figures could not settle;
8. ``counters-disagree``: the backend counter and the tiers' counts disagree;
9. ``errors``: requests failed;
10. ``still-warming``: the tier's warm-phase curve was still rising when warm ended;
11. ``unknown``: nothing in the evidence explains it — said so rather than guessed.

A ``no_data`` outcome names the observer that did not report. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from warmer.checks.grammar import Check
from warmer.checks.vocabulary import MetricValue
from warmer.gate import capacity
from warmer.gate.evaluate import CheckOutcome


@dataclass(frozen=True)
class Diagnosis:
    """One kind of diagnosis: what the troubleshooting page lists."""

    id: str
    title: str
    advice: str


CATALOG: tuple[Diagnosis, ...] = (
    Diagnosis("ceiling", "The sample cannot reach the threshold",
              "gate on a longer or less downsampled sample, or lower the threshold to the "
              "warmable ceiling the report shows"),
    Diagnosis("restart", "A cache tier restarted during the run",
              "find why the cache process restarted (OOM kill, deploy, crash loop): no "
              "warmup survives a restart; gate again once it stays up"),
    Diagnosis("stale-hits", "Stale hits refresh behind the tier's back",
              "grace or stale-while-revalidate serve expired objects and refetch them: raise "
              "max-age (or s-maxage) so fewer objects expire, or shorten the grace period"),
    Diagnosis("ttl-recorded-pace", "At the recorded pace objects expire between repeats",
              "raise max-age / s-maxage above the traffic's reuse gaps; replay with "
              "pacing = \"recorded\" to watch it happen"),
    Diagnosis("capacity", "The tier evicts keys it still needs",
              "give the tier more room (maxmemory, keys_zone / max_size, -s malloc, L0 size) "
              "or store fewer or smaller objects"),
    Diagnosis("ttl", "Entries expire before they are reused",
              "raise the TTL (max-age, s-maxage, EX) or warm closer to promotion"),
    Diagnosis("unsettled", "Prometheus had not scraped the phase's end in time",
              "scrape the candidate more often (scrape_interval) or make the phases longer "
              "than a few scrape intervals"),
    Diagnosis("counters-disagree", "The backend counter and the tiers' counts disagree",
              "mark tiers that serve other traffic shared = true, observe every tier in the "
              "lookup path, or count only this candidate's backend requests"),
    Diagnosis("errors", "Requests failed",
              "fix the failing requests first: hit rates mean little while they fail"),
    Diagnosis("not-warmed", "A warm tier of this size and TTL would reach the threshold",
              "the simulated tier reaches it, the measured one did not: warm longer or with "
              "more of the sample (gate.warm_fraction, --warm-until)"),
    Diagnosis("still-warming", "The tier was still warming when warm ended",
              "warm longer: raise gate.warm_fraction or gate with a longer sample"),
    Diagnosis("unknown", "The evidence does not explain it",
              "nothing warmer measured (losses, restarts, errors, a rising curve) explains "
              "the shortfall: look at the tier's own metrics and the report's curves"),
    Diagnosis("latency-errors", "Latency includes failing requests",
              "fix the failing requests first"),
    Diagnosis("latency-queueing", "Requests waited for a free connection",
              "the candidate could not keep up with the schedule: add capacity, or replay "
              "with more concurrency if the client was the bottleneck (compare service_time)"),
    Diagnosis("latency-cold", "Latency is high because caches are cold",
              "warm longer or fix what keeps the hit rate low"),
    Diagnosis("latency-candidate", "The candidate is slow with warm caches",
              "profile the candidate: its caches are warm"),
    Diagnosis("tier-config", "The tier is configured unlike the check asks",
              "configure the candidate's tier as production's (maxmemory, maxmemory-policy, "
              "the TTLs the code sets); `warmer drift` shows both side by side"),
    Diagnosis("drift", "The candidate's tiers differ from the baseline's",
              "the report's drift table names each difference and its tolerance: align the "
              "candidate with production, or widen [drift] tolerances on purpose"),
    Diagnosis("tier-state", "The tier's own figures are out of range",
              "compare the tier's size and TTL with what this traffic needs"),
    Diagnosis("skipped", "The phase did not send much of its sample",
              "allow the recorded methods ([safety] allow_methods) or import a sample of "
              "requests warmer can send; the report lists the skip reasons"),
    Diagnosis("not-evaluated", "The run stopped before the check's phase",
              "fix what stopped the run (the report's error and steps say what and when), "
              "then gate again"),
    Diagnosis("stale-reads", "The cache serves what the origin no longer has",
              "find the write path that does not invalidate (or update) the cached copy; the "
              "report lists example keys with both answers"),
    Diagnosis("invalidation", "A write did not show through the cache in time",
              "check that writes invalidate every tier (L0 included) and how long the "
              "invalidation takes to arrive"),
    Diagnosis("compare-worse", "The candidate is measurably worse than the baseline",
              "the report's comparison table shows which quantity, by how much and with what "
              "interval; the candidate's own tier figures say why"),
    Diagnosis("no-data", "The metric had no data",
              "check the source named: reachable, configured, and used by the candidate"),
)  # fmt: skip
"""Every diagnosis warmer gives, by stable id."""

BY_ID: Mapping[str, Diagnosis] = {d.id: d for d in CATALOG}


@dataclass(frozen=True)
class Evidence:
    """What a run knows beyond the checked values."""

    metrics: Mapping[str, MetricValue]
    """Every computed metric (verify names and ``warm.`` names); strings and booleans for
    ``text`` and ``bool`` metrics (tier configuration)."""
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
    findings: Mapping[str, Any] = field(default_factory=dict)
    """JSON-ready facts beyond the metrics (``warmer.gate.findings``): per phase, tier
    restarts, keys held, stale share of requests, unsettled backend; per tier, whether its
    warm curve was still rising."""

    def number(self, name: str) -> float | None:
        """Metric ``name`` when it is a number, else None (no data, or a string)."""
        value = self.metrics.get(name)
        return None if isinstance(value, str | bool) or value is None else float(value)

    def numbers(self) -> dict[str, float | None]:
        """The numeric metrics only, for the capacity model."""
        return {k: v for k, v in self.metrics.items() if not isinstance(v, str | bool)}

    def phase_facts(self, phase: str, kind: str) -> Mapping[str, Any]:
        """``findings[phase][kind]`` (tier → value), empty when absent."""
        value = self.findings.get(phase, {}).get(kind, {})
        return value if isinstance(value, Mapping) else {}


def diagnose(outcomes: Sequence[CheckOutcome], evidence: Evidence) -> list[CheckOutcome]:
    """The outcomes with a diagnosis attached to every one that did not pass."""
    return [
        outcome if outcome.passed and outcome.status == "pass" else _attach(outcome, evidence)
        for outcome in outcomes
    ]


def _attach(outcome: CheckOutcome, evidence: Evidence) -> CheckOutcome:
    if outcome.status == "no_data":
        return outcome.with_diagnosis(no_data_reason(outcome.check, evidence), "no-data")
    kind, text = explain(outcome.check, evidence)
    return outcome.with_diagnosis(text, kind)


def tier_label(tier: str) -> str:
    """``l0`` → ``L0``; other names as configured."""
    return tier.upper() if len(tier) <= 3 else tier


STEP_ROOTS = frozenset({"stale_reads", "invalidation", "compare"})
"""Metric roots owned by a probe step; the step gives its own no-data reason."""


def source_of(check: Check) -> str:
    """The evidence source a check's metric depends on."""
    root = check.metric.removeprefix("warm.").split(".")[0]
    if root in STEP_ROOTS:
        return root
    if check.tier is not None:
        return check.tier
    return {
        "backend": "backend",
        "latency": "results",
        "service_time": "results",
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
    reason = evidence.findings.get("tier_no_data", {}).get(check.tier or "", {})
    if check.tier is not None and _is_tier_config(check.metric) and isinstance(reason, Mapping):
        setting = check.metric.removeprefix(f"{check.tier}.").split(".")[-1]
        key = {"p50_s": "ttl", "p90_s": "ttl", "no_expiry_rate": "ttl"}.get(setting, setting)
        why = reason.get(key) or reason.get(setting.removesuffix("_bytes"))
        if why:
            return f"no data: {why}"
    if "_to_target" in check.metric:
        return "no data: the rolling hit rate never reached its threshold during warm"
    if check.metric.endswith(".recorded_pace"):
        return "no data: the results carry no recorded times or no freshness headers"
    if source == "tiers" and evidence.missing:
        return "no data: " + "; ".join(evidence.missing.values())
    if source == "backend":
        return "no data: no [backend] source is configured or it reported nothing"
    if check.tier is not None:
        return f"no data: the {tier_label(check.tier)} observer reported no {check.metric}"
    return f"no data: nothing reported {check.metric}"


def explain_failure(check: Check, value: float | None, evidence: Evidence) -> str:
    """One line on why ``check`` failed (the observed value is shown next to it elsewhere)."""
    return explain(check, evidence)[1]


def explain(check: Check, evidence: Evidence) -> tuple[str, str]:
    """(catalog id, one line) of why ``check`` failed."""
    root = check.metric.removeprefix("warm.").split(".")[0]
    if root in STEP_ROOTS:
        return _probe_reason(root, check, evidence)
    if root in capacity.OWN_ROOTS:  # predicted.*, warm.converged.*: warmer/gate/capacity.py
        return _capacity_model(check, evidence) or ("unknown", "see the report's predictions")
    if root == "skipped":
        return _skipped_reason(check, evidence)
    if root in ("latency", "service_time"):
        return _latency_reason(evidence)
    if root == "errors":
        return "errors", _errors_reason(evidence) or "requests failed: errors"
    if root.endswith("_to_target"):
        kind, text = _cache_reason(check, evidence)
        return kind, f"warmed too slowly: {text}"
    if root == "drift":
        return _drift_reason(check, evidence)
    if check.tier is not None and _is_tier_config(check.metric):
        return "tier-config", (
            f"{tier_label(check.tier)} is configured otherwise (read from the server before "
            "warm and after it: the report's tier configuration table)"
        )
    if check.tier is not None and root != "hit_rate":
        return _tier_state_reason(check, evidence)
    return _cache_reason(check, evidence)


Reason = tuple[str, str]

TIER_CONFIG_PARTS = (".config.", ".ttl.", ".memory_per_key_bytes")
"""Metric name parts the tiers step contributes."""


def _is_tier_config(metric: str) -> bool:
    return any(part in metric or metric.endswith(part) for part in TIER_CONFIG_PARTS)


def _drift_reason(check: Check, evidence: Evidence) -> Reason:
    rows = evidence.findings.get("drift", [])
    drifted = [
        f"{r['tier']} {r['aspect']} {r['baseline']} → {r['candidate']}"
        for r in rows
        if isinstance(r, Mapping) and (check.tier is None or r.get("tier") == check.tier)
    ]
    if not drifted:
        return "drift", "the candidate differs from the baseline beyond [drift] tolerances"
    shown = "; ".join(drifted[:3]) + (f" (+{len(drifted) - 3} more)" if len(drifted) > 3 else "")
    return "drift", f"differs from the baseline: {shown}"


def _probe_reason(root: str, check: Check, evidence: Evidence) -> Reason:
    """The stale-read, invalidation and comparison steps' checks."""
    metrics = evidence.metrics
    if root == "stale_reads":
        stale, checked = metrics.get("stale_reads.stale"), metrics.get("stale_reads.checked")
        return "stale-reads", (
            f"{stale or 0:,.0f} of {checked or 0:,.0f} hit keys answered differently through "
            "the cache than around it: stale reads"
        )
    if root == "invalidation":
        after = metrics.get("invalidation.visible_after_s")
        seen = "never showed" if after is None else f"showed after {after:.2f}s"
        return "invalidation", f"the probe's write {seen} through the candidate: invalidation"
    regressions = metrics.get("compare.regressions")
    return "compare-worse", (
        f"worse than the baseline on {regressions or 0:,.0f} compared quantities "
        "(the report's comparison table has the intervals)"
    )


def _cache_reason(check: Check, evidence: Evidence) -> Reason:
    """Rules 1-11 of the module docstring, for hit rates, offload and backend load."""
    for rule in (
        _ceiling,
        _restart,
        _stale_hits,
        _recorded_pace,
        _capacity_model,
        _capacity_or_ttl,
        _unsettled,
        _disagreement,
        _errors,
        _still_warming,
    ):
        found = rule(check, evidence)
        if found is not None:
            return found
    return "unknown", (
        "cause unknown: no loss, restart, error or ceiling explains it and the warm curve "
        "had flattened"
    )


def _ceiling(check: Check, evidence: Evidence) -> Reason | None:
    ceiling = evidence.number("ceiling.hit_rate")
    if ceiling is None or not above_ceiling(check, ceiling, evidence.tiers):
        return None
    return (
        "ceiling",
        f"ceiling {ceiling:.2f} < {check.limit:.2f}: unreachable with this sample",
    )


def above_ceiling(check: Check, ceiling: float, tiers: Sequence[str]) -> bool:
    """Whether ``check`` asks for more than the sample's warmable ``ceiling`` allows.

    The ceiling bounds the effective hit rate, the backend offload and the first tier's
    hit rate (every request reaches it); deeper tiers see only the misses above them.
    """
    if check.op not in (">", ">=") or check.unit != "ratio":
        return False
    first = tiers[0] if tiers else None
    bounded = check.metric.removeprefix("warm.") in ("hit_rate.effective", "backend.offload")
    if not (bounded or (check.tier is not None and check.tier == first)):
        return False
    return ceiling < check.limit


def _phases(check: Check) -> tuple[str, ...]:
    return ("warm",) if check.phase == "warm" else ("verify", "warm")


def _tiers(check: Check, evidence: Evidence) -> list[str]:
    return [check.tier] if check.tier is not None else list(evidence.tiers)


def _restart(check: Check, evidence: Evidence) -> Reason | None:
    for phase in _phases(check):
        restarts = evidence.phase_facts(phase, "restarts")
        for tier in _tiers(check, evidence):
            if tier in restarts:
                text = f"{tier_label(tier)} restarted during {phase} ({restarts[tier]})"
                return "restart", f"{text}: restart"
    return None


def _stale_hits(check: Check, evidence: Evidence) -> Reason | None:
    """Backend requests beyond the tiers' misses, as many as the stale hits refreshed."""
    if not check.metric.removeprefix("warm.").startswith("backend."):
        return None
    gap = evidence.backend_gap
    phase = "warm" if check.phase == "warm" else "verify"
    shares = evidence.phase_facts(phase, "stale_share")
    if gap is None or gap <= evidence.tolerance or not shares:
        return None
    tier, share = max(shares.items(), key=lambda item: float(item[1]))
    if float(share) + evidence.tolerance < gap:
        return None
    return "stale-hits", (
        f"{tier_label(tier)} served {float(share):.0%} of requests stale (grace / "
        f"stale-while-revalidate) and refreshed them from the backend behind the hits, which "
        f"explains the {gap:.0%} gap between the backend counter and the tier counts: stale hits"
    )


def _recorded_pace(check: Check, evidence: Evidence) -> Reason | None:
    if not check.metric.endswith(".recorded_pace") or check.tier is None:
        return None
    prefix = "warm." if check.phase == "warm" else ""
    replayed = evidence.number(f"{prefix}hit_rate.{check.tier}")
    slow = evidence.number(check.metric)
    if replayed is None or slow is None or slow >= replayed:
        return None
    return "ttl-recorded-pace", (
        f"at the recorded pace {tier_label(check.tier)}'s objects expire between their "
        f"repeats ({slow:.1%} against {replayed:.1%} at replay speed): TTL"
    )


_LOSSES = (("evictions", "evicted", "capacity"), ("expirations", "expired", "ttl"))


def _capacity_or_ttl(check: Check, evidence: Evidence) -> Reason | None:
    """The largest loss of the check's tier (or of any tier), in the check's phase.

    A verify check falls back on warm's losses: what was evicted or expired while warming
    (or during the settle, which no phase counts) is missing from verify as well.
    """
    tiers = _tiers(check, evidence)
    found = (_largest_loss(tiers, p, evidence) for p in _phases(check))
    return next(filter(None, found), None)


def _largest_loss(tiers: Sequence[str], phase: str, evidence: Evidence) -> Reason | None:
    prefix = "warm." if phase == "warm" else ""
    worst: tuple[float, str, str] | None = None
    held = evidence.phase_facts(phase, "keys_held")
    for tier in tiers:
        for kind, verb, cause in _LOSSES:
            count = evidence.number(f"{prefix}{tier}.{kind}") or 0.0
            if count > 0 and (worst is None or count > worst[0]):
                text = f"{tier_label(tier)} {verb} {count:,.0f} keys during {phase}"
                if cause == "capacity" and tier in held:
                    text += f" (it held about {int(held[tier]):,} keys)"
                worst = (count, text, cause)
    if worst is None:
        return None
    return worst[2], f"{worst[1]}: {'TTL' if worst[2] == 'ttl' else worst[2]}"


def _unsettled(check: Check, evidence: Evidence) -> Reason | None:
    phase = "warm" if check.phase == "warm" else "verify"
    message = evidence.findings.get(phase, {}).get("unsettled")
    if not message:
        return None
    return "unsettled", f"{message}: unsettled"


def _disagreement(check: Check, evidence: Evidence) -> Reason | None:
    gap = evidence.backend_gap
    if gap is None or gap <= evidence.tolerance:
        return None
    return "counters-disagree", (
        f"backend counter and tier counts disagree by {gap:.0%}: "
        "the backend serves other traffic or a tier is not observed"
    )


def _errors(check: Check, evidence: Evidence) -> Reason | None:
    text = _errors_reason(evidence)
    return None if text is None else ("errors", text)


def _errors_reason(evidence: Evidence) -> str | None:
    rate = evidence.number("errors.rate") or 0.0
    if rate <= 0:
        return None
    kinds = sorted(evidence.error_kinds.items(), key=lambda kv: -kv[1])
    detail = f" (mostly {kinds[0][0]})" if kinds else ""
    return f"{rate:.1%} of requests failed{detail}: errors"


def _skipped_reason(check: Check, evidence: Evidence) -> Reason:
    reasons = evidence.skipped.get(check.phase, {})
    if not reasons:
        return "skipped", f"{check.phase} skipped records: see the report's skip reasons"
    listed = ", ".join(f"{n:,} {r}" for r, n in sorted(reasons.items(), key=lambda kv: -kv[1]))
    return "skipped", (
        f"{check.phase} did not send {sum(reasons.values()):,} records ({listed}); every "
        "reason but method (not an allowed method, skipped by design) means a record warmer "
        "could not send as recorded: fix the sample or the settings"
    )


def _capacity_model(check: Check, evidence: Evidence) -> Reason | None:
    """What the tier's known size and TTL explain (``warmer.gate.capacity``), with its id."""
    text = capacity.explain(check, evidence.numbers())
    if text is None:
        return None
    for prefix, kind in _MODEL_KINDS:
        if text.startswith(prefix):
            return kind, text
    return "still-warming", text  # the convergence diagnoses: the tier had not settled


_MODEL_KINDS = (("TTL-limited", "ttl"), ("too small", "capacity"), ("not warmed", "not-warmed"))


def _still_warming(check: Check, evidence: Evidence) -> Reason | None:
    rising = evidence.findings.get("rising", {})
    tiers = [t for t in _tiers(check, evidence) if rising.get(t)]
    if check.tier is None and rising.get("effective"):
        tiers = tiers or ["effective"]
    if not tiers:
        return None
    names = ", ".join(tier_label(t) for t in tiers)
    return "still-warming", (
        f"{names} still warming: the hit rate was still rising when warm ended; warm longer"
    )


def _latency_reason(evidence: Evidence) -> Reason:
    errors = _errors_reason(evidence)
    if errors:
        return "latency-errors", errors
    queued = evidence.number("latency.p99_ms")
    service = evidence.number("service_time.p99_ms")
    if queued is not None and service is not None and queued > 2 * service + 10:
        return "latency-queueing", (
            f"p99 from the scheduled send {queued:,.0f} ms against {service:,.0f} ms from the "
            "actual send: requests queued behind a target that could not keep up"
        )
    offload = evidence.number("backend.offload")
    if offload is not None and offload < 0.9:
        return (
            "latency-cold",
            f"the backend still served {1 - offload:.0%} of requests: caches not warm",
        )
    return "latency-candidate", "slow with warm caches: the candidate itself is slow"


def _tier_state_reason(check: Check, evidence: Evidence) -> Reason:
    label = tier_label(check.tier or "")
    if check.tier is not None and check.tier in evidence.missing:
        return "no-data", evidence.missing[check.tier]
    if check.metric.endswith(".evictions"):
        return "capacity", f"{label} is too small for this traffic: capacity"
    if check.metric.endswith(".expirations"):
        return "ttl", f"{label} entries expire before they are reused: TTL"
    if check.metric.endswith(".stale_rate"):
        return "stale-hits", f"{label} served expired objects (grace / stale-while-revalidate): TTL"
    if check.metric.endswith(".keys") and check.op in ("<", "<="):
        return "tier-state", f"{label} holds more keys than expected"
    if check.metric.endswith(".keys"):
        # Few keys at the end of a phase: the tier dropped them (TTL or capacity), or was
        # hardly filled. Which one the run's eviction and expiration counts say.
        return (
            _restart(check, evidence)
            or _capacity_or_ttl(check, evidence)
            or (
                "tier-state",
                f"{label} holds fewer keys than expected: is the tier in use and warmed?",
            )
        )
    return "tier-state", f"{label} memory outside the expected range"
