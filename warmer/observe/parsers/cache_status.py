"""Parse the RFC 9211 ``Cache-Status`` response header into one entry per cache.

Grammar (RFC 9211 §2 over RFC 8941 Structured Fields)::

    Cache-Status = sf-list                        ; RFC 9211 §2
    list-member  = cache-name parameters          ; first member: cache nearest the origin
    cache-name   = sf-token / sf-string
    parameters   = *( OWS? ";" *SP param-key [ "=" bare-item ] )   ; bare key = ?1
    param-key    = ( lcalpha / "*" ) *( lcalpha / DIGIT / "_" / "-" / "." / "*" )
    bare-item    = sf-integer / sf-decimal / sf-string / sf-token / sf-boolean / sf-binary

Known parameters and their types (RFC 9211 §2.1–§2.8)::

    hit        Boolean   §2.1  served from this cache without forwarding
    fwd        Token     §2.2  bypass | method | uri-miss | vary-miss | miss | request
                               | stale | partial (unknown tokens are kept as they are)
    fwd-status Integer   §2.3  status the next hop returned
    ttl        Integer   §2.4  freshness left, seconds (negative: stale)
    stored     Boolean   §2.5  the response was stored
    collapsed  Boolean   §2.6  the request was collapsed with another one
    key        String    §2.7  the cache key (implementation-specific)
    detail     Token / String  §2.8  free-form detail

Unknown parameters are ignored (§2: "Caches ... MUST ignore parameters they do not
recognise" is the spirit of extensibility in §5). A member that is not valid structured
field syntax, or whose known parameter has the wrong type, is skipped and counted in
``CacheStatus.malformed`` — never an exception. Results are memoised per header string,
because a replay sees the same few dozen header values millions of times.

A value the memo has not seen takes the common path first: split on ``,`` and ``;``,
registered parameters looked up in a table, no regex. It declines on anything unusual — an
unknown parameter, a separator inside a quoted string, a malformed member — and the strict
path, one regex per member with each known parameter's type written into it, decides.
The common path exists twice: compiled (``_cache_status_c.c``, built at install when a C
compiler is present; ≈ 0.5 µs for a 3-member header against issue 4's 2 µs budget) and in
Python (≈ 3 µs; what runs without the compiled module). Property tests hold all of them to
the strict path.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Callable
from typing import Final, NamedTuple

HIT: Final = "hit"
MISS: Final = "miss"
BYPASS: Final = "bypass"
UNKNOWN: Final = "unknown"

# fwd values meaning the cache was not consulted for this request (§2.2): no lookup
# reached it, so they count neither as hit nor as miss in a conditional hit rate.
NOT_A_LOOKUP: Final = frozenset({"bypass", "method"})

_TOKEN = r"[A-Za-z*][!#$%&'*+\-.^_`|~0-9A-Za-z:/]*"
_STRING = r'"(?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\["\\])*"'
_INTEGER = r"-?[0-9]{1,15}"


class CacheEntry(NamedTuple):
    """One cache that handled the request (one list member)."""

    cache: str
    """Cache name, unquoted."""
    hit: bool = False
    fwd: str | None = None
    fwd_status: int | None = None
    ttl: int | None = None
    stored: bool = False
    collapsed: bool = False
    key: str | None = None
    detail: str | None = None

    @property
    def outcome(self) -> str:
        """``hit``, ``miss``, ``bypass`` (not a lookup) or ``unknown`` (neither hit nor fwd)."""
        if self.hit:
            return HIT
        if self.fwd is None:
            return UNKNOWN
        return BYPASS if self.fwd in NOT_A_LOOKUP else MISS


class CacheStatus(NamedTuple):
    """A parsed header: entries nearest the origin first, and members skipped as malformed."""

    entries: tuple[CacheEntry, ...]
    malformed: int = 0

    def find(self, cache: str) -> CacheEntry | None:
        """The entry of cache ``cache`` (the last one, nearest the user, if it repeats)."""
        found = None
        for entry in self.entries:
            if entry.cache == cache:
                found = entry
        return found


EMPTY = CacheStatus(())


@functools.lru_cache(maxsize=8192)
def parse_cache_status(value: str) -> CacheStatus:
    """Parse one ``Cache-Status`` field value; never raises, bad members are counted."""
    if not value or value.isspace():
        return EMPTY
    return _parse_compiled(value) or _parse_common(value) or _parse_strict(value)


def _no_compiled_path(value: str) -> None:
    return None


_parse_compiled: Callable[[str], CacheStatus | None] = _no_compiled_path
"""The common path in C (``_cache_status_c.c``) when the build compiled it: it returns what
:func:`_parse_common` returns, or None on anything it leaves to the Python paths."""


# --------------------------------------------------------------------------- common path

_new = tuple.__new__  # builds a NamedTuple from a list without its keyword-parsing __new__

# Index of each field in a CacheEntry tuple.
_HIT, _FWD, _FWD_STATUS, _TTL, _STORED, _COLLAPSED, _KEY, _DETAIL = range(1, 9)

REGISTERED_FWD: Final = (
    "bypass", "method", "uri-miss", "vary-miss", "miss", "request", "stale", "partial",
)  # fmt: skip
"""The ``fwd`` values RFC 9211 §2.2 defines."""


def _fixed_parameters() -> dict[str, tuple[int, object]]:
    """Every spelling of a value-less or enumerated parameter → (field index, value).

    Keys are the text between two ``;`` as a header usually has it: bare or after one space.
    """
    table: dict[str, tuple[int, object]] = {}
    for index, key in ((_HIT, "hit"), (_STORED, "stored"), (_COLLAPSED, "collapsed")):
        table[key] = table[key + "=?1"] = (index, True)
        table[key + "=?0"] = (index, False)
    for fwd in REGISTERED_FWD:
        table["fwd=" + fwd] = (_FWD, fwd)
    return table | {" " + text: field for text, field in table.items()}


_FIXED = _fixed_parameters()
_fixed = _FIXED.get
_TOKEN_RE = re.compile(_TOKEN)
_STRING_RE = re.compile(_STRING)
_NAME_RE = re.compile(f"{_TOKEN}|{_STRING}")


def _parse_common(value: str) -> CacheStatus | None:
    """Parse a value made of common members, or None to leave it to :func:`_parse_strict`.

    Splitting on separators is only right when no quoted string holds one: a piece cut
    inside a string never validates (its quotes are unbalanced), so the value is declined.
    """
    entries: list[CacheEntry] = []
    for member in value.split(","):
        params = member.split(";")
        name = params[0].strip(" \t")
        if not (name.isalnum() and name.isascii() and name[0].isalpha()):
            odd = _odd_name(name)
            if odd is None:
                return None
            name = odd
        fields: list[object] = [name, False, None, None, None, False, False, None, None]
        del params[0]  # cheaper than iterating a params[1:] copy
        for param in params:
            known = _fixed(param)
            if known is None:
                # most headers carry a ttl: read its usual spelling here, without a call
                if param.startswith(" ttl="):
                    digits = param[5:]
                    if digits.isdigit() and digits.isascii() and len(digits) <= 15:
                        fields[_TTL] = int(digits)
                        continue
                known = _typed_parameter(param)
                if known is None:
                    return None
            index, fields[index] = known
        entries.append(_new(CacheEntry, fields))
    return _new(CacheStatus, ((*entries,), 0))


def _odd_name(text: str) -> str | None:
    """A cache name that is not plain ASCII letters and digits: a token or a quoted string."""
    if not _NAME_RE.fullmatch(text):
        return None
    return _unescape(text[1:-1]) if text[0] == '"' else text


def _typed_parameter(param: str) -> tuple[int, object] | None:
    """(field index, value) of a parameter the fixed table lacks; None if not a common one."""
    key, eq, val = param.partition("=")
    key = key.lstrip(" ")
    val = val.rstrip(" \t")
    if key == "ttl" or key == "fwd-status":
        number = _integer(val)
        return None if number is None else (_TTL if key == "ttl" else _FWD_STATUS, number)
    if (key == "fwd" or key == "detail") and _TOKEN_RE.fullmatch(val):
        return (_FWD if key == "fwd" else _DETAIL), val
    if (key == "key" or key == "detail") and _STRING_RE.fullmatch(val):
        return (_KEY if key == "key" else _DETAIL), _unescape(val[1:-1])
    # a boolean with unusual spacing ("hit\t"); None for unknown keys and bad types
    return _fixed(key.rstrip(" \t") + eq + val)


def _integer(text: str) -> int | None:
    """An RFC 8941 §3.3.1 Integer (at most 15 digits), without ``int``'s leniency."""
    digits = text[1:] if text[:1] == "-" else text
    # int() would also take "1_000", " 7" and non-ASCII digits
    if digits.isdigit() and digits.isascii() and len(digits) <= 15:
        return int(text)
    return None


