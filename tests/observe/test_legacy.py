"""X-Cache chains, nginx X-Cache-Status values and Age (RFC 9111 §5.1)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from warmer.observe.parsers.legacy import (
    age_outcome,
    parse_age,
    parse_x_cache,
    parse_x_cache_status,
)


@pytest.mark.parametrize(
    ("header", "hops"),
    [
        ("HIT", ("hit",)),
        ("MISS", ("miss",)),
        ("hit", ("hit",)),
        ("HIT from cache-1.example.com", ("hit",)),  # Squid
        ("MISS from cache-1.example.com", ("miss",)),
        ("TCP_MEM_HIT from proxy", ("hit",)),
        ("TCP_REFRESH_MISS", ("miss",)),
        ("Hit from cloudfront", ("hit",)),  # CloudFront
        ("RefreshHit from cloudfront", ("hit",)),
        ("Miss from cloudfront", ("miss",)),
        ("MISS, HIT", ("miss", "hit")),  # Fastly shield, then edge
        ("HIT, HIT, MISS", ("hit", "hit", "miss")),
        ("PASS", ("bypass",)),  # Varnish pass
        ("Error from cloudfront", ("unknown",)),
        ("¿qué?", ("unknown",)),
        ("", ()),
    ],
)
def test_x_cache(header: str, hops: tuple[str, ...]) -> None:
    assert parse_x_cache(header) == hops


@pytest.mark.parametrize(
    ("value", "outcome"),
    [
        # nginx $upstream_cache_status
        ("HIT", "hit"),
        ("STALE", "hit"),
        ("UPDATING", "hit"),
        ("MISS", "miss"),
        ("EXPIRED", "miss"),
        ("REVALIDATED", "miss"),
        ("BYPASS", "bypass"),
        (" hit ", "hit"),
        ("SOMETIMES", "unknown"),
        ("", "unknown"),
    ],
)
def test_x_cache_status(value: str, outcome: str) -> None:
    assert parse_x_cache_status(value) == outcome


@pytest.mark.parametrize(
    ("value", "seconds", "outcome"),
    [
        ("0", 0, "hit"),  # RFC 9111 §5.1: present at all means served from a cache
        ("120", 120, "hit"),
        (" 7 ", 7, "hit"),
        ("99999999999", 2**31, "hit"),  # RFC 9111 §1.2.2: overflow → 2^31
        (None, None, "miss"),
        ("", None, "miss"),
        ("-1", None, "unknown"),
        ("1.5", None, "unknown"),
        ("١٢", None, "unknown"),  # non-ASCII digits are not delta-seconds
    ],
)
def test_age(value: str | None, seconds: int | None, outcome: str) -> None:
    assert parse_age(value) == seconds
    assert age_outcome(value) == outcome


@given(st.text(max_size=100))
def test_legacy_parsers_never_raise(text: str) -> None:
    hops = parse_x_cache(text)
    assert all(h in ("hit", "miss", "bypass", "unknown") for h in hops)
    assert parse_x_cache_status(text) in ("hit", "miss", "bypass", "unknown")
    assert age_outcome(text) in ("hit", "miss", "unknown")
