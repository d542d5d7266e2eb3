"""Tests for one-line diagnoses of failing checks."""

from __future__ import annotations

import pytest

from warmer.checks.grammar import parse_check
from warmer.gate.diagnose import Evidence, diagnose
from warmer.gate.evaluate import evaluate

TIERS = ("l0", "l1", "l2", "nginx", "varnish")


@pytest.mark.parametrize(
    ("check", "metrics", "extra", "expected"),
    [
        (
            "hit_rate.l0 >= 0.85",
            {"hit_rate.l0": 0.6, "l0.evictions": 12400, "ceiling.hit_rate": 0.95},
            {},
            "L0 evicted 12,400 keys during verify: capacity",
        ),
        (
            "hit_rate.l0 >= 0.85",
            {"hit_rate.l0": 0.6, "ceiling.hit_rate": 0.71, "l0.evictions": 5},
            {},
            "ceiling 0.71 < 0.85: unreachable with this sample",
        ),
        (
            "hit_rate.l1 >= 0.85",
            {"hit_rate.l1": 0.6, "ceiling.hit_rate": 0.71},
            {"findings": {"rising": {"l1": True, "l0": False}}},
            "L1 still warming: the hit rate was still rising when warm ended; warm longer",
        ),
        (
            "hit_rate.l1 >= 0.85",  # the curve had flattened: "warm longer" would be a guess
            {"hit_rate.l1": 0.6, "ceiling.hit_rate": 0.71},
            {"findings": {"rising": {"l1": False}}},
            "cause unknown: no loss, restart, error or ceiling explains it and the warm curve "
            "had flattened",
        ),
        (
            "hit_rate.l1 >= 0.85",
            {"hit_rate.l1": 0.6, "l1.evictions": 900},
            {"findings": {"verify": {"restarts": {"l1": "its counters went back to zero"}}}},
            "L1 restarted during verify (its counters went back to zero): restart",
        ),
        (
            "hit_rate.nginx >= 0.85",
            {"hit_rate.nginx": 0.6, "nginx.evictions": 900},
            {"findings": {"verify": {"keys_held": {"nginx": 1200}}}},
            "nginx evicted 900 keys during verify (it held about 1,200 keys): capacity",
        ),
        (
            "hit_rate.nginx.recorded_pace >= 0.85",
            {"hit_rate.nginx.recorded_pace": 0.467, "hit_rate.nginx": 0.986},
            {},
            "at the recorded pace nginx's objects expire between their repeats (46.7% against "
            "98.6% at replay speed): TTL",
        ),
        (
            "backend.offload >= 0.9",
            {"backend.offload": 0.72, "varnish.stale_rate": 0.3},
            {"backend_gap": 0.26, "findings": {"verify": {"stale_share": {"varnish": 0.29}}}},
            "varnish served 29% of requests stale (grace / stale-while-revalidate) and "
            "refreshed them from the backend behind the hits, which explains the 26% gap "
            "between the backend counter and the tier counts: stale hits",
        ),
        (
            "backend.offload >= 0.9",
            {"backend.offload": 0.5},
            {"findings": {"verify": {"unsettled": "Prometheus had not scraped backend"}}},
            "Prometheus had not scraped backend: unsettled",
        ),
        (
            "latency.p99_ms < 200",
            {"latency.p99_ms": 1400, "service_time.p99_ms": 104},
            {},
            "p99 from the scheduled send 1,400 ms against 104 ms from the actual send: "
            "requests queued behind a target that could not keep up",
        ),
        (
            "hit_rate.effective >= 0.9",
            {"hit_rate.effective": 0.5, "l1.expirations": 300, "l2.evictions": 20},
            {},
            "L1 expired 300 keys during verify: TTL",
        ),
        (
            "warm.hit_rate.l1 >= 0.9",
            {"warm.hit_rate.l1": 0.5, "warm.l1.evictions": 7, "l1.evictions": 99},
            {},
            "L1 evicted 7 keys during warm: capacity",
        ),
        (
            "backend.offload >= 0.9",
            {"backend.offload": 0.5},
            {"backend_gap": 0.3},
            "backend counter and tier counts disagree by 30%: "
            "the backend serves other traffic or a tier is not observed",
        ),
        (
            "backend.offload >= 0.9",
            {"backend.offload": 0.5},
            {"backend_gap": 0.01},
            "cause unknown: no loss, restart, error or ceiling explains it and the warm curve "
            "had flattened",
        ),
        (
            "backend.rps_peak < 100",
            {"backend.rps_peak": 500, "errors.rate": 0.05},
            {"error_kinds": {"timeout": 3, "refused": 9}},
            "5.0% of requests failed (mostly refused): errors",
        ),
        (
            "errors.rate < 0.01",
            {"errors.rate": 0.02},
            {"error_kinds": {"5xx": 4}},
            "2.0% of requests failed (mostly 5xx): errors",
        ),
        (
            "latency.p99_ms < 10",
            {"latency.p99_ms": 50, "backend.offload": 0.4},
            {},
            "the backend still served 60% of requests: caches not warm",
        ),
        (
            "latency.p99_ms < 10",
            {"latency.p99_ms": 50, "backend.offload": 0.99},
            {},
            "slow with warm caches: the candidate itself is slow",
        ),
        (
            "l0.evictions == 0",
            {"l0.evictions": 3},
            {},
            "L0 is too small for this traffic: capacity",
        ),
        (
            "warm.requests_to_target < 100",
            {"warm.requests_to_target": 400, "warm.l0.evictions": 40},
            {},
            "warmed too slowly: L0 evicted 40 keys during warm: capacity",
        ),
        (
            "hit_rate.l2 >= 0.5",
            {},
            {"missing": {"l2": "cannot reach Redis at redis://127.0.0.1:1 (tiers.l2.url)"}},
            "no data: cannot reach Redis at redis://127.0.0.1:1 (tiers.l2.url)",
        ),
        (
            "hit_rate.effective >= 0.5",
            {},
            {"missing": {"l2": "L2 unreachable", "l1": "L1 saw no lookups"}},
            "no data: L2 unreachable; L1 saw no lookups",
        ),
        (
            "backend.requests < 5",
            {},
            {},
            "no data: no [backend] source is configured or it reported nothing",
        ),
        (
            "warm.seconds_to_target < 5",
            {},
            {},
            "no data: the rolling hit rate never reached its threshold during warm",
        ),
        ("l1.keys > 5", {}, {}, "no data: the L1 observer reported no l1.keys"),
    ],
)
def test_diagnosis(
    check: str, metrics: dict[str, float], extra: dict[str, object], expected: str
) -> None:
    outcomes = evaluate([parse_check(check, TIERS)], metrics)
    [outcome] = diagnose(outcomes, Evidence(metrics=metrics, tiers=TIERS, **extra))  # type: ignore[arg-type]
    assert not outcome.passed
    assert outcome.diagnosis == expected


