"""Tests for the check language parser."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from warmer.checks.grammar import format_value, parse_check, parse_checks, tokenize
from warmer.errors import ConfigError

TIERS = ("l0", "l1", "l2")


@pytest.mark.parametrize(
    ("text", "metric", "op", "threshold", "unit", "no_data", "phase", "tier"),
    [
        ("hit_rate.l0 >= 0.85", "hit_rate.l0", ">=", 0.85, "ratio", None, "verify", "l0"),
        ("hit_rate.l0>=85%", "hit_rate.l0", ">=", 0.85, "ratio", None, "verify", "l0"),
        (
            "hit_rate.effective > 90 %",
            "hit_rate.effective",
            ">",
            0.9,
            "ratio",
            None,
            "verify",
            None,
        ),
        ("latency.p99_ms <= 40", "latency.p99_ms", "<=", 40.0, "ms", None, "verify", None),
        ("latency.p99_ms <= 40ms", "latency.p99_ms", "<=", 40.0, "ms", None, "verify", None),
        ("latency.p95_ms < 0.25 s", "latency.p95_ms", "<", 250.0, "ms", None, "verify", None),
        ("backend.rps_peak < 300", "backend.rps_peak", "<", 300.0, "rps", None, "verify", None),
        ("backend.requests == 0", "backend.requests", "==", 0.0, "count", None, "verify", None),
        ("l1.evictions != 1_000", "l1.evictions", "!=", 1000.0, "count", None, "verify", "l1"),
        (
            "l2.memory_bytes < 64MB",
            "l2.memory_bytes",
            "<",
            64 * 2**20,
            "bytes",
            None,
            "verify",
            "l2",
        ),
        ("l2.memory_bytes < 1 GB", "l2.memory_bytes", "<", 2**30, "bytes", None, "verify", "l2"),
        ("l2.keys >= 10", "l2.keys", ">=", 10.0, "count", None, "verify", "l2"),
        ("errors.rate < .01", "errors.rate", "<", 0.01, "ratio", None, "verify", None),
        (
            "errors.rate < 1% on no_data pass",
            "errors.rate",
            "<",
            0.01,
            "ratio",
            "pass",
            "verify",
            None,
        ),
        (
            "backend.offload >= 0.95 on no_data fail",
            "backend.offload",
            ">=",
            0.95,
            "ratio",
            "fail",
            "verify",
            None,
        ),
        ("warm.hit_rate.l1 >= 0.5", "warm.hit_rate.l1", ">=", 0.5, "ratio", None, "warm", "l1"),
        ("warm.latency.p50_ms < 5", "warm.latency.p50_ms", "<", 5.0, "ms", None, "warm", None),
        (
            "warm.requests_to_target < 5000",
            "warm.requests_to_target",
            "<",
            5000.0,
            "count",
            None,
            "warm",
            None,
        ),
        (
            "warm.seconds_to_target <= 1500ms",
            "warm.seconds_to_target",
            "<=",
            1.5,
            "s",
            None,
            "warm",
            None,
        ),
        (
            "warm.seconds_to_target.l0 <= 2",
            "warm.seconds_to_target.l0",
            "<=",
            2.0,
            "s",
            None,
            "warm",
            "l0",
        ),
        ("ceiling.hit_rate >= 0.7", "ceiling.hit_rate", ">=", 0.7, "ratio", None, "warm", None),
        ("  hit_rate.l0 >= -0  ", "hit_rate.l0", ">=", 0.0, "ratio", None, "verify", "l0"),
    ],
)
def test_parse_valid(
    text: str,
    metric: str,
    op: str,
    threshold: float,
    unit: str,
    no_data: str | None,
    phase: str,
    tier: str | None,
) -> None:
    check = parse_check(text, TIERS)
    assert (check.metric, check.op, check.unit, check.on_no_data) == (metric, op, unit, no_data)
    assert check.threshold == pytest.approx(threshold)
    assert check.tier == tier
    assert check.text == text.strip()
    if metric != "ceiling.hit_rate":
        assert check.phase == phase


@pytest.mark.parametrize(
    ("text", "column", "words"),
    [
        ("hit_rate.l0 => 0.85", 12, "unexpected character '='"),
        ("hit_rate.l0 >= ", 15, "expected a number, found the end"),
        ("hit_rate.l0 0.85", 12, "expected an operator"),
        (">= 0.85", 0, "expected a metric name"),
        ("hit_rate.l9 >= 0.85", 0, "tier 'l9', which is not configured"),
        ("hit_rate.l0 >= 85", 15, "a ratio lies between 0 and 1"),
        ("hit_rate.l0 >= 1.5", 15, "a ratio lies between 0 and 1"),
        ("cache.size > 3", 0, "unknown metric 'cache.size'"),
        ("latency.p99_ms < 4 MB", 19, "unit 'MB' does not fit a ms"),
        ("backend.rps_peak < 3 %", 21, "unit '%' does not fit a rps"),
        ("l1.keys > 3 ms", 12, "unit 'ms' does not fit a count"),
        ("errors.rate < 0.1 when no_data pass", 18, "unexpected 'when'"),
        ("errors.rate < 0.1 on nodata pass", 21, "expected no_data"),
        ("errors.rate < 0.1 on no_data maybe", 29, "expected pass or fail"),
        ("errors.rate < 0.1 on no_data", 28, "expected pass or fail"),
        ("errors.rate < 0.1 on no_data pass pass", 34, "expected the end"),
        ("hit_rate..l0 > 0.1", 0, "empty part"),
        ("hit_rate.l0 >= 0.8 # c", 19, "unexpected character '#'"),
        ("warm.ceiling.hit_rate > 0.1", 0, "unknown metric"),
        ("warm.warm.hit_rate.l0 > 0.1", 0, "unknown metric"),
        ("", 0, "hit_rate.l0, found the end"),
        ("hit_rate.l0 >= 0.8 0.9", 19, "expected the end"),
    ],
)
def test_parse_error_points_at_column(text: str, column: int, words: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_check(text, TIERS)
    message = info.value.message
    assert words in message
    caret_line = message.splitlines()[-1]
    assert caret_line.index("^") - 4 == column


def test_tiers_not_validated_without_tier_list() -> None:
    assert parse_check("hit_rate.edge >= 0.5").tier == "edge"


def test_parse_checks_names_the_entry() -> None:
    with pytest.raises(ConfigError) as info:
        parse_checks(["errors.rate < 0.01", "nope > 1"], TIERS)
    assert info.value.path == "gate.checks[1]"
    assert str(info.value).startswith("gate.checks[1]: bad check")


def test_several_checks_per_metric() -> None:
    checks = parse_checks(["latency.p99_ms > 1", "latency.p99_ms < 40"], TIERS)
    assert [c.op for c in checks] == [">", "<"]


@pytest.mark.parametrize(
    ("op", "value", "expected"),
    [
        ("<", 1.0, False),
        ("<=", 1.0, True),
        (">", 1.0, False),
        (">=", 1.0, True),
        ("==", 1.0, True),
        ("!=", 1.0, False),
        ("<", 0.5, True),
        (">", 2.0, True),
    ],
)
def test_passes(op: str, value: float, expected: bool) -> None:
    assert parse_check(f"backend.requests {op} 1").passes(value) is expected


def test_tokenize_ends_with_end_token() -> None:
    kinds = [t.kind for t in tokenize("a.b<=3%")]
    assert kinds == ["word", "op", "number", "percent", "end"]


@pytest.mark.parametrize(
    ("value", "unit", "text"),
    [
        (0.853, "ratio", "0.853"),
        (41.25, "ms", "41.25 ms"),
        (12400.0, "count", "12,400"),
        (3 * 2**20, "bytes", "3.0 MB"),
        (12.0, "bytes", "12 B"),
        (2.5, "rps", "2.5/s"),
    ],
)
def test_format_value(value: float, unit: str, text: str) -> None:
    assert format_value(value, unit) == text  # type: ignore[arg-type]


@given(st.text(max_size=60))
def test_parser_only_raises_config_error(text: str) -> None:
    with contextlib.suppress(ConfigError):
        parse_check(text, TIERS)


@given(
    st.sampled_from(["hit_rate.l0", "latency.p99_ms", "warm.backend.rps_peak", "l1.keys"]),
    st.sampled_from(["<", "<=", ">", ">=", "==", "!="]),
    st.floats(min_value=0, max_value=1, allow_nan=False),
)
def test_round_trip_generated_checks(metric: str, op: str, value: float) -> None:
    check = parse_check(f"{metric} {op} {value!r}", TIERS)
    assert (check.metric, check.op) == (metric, op)
    assert check.threshold == pytest.approx(value)
