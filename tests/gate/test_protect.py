"""Backend protection: the AIMD controller on scripted readings, and the live window."""

from __future__ import annotations

import pyarrow as pa
import pytest

from warmer.checks.grammar import parse_checks
from warmer.config import config_from_tree
from warmer.gate.live import LiveWindow, tier_rules
from warmer.gate.protect import BETA, Protector, Reading
from warmer.replay.pacing import AdaptivePacer
from warmer.replay.results import make_row, rows_to_batch


class Script:
    """Readings of ``backend.rps`` handed out in order, one per decision, all fresh."""

    def __init__(self, values: list[float]) -> None:
        self.values = values
        self.now = 0.0

    def __call__(self, metric: str) -> Reading | None:
        assert metric == "backend.rps"
        return Reading(self.values.pop(0), self.now) if self.values else None


def _protector(
    values: list[float], achieved: float | None = None, cap: float | None = None
) -> tuple[Protector, Script]:
    script = Script(values)
    pacer = AdaptivePacer(100.0, max_rate=cap)
    limits = parse_checks(["backend.rps <= 800"], vocabulary="protect")
    return Protector(limits, pacer, script, lambda: achieved, interval_s=0.5), script


def _decide(protector: Protector, script: Script, times: int) -> list[float]:
    rates = []
    for _ in range(times):
        script.now += 0.5
        protector.update(script.now)
        rates.append(round(protector.pacer.rate, 2))
    return rates


def test_slow_start_then_additive_increase_then_hold_then_cut() -> None:
    protector, script = _protector([100.0, 300.0, 500.0, 780.0, 900.0])
    rates = _decide(protector, script, 5)
    # u = 0.125: x1.5; u = 0.375: x1.5; u = 0.625: +3 %; u = 0.975: hold; u = 1.125: cut
    assert rates[:4] == [150.0, 225.0, 231.75, 231.75]
    assert rates[4] == pytest.approx(231.75 * min(BETA, 0.9 / 1.125), abs=0.01)
    assert protector.decreases == 1
    assert [p.rate for p in protector.rates] == rates


def test_one_cut_per_fresh_reading_and_none_without_readings() -> None:
    protector, _ = _protector([900.0])
    protector.update(0.5)
    assert protector.decreases == 1
    stale = Reading(900.0, 0.5)
    protector.read = lambda metric: stale  # the same reading again: no second cut
    protector.update(1.0)
    protector.update(1.5)
    assert protector.decreases == 1
    protector.read = lambda metric: None
    before = protector.pacer.rate
    protector.update(2.0)
    assert protector.pacer.rate == before  # no reading, no decision


def test_decisions_happen_once_per_interval() -> None:
    protector, _ = _protector([100.0, 100.0, 100.0])
    protector.update(0.5)
    protector.update(0.6)
    protector.update(0.9)
    assert len(protector.rates) == 1


def test_the_rate_follows_what_the_target_achieves_and_the_configured_cap() -> None:
    behind, script = _protector([100.0, 900.0], achieved=60.0)
    _decide(behind, script, 1)
    assert behind.pacer.rate == 100.0  # far below the limit but not keeping up: hold
    _decide(behind, script, 1)
    assert behind.pacer.rate == pytest.approx(60.0 * BETA)  # a cut bites from what was sent
    capped, script = _protector([10.0] * 5, cap=200.0)
    assert _decide(capped, script, 5)[-1] == 200.0  # pacing rate: never above its rate


def _batch(rows: list[tuple[float, int | None, str | None, float | None]]) -> pa.RecordBatch:
    """(sent_s, status, cache_status, latency_ms) rows as a results batch."""
    return rows_to_batch(
        [
            make_row(seq=i, phase="warm", method="GET", target="/", key="k", sent_s=sent,
                     latency_ms=latency, status=status, response_bytes=10,
                     error=None if status else "timeout", cache_status=cache)
            for i, (sent, status, cache, latency) in enumerate(rows)
        ]
    )  # fmt: skip


def test_live_window_reads_hit_rates_errors_and_latency_as_batches_arrive() -> None:
    config = config_from_tree(
        {"tiers": {"l0": {"source": "cache-status", "cache": "l0"},
                   "l1": {"source": "redis", "url": "redis://h"}}}
    ).tiers  # fmt: skip
    window = LiveWindow(tier_rules(config), window=4)
    assert window.hit_rate("l0") is None and window.error_rate() is None
    window(_batch([(0.1, 200, "l0; hit", 1.0), (0.2, 200, "l1; hit, l0; fwd=uri-miss", 2.0)]))
    assert window.hit_rate("l0") is None  # 2 lookups: fewer than the window
    window(
        _batch(
            [
                (0.6, 200, "l0; hit", 3.0),
                (0.7, 503, "l1; fwd=uri-miss, l0; fwd=uri-miss", 4.0),
                (0.8, None, None, None),
            ]
        )
    )
    assert window.hit_rate("l0") == pytest.approx(2 / 4)
    assert window.hit_rate("l1") is None  # l1 is read from the Cache-Status member "l1": 2
    assert window.hit_rate("effective") == pytest.approx(3 / 4)
    assert window.error_rate(0.5) == pytest.approx(2 / 3)  # the 503 and the timeout
    assert window.latency_ms(50, 0.5) == pytest.approx(3.5)
    assert window.send_rate(0.5) == pytest.approx(3 / 0.6)
    assert window.latest == pytest.approx(0.8)