# --------------------------------------------------------------------------- strict path

_KEY_CHAR = r"[a-z0-9_\-.*]"
_VALUE = rf"\?[01]|-?[0-9]{{1,12}}\.[0-9]{{1,3}}|{_INTEGER}|{_TOKEN}|{_STRING}|:[A-Za-z0-9+/=]*:"
_KNOWN_KEY = r"(?:hit|fwd|fwd-status|ttl|stored|collapsed|key|detail)"
# One alternative per known parameter with its type (RFC 9211 §2.1-§2.8), so a wrong type
# fails the member; booleans capture their whole text so a repeated key's last value wins
# (RFC 8941 §4.2.3.2). An unknown key takes any bare item and captures nothing.
_PARAM = (
    r"[ \t]*;[ ]*(?:"
    r"(hit(?:=\?[01])?)"
    rf"|fwd=({_TOKEN})"
    r"|(stored(?:=\?[01])?)"
    rf"|ttl=({_INTEGER})"
    r"|(collapsed(?:=\?[01])?)"
    rf"|fwd-status=({_INTEGER})"
    rf"|key=({_STRING})"
    rf"|detail=({_TOKEN}|{_STRING})"
    rf"|(?!{_KNOWN_KEY}(?!{_KEY_CHAR}))[a-z*]{_KEY_CHAR}*(?:=(?:{_VALUE}))?"
    r")"
)
_MEMBER_RE = re.compile(
    rf'[ \t]*(?:({_TOKEN})|"((?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\["\\])*)")'
    rf"(?:{_PARAM})*[ \t]*(?:,|\Z)"
)
_BOOLEAN = {"": False, "hit": True, "stored": True, "collapsed": True}
_BOOLEAN |= {f"{k}=?1": True for k in ("hit", "stored", "collapsed")}
_BOOLEAN |= {f"{k}=?0": False for k in ("hit", "stored", "collapsed")}


