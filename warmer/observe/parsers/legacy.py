"""Parse pre-RFC 9211 cache headers: ``X-Cache``, nginx ``X-Cache-Status`` and ``Age``.

Grammar (de-facto, as Squid, Varnish, nginx and CDNs emit them)::

    X-Cache        = hop *( "," OWS hop )          ; comma chain, one hop per cache layer,
                                                    ; in the order the layers appended them
    hop            = status [ SP "from" SP host ]   ; "HIT from edge-1" (Squid style)
    status         = [ "TCP_" / "TCP_MEM_" ... ] ( "HIT" / "MISS" / ... ) [ suffix ]
                                                    ; case-insensitive: Hit, hit, TCP_HIT
    X-Cache-Status = "MISS" / "BYPASS" / "EXPIRED" / "STALE" / "UPDATING"
                   / "REVALIDATED" / "HIT"          ; nginx $upstream_cache_status
    Age            = delta-seconds = 1*DIGIT        ; RFC 9111 §5.1

Each hop is classified as ``hit``, ``miss``, ``bypass`` (the cache was not consulted) or
``unknown`` (garbage: counted by callers, never raised). nginx's STALE and UPDATING served
a stored response, so they are hits; EXPIRED and REVALIDATED had to ask the upstream, so
they are misses. An ``Age`` field means the response came from a cache (RFC 9111 §5.1: its
presence "implies that the response was not generated or validated by the origin server for
this request"); no ``Age`` means it did not.
"""

from __future__ import annotations

import functools
import re

from warmer.observe.parsers.cache_status import BYPASS, HIT, MISS, UNKNOWN

NGINX_STATUS: dict[str, str] = {
    "HIT": HIT,
    "STALE": HIT,
    "UPDATING": HIT,
    "MISS": MISS,
    "EXPIRED": MISS,
    "REVALIDATED": MISS,
    "BYPASS": BYPASS,
}
"""nginx ``$upstream_cache_status`` values and what each means for a hit rate."""

# Longest words first so "REFRESH_HIT" is not read as "HIT"'s prefix rule by accident.
_X_CACHE_WORDS: tuple[tuple[str, str], ...] = (
    ("REFRESH_MISS", MISS),
    ("REFRESH_HIT", HIT),
    ("REFRESHHIT", HIT),
    ("NEGATIVE_HIT", HIT),
    ("MEM_HIT", HIT),
    ("IMS_HIT", HIT),
    ("STALE", HIT),
    ("UPDATING", HIT),
    ("EXPIRED", MISS),
    ("REVALIDATED", MISS),
    ("HIT", HIT),
    ("MISS", MISS),
    ("PASS", BYPASS),
    ("BYPASS", BYPASS),
    ("DENIED", BYPASS),
    ("ERROR", UNKNOWN),
)
_EXACT = dict(reversed(_X_CACHE_WORDS))  # first listed wins, as in the loop below
_SUFFIXES = tuple(("_" + word, outcome) for word, outcome in _X_CACHE_WORDS)
# The status word: letters and "_" up to a delimiter or the end; what follows is a host or
# a comment. match(), not fullmatch(): the rest of the hop need not be scanned.
_HOP_RE = re.compile(r"(?:TCP_|UDP_)?([A-Z_]+)(?:[ /:(]|\Z)")


@functools.lru_cache(maxsize=4096)
def parse_x_cache(value: str) -> tuple[str, ...]:
    """Classify every hop of an ``X-Cache`` chain, in header order (never raises)."""
    if not value.strip():
        return ()
    return tuple(_hop(part.strip()) for part in value.split(","))


def _hop(text: str) -> str:
    match = _HOP_RE.match(text.upper())
    if match is None:
        return UNKNOWN
    word = match.group(1)
    outcome = _EXACT.get(word)
    if outcome is not None:
        return outcome
    for suffix, outcome in _SUFFIXES:  # TCP_MEM_HIT, TCP_REFRESH_MISS ...
        if word.endswith(suffix):
            return outcome
    return UNKNOWN


def parse_x_cache_status(value: str) -> str:
    """Classify an nginx ``X-Cache-Status`` value; ``unknown`` when it is not one of seven."""
    return NGINX_STATUS.get(value.strip().upper(), UNKNOWN)


def parse_age(value: str | None) -> int | None:
    """``Age`` in seconds, or None when absent or not a non-negative integer."""
    if value is None:
        return None
    text = value.strip()
    # RFC 9111 §1.2.2: a delta-seconds too large to represent is taken as 2^31.
    return min(int(text), 2**31) if text.isascii() and text.isdigit() else None


def age_outcome(value: str | None) -> str:
    """``hit`` when a valid ``Age`` is present, ``miss`` when absent, ``unknown`` if garbage."""
    if value is None or not value.strip():
        return MISS
    return HIT if parse_age(value) is not None else UNKNOWN