def test_passing_checks_get_no_diagnosis() -> None:
    metrics = {"hit_rate.l0": 0.99, "l0.evictions": 5.0}
    outcomes = diagnose(evaluate([parse_check("hit_rate.l0 > 0.5")], metrics), Evidence(metrics))
    assert outcomes[0].diagnosis is None


def test_no_data_that_passes_still_says_why() -> None:
    outcomes = evaluate([parse_check("hit_rate.l0 > 0.5 on no_data pass")], {})
    [outcome] = diagnose(outcomes, Evidence({}, missing={"l0": "no Cache-Status entry"}))
    assert outcome.passed
    assert outcome.diagnosis == "no data: no Cache-Status entry"


@pytest.mark.parametrize(
    ("check", "missing", "expected"),
    [
        ("l2.keys >= 1000", {"l2": "L2 saw no lookups"}, "L2 saw no lookups"),
        (
            "l2.keys >= 1000",
            {},
            "L2 holds fewer keys than expected: is the tier in use and warmed?",
        ),
        ("l2.memory_bytes >= 1MB", {}, "L2 memory outside the expected range"),
        ("l1.expirations == 0", {}, "L1 entries expire before they are reused: TTL"),
    ],
)
def test_tier_state_diagnosis(check: str, missing: dict[str, str], expected: str) -> None:
    metrics = {"l2.keys": 0.0, "l2.memory_bytes": 10.0, "l1.expirations": 4.0}
    outcomes = evaluate([parse_check(check, TIERS)], metrics)
    [outcome] = diagnose(outcomes, Evidence(metrics, tiers=TIERS, missing=missing))
    assert outcome.diagnosis == expected


