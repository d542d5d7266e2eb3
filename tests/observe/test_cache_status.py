"""RFC 9211 Cache-Status parsing: the RFC's examples, malformed members, and never raising."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from warmer.observe.parsers import cache_status
from warmer.observe.parsers.cache_status import (
    REGISTERED_FWD,
    CacheEntry,
    CacheStatus,
    _parse_common,
    _parse_strict,
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
    # RFC 8941 §4.2.3.2: a repeated parameter key keeps its last value
    ("l0; hit=?0; hit", [E("l0", hit=True)], 0),
    ("l0; hit; hit=?0", [E("l0")], 0),
    ('l0; detail=a; detail="b c"', [E("l0", detail="b c")], 0),
    ("l0; ttl=1; ttl=2", [E("l0", ttl=2)], 0),
    # RFC 8941 §3.3.1: an Integer has at most 15 digits, an optional "-" and nothing else
    ("l0; ttl=999999999999999", [E("l0", ttl=999999999999999)], 0),
    ("l0; ttl=9999999999999999, l1", [E("l1")], 1),
    ("l0; ttl=-0", [E("l0", ttl=0)], 0),
    ("l0; ttl=+3, l1", [E("l1")], 1),
    ("l0; ttl=1_000, l1", [E("l1")], 1),  # Python's int() would take it
    ("l0; ttl=1.5, l1", [E("l1")], 1),  # a Decimal is not an Integer (§2.4)
    ("l0; fwd-status=304; ttl=-1", [E("l0", fwd_status=304, ttl=-1)], 0),
    # §2.2 fwd is a Token: unregistered values kept, a Boolean is a type error
    ("l0; fwd=weird-new", [E("l0", fwd="weird-new")], 0),
    ("l0; fwd=?1, l1", [E("l1")], 1),
    ("l0; fwd, l1", [E("l1")], 1),
    # an unknown key that starts like a known one is ignored, not mistyped
    ("l0; hitx=1; fwd-statusx; ttlx=soon; hit", [E("l0", hit=True)], 0),
    # RFC 8941 §3.3.3: strings escape only \" and \\; separators inside do not split
    ('"a\\"b; c, d"; hit', [E('a"b; c, d', hit=True)], 0),
    ('l0; key="x\\\\y"; detail="p;q"', [E("l0", key="x\\y", detail="p;q")], 0),
    ('l0; key="bad \\q", l1', [E("l1")], 1),  # \q is not an escape
    # whitespace: OWS around members, SP (never HTAB) after ";"
    ("l0\t; hit", [E("l0", hit=True)], 0),
    ("l0;\thit, l1", [E("l1")], 1),
    ("l0;   hit ;  stored", [E("l0", hit=True, stored=True)], 0),
    # a name is a Token or a String: no spaces, no non-ASCII letters
    ("l 0; hit, l1", [E("l1")], 1),
    ("caché; hit, l1", [E("l1")], 1),
    ("*; hit", [E("*", hit=True)], 0),
    ("edge:1/a; hit", [E("edge:1/a", hit=True)], 0),
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


_pieces = st.sampled_from(
    [*'l0 ;,=?-*.:/_\t1A9\\"', "hit", "fwd", "ttl", "stored", "key", "detail", "uri-miss", "é"]
)


@given(st.lists(_pieces, max_size=30).map("".join))
def test_common_path_never_disagrees_with_the_strict_one(text: str) -> None:
    common = _parse_common(text)
    assert common is None or common == _parse_strict(text)


@pytest.mark.parametrize("header", [h for h, _, _ in CASES if h.strip()])
def test_common_path_agrees_on_every_case(header: str) -> None:
    common = _parse_common(header)
    assert common is None or common == _parse_strict(header)


REALISTIC = [
    "l0; fwd=uri-miss, l1; hit; ttl=300, l2; fwd=miss; stored",
    'ExampleCDN; hit; ttl=1, "Origin Cache"; fwd=uri-miss; detail="x"',
    "ExampleCache; fwd=stale; fwd-status=304; collapsed=?0",
    'l2; fwd=miss; key="GET /a"; detail=private',
    "ReverseProxyCache; hit; ttl=5, ForwardProxyCache; fwd=uri-miss; collapsed; stored",
]
"""Headers the 2 µs budget is about: neither common path may leave them to the strict one."""


@pytest.mark.parametrize("header", REALISTIC)
def test_common_path_takes_realistic_headers(header: str) -> None:
    """The budgeted headers must not fall through to the slower strict path."""
    assert _parse_common(header) is not None


@pytest.mark.parametrize(
    "header",
    [
        'l2; key="a,b"',  # a comma inside a string: splitting would be wrong
        '"a;b"; hit',
        "l0; x-vendor=1",  # unknown parameters are the strict path's business
        "l0; hit,",
        "l0; ttl=soon",
    ],
)
def test_common_path_declines_what_it_cannot_split(header: str) -> None:
    assert _parse_common(header) is None


# --------------------------------------------------------------------------- compiled path

compiled_path = pytest.mark.skipif(
    cache_status._parse_compiled is cache_status._no_compiled_path,
    reason="the C common path is off (not built: no C compiler; or WARMER_NO_NATIVE)",
)

_string_chars = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=8)


def _sf_string(inner: str) -> str:
    return '"' + inner.replace("\\", "\\\\").replace('"', '\\"') + '"'


_tokens = st.from_regex(r"[A-Za-z*][!#$%&'*+\-.^_`|~0-9A-Za-z:/]{0,8}", fullmatch=True)
_space = st.sampled_from(["", " ", "  "])
_params = st.one_of(
    st.sampled_from(["hit", "stored", "collapsed"]).flatmap(
        lambda k: st.sampled_from([k, f"{k}=?1", f"{k}=?0", f"{k} ", f"{k}=?2"])
    ),
    st.sampled_from([*REGISTERED_FWD, "later-value"]).map(lambda v: f"fwd={v}"),
    st.integers(-(10**16), 10**16).flatmap(
        lambda n: st.sampled_from([f"ttl={n}", f"fwd-status={n}", f"ttl={n} "])
    ),
    _string_chars.map(lambda s: f"key={_sf_string(s)}"),
    st.one_of(_tokens, _string_chars.map(_sf_string)).map(lambda v: f"detail={v}"),
    st.sampled_from(["x-vendor=1", "", "ttl=", "fwd", "ttl =1", "hit=?1 "]),
)
_members = st.tuples(
    st.one_of(_tokens, _string_chars.map(_sf_string)),
    st.lists(st.tuples(_space, _params), max_size=5),
).map(lambda m: m[0] + "".join(f";{sp}{p}" for sp, p in m[1]))
_headers = st.tuples(st.lists(_members, min_size=1, max_size=4), _space).map(
    lambda h: ("," + h[1]).join(h[0])
)


@compiled_path
@given(_headers)
def test_compiled_path_agrees_with_the_python_paths(header: str) -> None:
    compiled = cache_status._parse_compiled(header)
    common = _parse_common(header)
    if compiled is not None:
        assert compiled == common == _parse_strict(header)
        assert all(type(e) is CacheEntry for e in compiled.entries)
        assert type(compiled) is CacheStatus


@compiled_path
@given(st.one_of(st.lists(_pieces, max_size=30).map("".join), st.text(max_size=200)))
def test_compiled_path_declines_rather_than_disagrees(text: str) -> None:
    compiled = cache_status._parse_compiled(text)
    assert compiled is None or compiled == _parse_strict(text)


@compiled_path
@pytest.mark.parametrize("header", REALISTIC)
def test_compiled_path_takes_realistic_headers(header: str) -> None:
    """The budgeted headers must not fall through to the Python paths."""
    compiled = cache_status._parse_compiled(header)
    assert compiled is not None
    assert compiled == _parse_strict(header)


@compiled_path
def test_compiled_path_unescapes_strings_and_keeps_entries_usable() -> None:
    parsed = cache_status._parse_compiled('"a \\"b\\" \\\\c"; hit; key="k\\\\"; ttl=-7')
    assert parsed is not None
    (entry,) = parsed.entries
    assert entry.cache == 'a "b" \\c'
    assert entry.key == "k\\"
    assert entry.ttl == -7
    assert entry.outcome == "hit"
    assert parsed.find('a "b" \\c') is entry
