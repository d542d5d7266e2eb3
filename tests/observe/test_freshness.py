"""Freshness lifetimes per RFC 9111, on the RFC's own examples and the edge cases it names."""

from __future__ import annotations

import pytest

from warmer.observe.freshness import (
    freshness_left,
    freshness_lifetime,
    parse_cache_control,
    parse_http_date,
)

# RFC 9110 §5.6.7: the three date formats a recipient must accept, one instant.
DATES = [
    "Sun, 06 Nov 1994 08:49:37 GMT",  # IMF-fixdate
    "Sunday, 06-Nov-94 08:49:37 GMT",  # obsolete RFC 850 format
    "Sun Nov  6 08:49:37 1994",  # ANSI C's asctime() format
]


@pytest.mark.parametrize("text", DATES)
def test_http_dates_in_every_format_rfc_9110_allows(text: str) -> None:
    assert parse_http_date(text) == 784111777.0


@pytest.mark.parametrize(
    ("cache_control", "expires", "date", "lifetime"),
    [
        # §4.2.1: s-maxage first in a shared cache, then max-age, then Expires - Date.
        ("max-age=3600", None, None, 3600.0),
        ("public, s-maxage=10, max-age=60", None, None, 10.0),
        ('max-age="5"', None, None, 5.0),  # §5.2: the quoted-string form is accepted
        (None, "Thu, 01 Dec 1994 16:00:00 GMT", "Thu, 01 Dec 1994 15:00:00 GMT", 3600.0),
        ("max-age=60", "Thu, 01 Dec 1994 16:00:00 GMT", "Thu, 01 Dec 1994 15:00:00 GMT", 60.0),
        # §5.3: an invalid Expires, especially "0", is a time in the past.
        (None, "0", "Thu, 01 Dec 1994 15:00:00 GMT", 0.0),
        (None, "Thu, 01 Dec 1994 14:00:00 GMT", "Thu, 01 Dec 1994 15:00:00 GMT", 0.0),
        # §4.2.1: a directive with two different values may be taken as stale.
        ("max-age=60, max-age=30", None, None, 0.0),
        ("max-age=soon", None, None, 0.0),
        # §1.2.2: a delta-seconds too large to represent is 2^31.
        ("max-age=99999999999999999999", None, None, float(2**31)),
        ("no-cache, max-age=60", None, None, 0.0),  # §5.2.2.4: revalidate every time
        ("no-store, max-age=60", None, None, 0.0),  # §5.2.2.5: not stored at all
        ("private, max-age=60", None, None, 0.0),  # §5.2.2.7: not for a shared cache
        ('no-cache="set-cookie, x-a", max-age=60', None, None, 0.0),  # commas in quotes
        ("public", None, None, None),  # no explicit lifetime: no heuristic guess
        (None, None, None, None),
        (None, "Thu, 01 Dec 1994 16:00:00 GMT", None, None),  # no Date to subtract
    ],
)
def test_freshness_lifetime(
    cache_control: str | None, expires: str | None, date: str | None, lifetime: float | None
) -> None:
    assert freshness_lifetime(cache_control, expires, date) == lifetime


def test_freshness_left_subtracts_the_age_the_response_arrived_with() -> None:
    # §4.2.3 with Age as received: a response 50 s into a 60 s lifetime has 10 s left;
    # one served from a cache past its lifetime (grace) has less than nothing.
    assert freshness_left("max-age=60", age="50") == 10.0
    assert freshness_left("max-age=30", age="45") == -15.0
    assert freshness_left("max-age=30", age="garbage") == 30.0
    assert freshness_left(None, age="3") is None


def test_cache_control_tells_storable_and_stale_while_revalidate() -> None:
    assert (
        parse_cache_control("max-age=1, stale-while-revalidate=30").stale_while_revalidate_s == 30
    )
    assert not parse_cache_control("private").storable
    assert parse_cache_control("PUBLIC, MAX-AGE=7").lifetime_s == 7.0  # names are case-insensitive