@pytest.mark.parametrize(
    ("check", "metrics", "expected"),
    [
        (  # a short TTL: L2 holds only what was stored within one TTL when verify ends
            "l2.keys >= 5000",
            {"l2.keys": 1344.0, "l2.expirations": 2100.0, "warm.l2.expirations": 9000.0},
            "L2 expired 2,100 keys during verify: TTL",
        ),
        (  # verify too short to see an expiry: warm's losses explain it
            "l2.keys >= 5000",
            {"l2.keys": 328.0, "l2.expirations": 0.0, "warm.l2.expirations": 9000.0},
            "L2 expired 9,000 keys during warm: TTL",
        ),
        (
            "hit_rate.l2 >= 0.1",
            {"hit_rate.l2": 0.0, "warm.l2.expirations": 9000.0, "warm.l1.evictions": 50.0},
            "L2 expired 9,000 keys during warm: TTL",
        ),
        (  # too many keys is not explained by losses
            "l2.keys <= 10",
            {"l2.keys": 1344.0, "l2.expirations": 2100.0},
            "L2 holds more keys than expected",
        ),
    ],
)
def test_losses_explain_few_keys_and_fall_back_on_warm(
    check: str, metrics: dict[str, float], expected: str
) -> None:
    outcomes = evaluate([parse_check(check, TIERS)], metrics)
    [outcome] = diagnose(outcomes, Evidence(metrics, tiers=TIERS))
    assert outcome.diagnosis == expected


def test_every_diagnosis_names_a_catalog_kind_with_advice() -> None:
    from warmer.gate.diagnose import BY_ID, CATALOG

    assert len(BY_ID) == len(CATALOG) and all(d.advice and d.title for d in CATALOG)
    metrics = {"hit_rate.l0": 0.6, "l0.evictions": 5.0}
    [outcome] = diagnose(evaluate([parse_check("hit_rate.l0 > 0.9", TIERS)], metrics),
                         Evidence(metrics, tiers=TIERS))  # fmt: skip
    assert outcome.diagnosis_id == "capacity" and outcome.diagnosis_id in BY_ID


def test_tier_configuration_and_drift_checks_are_diagnosed_as_such() -> None:
    tiers = ("l2",)
    checks = [
        parse_check(text, tiers)
        for text in (
            'l2.config.maxmemory_policy == "allkeys-lru"',
            "drift.l2.failures == 0",
            "l2.config.maxmemory_samples >= 5",
            "l2.ttl.p50_s >= 300",
        )
    ]
    metrics = {
        "l2.config.maxmemory_policy": "noeviction",
        "drift.l2.failures": 1.0,
        "l2.config.maxmemory_samples": None,
        "l2.ttl.p50_s": None,
    }
    found = {
        "tier_no_data": {"l2": {"maxmemory_samples": "CONFIG GET is renamed", "ttl": "empty"}},
        "drift": [{"tier": "l2", "aspect": "config.maxmemory", "baseline": "1 GB",
                   "candidate": "100 MB"}],
    }  # fmt: skip
    outcomes = diagnose(evaluate(checks, metrics), Evidence(metrics, tiers, findings=found))
    assert [o.diagnosis_id for o in outcomes] == ["tier-config", "drift", "no-data", "no-data"]
    assert outcomes[1].diagnosis == "differs from the baseline: l2 config.maxmemory 1 GB → 100 MB"
    assert outcomes[2].diagnosis == "no data: CONFIG GET is renamed"
    assert outcomes[3].diagnosis == "no data: empty"
