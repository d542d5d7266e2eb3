"""String and boolean values in the check language: parsing, errors at the column, judging."""

from __future__ import annotations

import pytest

from warmer.checks import parse_check
from warmer.errors import ConfigError
from warmer.gate.evaluate import evaluate

TIERS = ("l1", "l2")


@pytest.mark.parametrize(
    ("text", "threshold", "unit"),
    [
        ('l2.config.maxmemory_policy == "allkeys-lru"', "allkeys-lru", "text"),
        ("l2.config.maxmemory_policy != 'noeviction'", "noeviction", "text"),
        ("l2.config.cluster_enabled == false", False, "bool"),
        ("l1.config.evictions == true", True, "bool"),
        ("l2.config.maxmemory >= 4GB", 4 * 1024**3, "bytes"),
        ("l2.config.maxmemory >= 1TB", 1024**4, "bytes"),
        ("l2.memory_per_key_bytes <= 512B", 512, "bytes"),
        ("l2.ttl.p50_s >= 300", 300, "s"),
        ("l2.ttl.p90_s <= 2000ms", 2, "s"),
        ("l2.ttl.no_expiry_rate < 0.01", 0.01, "ratio"),
        ("drift.failures == 0", 0, "count"),
        ("drift.l2.failures == 0", 0, "count"),
    ],
)
def test_values_parse_in_the_metric_unit(text: str, threshold: object, unit: str) -> None:
    check = parse_check(text, TIERS)
    assert check.threshold == threshold
    assert type(check.threshold) is type(threshold) or unit not in ("text", "bool")
    assert check.unit == unit


@pytest.mark.parametrize(
    ("text", "column", "words"),
    [
        ('l2.config.maxmemory_policy >= "allkeys-lru"', 27, "is a string: >= does not"),
        ("l2.config.cluster_enabled < true", 26, "is a boolean: < does not"),
        ("l2.config.maxmemory_policy == allkeys-lru", 30, "compares with a quoted string"),
        ("l2.config.maxmemory_policy == 3", 30, "compares with a quoted string"),
        ('l2.config.cluster_enabled == "false"', 29, "compares with true or false"),
        ('l2.config.maxmemory == "4GB"', 23, "is a number (bytes)"),
        ("l2.ttl.p50_s >= true", 16, "is a number (s)"),
        ('l2.config.maxmemory_policy == "allkeys-lru', 30, "unexpected character"),
    ],
)
def test_type_errors_point_at_the_column(text: str, column: int, words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_check(text, TIERS)
    message = caught.value.message
    assert words in message
    caret_line = message.splitlines()[-1]
    assert caret_line.index("^") - 4 == column, message


def test_string_and_boolean_checks_judge_by_equality() -> None:
    checks = [
        parse_check('l2.config.maxmemory_policy == "allkeys-lru"', TIERS),
        parse_check('l2.config.maxmemory_policy != "noeviction"', TIERS),
        parse_check("l2.config.cluster_enabled == false", TIERS),
        parse_check("l2.config.maxmemory >= 4GB", TIERS),
    ]
    metrics = {
        "l2.config.maxmemory_policy": "noeviction",
        "l2.config.cluster_enabled": False,
        "l2.config.maxmemory": 1024.0**3,
    }
    outcomes = evaluate(checks, metrics)
    assert [o.status for o in outcomes] == ["fail", "fail", "pass", "fail"]
    assert outcomes[0].value == "noeviction"
    assert outcomes[2].value is False


def test_a_value_of_another_kind_never_passes() -> None:
    check = parse_check('l2.config.maxmemory_policy != "noeviction"', TIERS)
    assert not check.passes(0.0)  # a number where a string was expected
    assert not check.passes(None)


def test_a_missing_setting_is_no_data_not_false() -> None:
    check = parse_check("l2.config.cluster_enabled == false", TIERS)
    (outcome,) = evaluate([check], {"l2.config.cluster_enabled": None})
    assert outcome.status == "no_data" and not outcome.passed