def _parse_strict(value: str) -> CacheStatus:
    """Parse member by member; a member that does not match is skipped and counted."""
    entries: list[CacheEntry] = []
    malformed = 0
    pos, end = 0, len(value)
    while pos <= end:
        match = _MEMBER_RE.match(value, pos)
        if match is None:
            malformed += 1
            pos = _next_member(value, pos)
        else:
            entries.append(_entry(match.groups("")))
            pos = match.end()
        if pos >= end and not value.endswith(",", 0, pos):
            break
    return CacheStatus(tuple(entries), malformed)


def _entry(groups: tuple[str, ...]) -> CacheEntry:
    """The entry of one matched member ("" is a group that did not take part)."""
    token, string, hit, fwd, stored, ttl, collapsed, fwd_status, key, detail = groups
    return _new(
        CacheEntry,
        (
            token or _unescape(string),
            _BOOLEAN[hit],
            fwd or None,
            int(fwd_status) if fwd_status else None,
            int(ttl) if ttl else None,
            _BOOLEAN[stored],
            _BOOLEAN[collapsed],
            _unescape(key[1:-1]) if key else None,
            (_unescape(detail[1:-1]) if detail[0] == '"' else detail) if detail else None,
        ),
    )


def _next_member(text: str, pos: int) -> int:
    """Index just after the next comma outside a quoted string (or past the end)."""
    quoted = escaped = False
    for i in range(pos, len(text)):
        char = text[i]
        if escaped:
            escaped = False
        elif char == "\\" and quoted:
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char == "," and not quoted:
            return i + 1
    return len(text) + 1


def _unescape(inner: str) -> str:
    return inner.replace('\\"', '"').replace("\\\\", "\\") if "\\" in inner else inner


def _load_compiled() -> None:
    global _parse_compiled
    if os.environ.get("WARMER_NO_NATIVE"):  # the pure-Python paths, for comparison
        return
    try:
        from warmer.observe.parsers import _cache_status_c
    except ImportError:  # installed without a C compiler: the Python paths do it all
        return
    _cache_status_c.configure(CacheEntry, CacheStatus)
    _parse_compiled = _cache_status_c.parse


_load_compiled()
