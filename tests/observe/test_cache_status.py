"""RFC 9211 Cache-Status parsing: the RFC's examples, malformed members, and never raising."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from warmer.observe.parsers.cache_status import (
    CacheEntry,
    _parse_plain,
    _parse_quoted,
    parse_cache_status,
)

E = CacheEntry

CASES = [
    # RFC 9211 §3 (Examples)
    ("ExampleCache; hit", [E("ExampleCache", hit=True)], 0),
    ("ExampleCache; fwd=uri-miss", [E("ExampleCache", fwd="uri-miss")], 0),
    ("ExampleCache; fwd=uri-miss; stored", [E("ExampleCache", fwd="uri-miss", stored=True)], 0),
    (
        "ExampleCache; fwd=vary-miss; fwd-status=304",
        [E("ExampleCache", fwd="vary-miss", fwd_status=304)],
        0,
    ),
    (
        "ExampleCache; fwd=stale; fwd-status=304",
        [E("ExampleCache", fwd="stale", fwd_status=304)],
        0,
    ),
    ("ExampleCache; hit; ttl=-412", [E("ExampleCache", hit=True, ttl=-412)], 0),
    (
        "ExampleCache; fwd=request; detail=private",
        [E("ExampleCache", fwd="request", detail="private")],
        0,
    ),
    (
        'OriginCache; hit; ttl=1100, "CDN Company Here"; hit; ttl=545',
        [E("OriginCache", hit=True, ttl=1100), E("CDN Company Here", hit=True, ttl=545)],
        0,
    ),
    (
        'OriginCache; fwd=uri-miss; stored; collapsed, "CDN Company Here"; fwd=uri-miss',
        [
            E("OriginCache", fwd="uri-miss", stored=True, collapsed=True),
            E("CDN Company Here", fwd="uri-miss"),
        ],
        0,
    ),
    # RFC 9211 §2: three caches, the one nearest the origin first
    (
        "ReverseProxyCache; hit, ForwardProxyCache; fwd=uri-miss; collapsed; stored, "
        "BrowserCache; fwd=uri-miss",
        [
            E("ReverseProxyCache", hit=True),
            E("ForwardProxyCache", fwd="uri-miss", collapsed=True, stored=True),
            E("BrowserCache", fwd="uri-miss"),
        ],
        0,
    ),
    # §2.7 key is a String; §2.8 detail a String or Token; quoted commas do not split
    ('l2; fwd=miss; key="GET /a,b \\"q\\""', [E("l2", fwd="miss", key='GET /a,b "q"')], 0),
    ('l2; fwd=miss; detail="too big"', [E("l2", fwd="miss", detail="too big")], 0),
    # RFC 8941 §3.1.2: ?0 is false; unknown parameters are ignored
    ("l0; hit=?0; fwd=miss", [E("l0", fwd="miss")], 0),
    ("l0; hit; x-vendor=1.5; blob=:aGk=:", [E("l0", hit=True)], 0),
    # whitespace around members (OWS)
    ("  l0; hit ,l1;fwd=uri-miss  ", [E("l0", hit=True), E("l1", fwd="uri-miss")], 0),
    # malformed members are skipped and counted, the rest kept
    ("l0; ttl=soon, l1; hit", [E("l1", hit=True)], 1),  # §2.4 ttl must be an Integer
    ("l0; hit=yes, l1; hit", [E("l1", hit=True)], 1),  # §2.1 hit must be a Boolean
    ("l0; key=token, l1; hit", [E("l1", hit=True)], 1),  # §2.7 key must be a String
    ("l0; hit, , l1; hit", [E("l0", hit=True), E("l1", hit=True)], 1),
    ("l0; hit,", [E("l0", hit=True)], 1),
    ('"unterminated; hit', [], 1),
    ("l0; HIT", [], 1),  # keys are lowercase (RFC 8941 §3.1.2)
    ("1cache; hit", [], 1),  # a token starts with ALPHA or "*"
    ("", [], 0),
    ("   ", [], 0),
]


@pytest.mark.parametrize(("header", "entries", "malformed"), CASES)
def test_parse_cache_status(header: str, entries: list[CacheEntry], malformed: int) -> None:
    parsed = parse_cache_status(header)
    assert list(parsed.entries) == entries
    assert parsed.malformed == malformed


@pytest.mark.parametrize(
    ("header", "outcome"),
    [
        ("c; hit", "hit"),
        ("c; fwd=uri-miss", "miss"),
        ("c; fwd=vary-miss", "miss"),
        ("c; fwd=stale", "miss"),
        ("c; fwd=partial", "miss"),
        ("c; fwd=request", "miss"),
        ("c; fwd=bypass", "bypass"),  # §2.2: the cache was configured not to handle it
        ("c; fwd=method", "bypass"),  # §2.2: the method cannot be served from cache
        ("c; stored", "unknown"),
    ],
)
def test_entry_outcome(header: str, outcome: str) -> None:
    assert parse_cache_status(header).entries[0].outcome == outcome


def test_find_picks_the_named_cache() -> None:
    parsed = parse_cache_status("l2; fwd=uri-miss, l1; hit")
    assert parsed.find("l1") == E("l1", hit=True)
    assert parsed.find("l0") is None


@given(st.text(max_size=200))
def test_never_raises_and_counts_every_member(text: str) -> None:
    parsed = parse_cache_status(text)
    assert parsed.malformed >= 0
    if text.strip():
        assert len(parsed.entries) + parsed.malformed >= 1


_names = st.from_regex(r"[a-z][a-z0-9_\-.]{0,10}", fullmatch=True)


@given(
    st.lists(st.tuples(_names, st.booleans(), st.integers(-(10**6), 10**6)), min_size=1, max_size=5)
)
def test_generated_valid_headers_round_trip(members: list[tuple[str, bool, int]]) -> None:
    header = ", ".join(
        f"{name}; {'hit' if hit else 'fwd=uri-miss'}; ttl={ttl}" for name, hit, ttl in members
    )
    parsed = parse_cache_status(header)
    assert parsed.malformed == 0
    assert [(e.cache, e.hit, e.ttl) for e in parsed.entries] == members


@given(st.lists(st.sampled_from(["l0; hit", "l1; fwd=miss", "garbage=", '"x', "l2;;"]), max_size=6))
def test_garbage_members_are_counted_not_fatal(members: list[str]) -> None:
    parsed = parse_cache_status(", ".join(members))
    good = sum(1 for m in members if m in ("l0; hit", "l1; fwd=miss"))
    assert len(parsed.entries) <= good
    assert len(parsed.entries) + parsed.malformed >= (1 if members else 0)


_plain_text = st.text(
    alphabet=st.sampled_from(list("l0l1 ;,=?-*.:/_tfwdhiksoru\t1A9")), max_size=60
)


@given(_plain_text)
def test_fast_path_agrees_with_the_general_parser(text: str) -> None:
    assert _parse_plain(text) == _parse_quoted(text)


@pytest.mark.parametrize("header", [h for h, _, _ in CASES if '"' not in h and h.strip()])
def test_fast_path_agrees_on_every_case(header: str) -> None:
    assert _parse_plain(header) == _parse_quoted(header)
