"""Header tiers computed from a replay results table: counts, rules per header, curves."""

from __future__ import annotations

import pyarrow as pa
import pytest

from warmer.model.results import RESULTS_ARROW_SCHEMA
from warmer.observe.headers import HeaderRule, header_counts, header_curves


def table(
    column: str, values: list[str | None], status: list[int | None] | None = None
) -> pa.Table:
    n = len(values)
    data = {
        "seq": list(range(n)),
        "sent_s": [float(i) for i in range(n)],
        "status": status if status is not None else [200] * n,
        column: values,
    }
    schema = pa.schema([RESULTS_ARROW_SCHEMA.field(name) for name in data])
    return pa.Table.from_pydict(data, schema=schema)


@pytest.mark.parametrize(
    ("rule", "values", "counts"),
    [
        # (hits, misses, not looked up, unknown)
        (
            HeaderRule("l1", "cache-status", cache="l1"),
            ["l1; fwd=uri-miss, l0; fwd=uri-miss", "l1; hit, l0; fwd=uri-miss", "l0; hit", None],
            (1, 1, 2, 0),
        ),
        (
            HeaderRule("l0", "cache-status", cache="l0"),
            ["l0; hit", "l0; fwd=bypass", "l0; stored", "l0; ttl=x"],
            (1, 0, 2, 1),  # bypass: not a lookup; malformed member: tier absent
        ),
        (
            HeaderRule("cdn", "x-cache"),
            ["HIT", "MISS, HIT", "HIT, MISS", "wat", None],
            (2, 1, 1, 1),
        ),
        (HeaderRule("shield", "x-cache", hop=0), ["MISS, HIT", "HIT", "HIT, MISS"], (2, 1, 0, 0)),
        (
            HeaderRule("nginx", "x-cache-status"),
            ["HIT", "STALE", "EXPIRED", "BYPASS", "MISS", "odd", None],
            (2, 2, 2, 1),
        ),
        (HeaderRule("any", "age"), ["0", "12", None, "soon"], (2, 1, 0, 1)),
    ],
)
def test_header_counts(rule: HeaderRule, values: list[str | None], counts: tuple[int, ...]) -> None:
    found = header_counts(table(rule.column, values), rule)
    assert (found.hits, found.misses, found.not_looked_up, found.unknown) == counts


def test_requests_without_response_are_not_lookups() -> None:
    rule = HeaderRule("any", "age")
    found = header_counts(table("age", [None, None, "3"], status=[None, 200, 200]), rule)
    assert (found.hits, found.misses, found.not_looked_up) == (1, 1, 1)


def test_malformed_members_are_counted_over_rows() -> None:
    rule = HeaderRule("l0", "cache-status", cache="l0")
    found = header_counts(table("cache_status", ["l0; hit, ,", "l0; hit, ,", "l0; hit"]), rule)
    assert found.malformed_members == 4 and found.hits == 3


def test_no_lookup_means_no_hit_rate() -> None:
    rule = HeaderRule("l0", "cache-status", cache="l0")
    assert header_counts(table("cache_status", [None, None]), rule).hit_rate is None


def test_curves_follow_warmup_and_include_effective() -> None:
    values = ["l0; fwd=uri-miss"] * 50 + ["l0; hit"] * 50
    rows = table("cache_status", values).take(list(reversed(range(100))))  # sorted back by seq
    (l0, effective) = header_curves(rows, [HeaderRule("l0", "cache-status", cache="l0")], window=10)
    assert l0.tier == "l0" and effective.tier == "effective"
    assert l0.points[0].hit_rate == 0.0 and l0.points[-1].hit_rate == 1.0
    assert l0.points[-1].requests == 100 and l0.points[-1].seconds == 99.0
    assert effective.points == l0.points
