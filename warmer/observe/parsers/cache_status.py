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
"""

from __future__ import annotations

import functools
import re
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
_TOKEN_RE = re.compile(_TOKEN)
_INTEGER_RE = re.compile(r"-?[0-9]{1,15}")
_BOOLEAN = {"?1": True, "?0": False}


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
    if '"' not in value:
        return _parse_plain(value)
    return _parse_quoted(value)


def _parse_plain(value: str) -> CacheStatus:
    """Fast path for values without strings: commas and semicolons are then always separators.

    Accepts exactly what :func:`_parse_quoted` accepts on such values (a property test
    holds the two together).
    """
    entries: list[CacheEntry] = []
    malformed = 0
    for member in value.split(","):
        entry = _plain_member(member)
        if entry is None:
            malformed += 1
        else:
            entries.append(entry)
    return CacheStatus(tuple(entries), malformed)


def _plain_member(member: str) -> CacheEntry | None:
    name, *params = member.split(";")
    name = name.strip(" \t")
    if name not in _VALID_NAMES:
        if not _TOKEN_RE.fullmatch(name):
            return None
        if len(_VALID_NAMES) < 1024:  # cache names repeat; garbage must not grow this
            _VALID_NAMES.add(name)
    if not params:
        return CacheEntry(name)
    values: list[object] = [name, *_DEFAULTS]
    for param in params:
        key, eq, val = param.lstrip(" ").rstrip(" \t").partition("=")
        index = _INDEX.get(key)
        if index is None and not (_KEY_RE.fullmatch(key) and (not eq or _VALUE_RE.fullmatch(val))):
            return None
        converted = _convert(key, val if eq else "?1")
        if converted is _BAD:
            return None
        if index is not None:
            values[index] = converted
    return tuple.__new__(CacheEntry, values)


_VALID_NAMES: set[str] = set()


def _parse_quoted(value: str) -> CacheStatus:
    """General path: one regex per member, strings may hold commas and semicolons."""
    entries: list[CacheEntry] = []
    malformed = 0
    pos, end = 0, len(value)
    while pos <= end:
        match = _MEMBER_RE.match(value, pos)
        entry = _entry(match) if match else None
        if entry is None or match is None:
            malformed += 1
            pos = _next_member(value, pos)
        else:
            entries.append(entry)
            pos = match.end()
        if pos >= end and not value.endswith(",", 0, pos):
            break
    return CacheStatus(tuple(entries), malformed)


_VALUE = (
    rf"\?[01]|-?[0-9]{{1,12}}\.[0-9]{{1,3}}|-?[0-9]{{1,15}}|{_TOKEN}|{_STRING}|:[A-Za-z0-9+/=]*:"
)
_KEY = r"[a-z*][a-z0-9_\-.*]*"
_PARAM = rf"[ \t]*;[ ]*({_KEY})(?:=({_VALUE}))?"
_ANY_PARAM = rf"[ \t]*;[ ]*{_KEY}(?:=(?:{_VALUE}))?"
_MEMBER_RE = re.compile(
    rf'[ \t]*(?:({_TOKEN})|"((?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\["\\])*)")'
    rf"((?:{_ANY_PARAM})*)[ \t]*(?:,|\Z)"
)
_PARAM_RE = re.compile(_PARAM)
_VALUE_RE = re.compile(_VALUE)
_KEY_RE = re.compile(_KEY)


def _entry(match: re.Match[str]) -> CacheEntry | None:
    token, string, params = match.groups()
    cache = token if token is not None else _unescape(string)
    if not params:
        return CacheEntry(cache)
    fields: dict[str, object] = {}
    for key, val in _PARAM_RE.findall(params):
        converted = _convert(key, val or "?1")
        if converted is _BAD:
            return None
        if converted is not _IGNORED:
            fields[_FIELD.get(key, key)] = converted
    return CacheEntry(cache, **fields)  # type: ignore[arg-type]


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


_BAD = object()
_IGNORED = object()
_FIELD = {"fwd-status": "fwd_status"}
_BOOLEAN_PARAMS = frozenset({"hit", "stored", "collapsed"})
_INTEGER_PARAMS = frozenset({"fwd-status", "ttl"})
_INDEX = {f.replace("_", "-"): i for i, f in enumerate(CacheEntry._fields) if i}
"""Position of each known parameter in a CacheEntry tuple (``fwd-status`` → 3 ...)."""
_DEFAULTS = tuple(CacheEntry(""))[1:]


def _convert(key: str, val: str) -> object:
    """The typed value of a known parameter, ``_IGNORED`` if unknown, ``_BAD`` on a type error."""
    if key in _BOOLEAN_PARAMS:
        return _BOOLEAN.get(val, _BAD)
    if key in _INTEGER_PARAMS:
        return int(val) if _INTEGER_RE.fullmatch(val) else _BAD
    if key == "fwd":
        return val if _TOKEN_RE.fullmatch(val) and val[0] != "?" else _BAD
    if key == "key":
        return _unescape(val[1:-1]) if val.startswith('"') else _BAD
    if key == "detail":
        if val.startswith('"'):
            return _unescape(val[1:-1])
        return val if _TOKEN_RE.fullmatch(val) else _BAD
    return _IGNORED


def _unescape(inner: str) -> str:
    return inner.replace('\\"', '"').replace("\\\\", "\\") if "\\" in inner else inner
